"""The colours components are drawn in: plain data, so the model can choose them without Qt."""

from __future__ import annotations

import colorsys

__all__ = ["component_colour"]

# Distinct, bright on dark (Tableau 10 order, lifted for a dark background).
_PALETTE = (
    "#4e9eea", "#f28e2b", "#59c14f", "#e15759", "#b07aa1",
    "#76d7c4", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
)
_HUES = 9  # past the palette: fully saturated colours 40° apart


def component_colour(index: int) -> str:
    """Colour of component ``index`` (``#rrggbb``): the palette, then evenly spaced hues."""
    if index < len(_PALETTE):
        return _PALETTE[index]
    hue = (index - len(_PALETTE)) % _HUES / _HUES
    return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hsv_to_rgb(hue, 1.0, 1.0))
