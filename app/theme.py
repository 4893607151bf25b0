"""Look of the workstation: dark Fusion palette, style sheet, pyqtgraph defaults, colours."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["BACKGROUND", "COLOUR_MAP", "apply_theme", "component_colour", "resource"]

BACKGROUND = "#1b1d21"
FOREGROUND = "#c9ccd1"
#: Perceptually uniform, dark at silence: quiet detail stays visible, loud partials glow.
COLOUR_MAP = "inferno"

# Distinct, bright on dark (Tableau 10 order, lifted for a dark background).
_PALETTE = (
    "#4e9eea", "#f28e2b", "#59c14f", "#e15759", "#b07aa1",
    "#76d7c4", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
)

_RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resource(name: str) -> Path:
    """Path of a shipped resource file (icons, style sheet)."""
    return _RESOURCES / name


def component_colour(index: int) -> str:
    """Colour of component ``index``: the palette, then evenly spaced hues."""
    if index < len(_PALETTE):
        return _PALETTE[index]
    return pg.intColor(index - len(_PALETTE), hues=9, values=1, minValue=220).name()


def apply_theme(app: QApplication) -> None:
    """Dark Fusion style for widgets and matching pyqtgraph defaults."""
    pg.setConfigOptions(
        background=BACKGROUND, foreground=FOREGROUND, imageAxisOrder="row-major", antialias=False
    )
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.Window: "#23262b",
        QPalette.WindowText: FOREGROUND,
        QPalette.Base: BACKGROUND,
        QPalette.AlternateBase: "#282b31",
        QPalette.Text: FOREGROUND,
        QPalette.Button: "#2d3138",
        QPalette.ButtonText: FOREGROUND,
        QPalette.Highlight: "#3d6fb4",
        QPalette.HighlightedText: "#ffffff",
        QPalette.ToolTipBase: "#2d3138",
        QPalette.ToolTipText: FOREGROUND,
        QPalette.PlaceholderText: "#7d828a",
        QPalette.Link: "#6aa7f0",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6b6f76"))
    palette.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#6b6f76"))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#6b6f76"))
    app.setPalette(palette)
    style_sheet = resource("style.qss")
    if style_sheet.exists():
        app.setStyleSheet(style_sheet.read_text(encoding="utf-8"))
