"""Readable ticks for logarithmic frequency axes (pyqtgraph labels every minor tick)."""

from __future__ import annotations

import numpy as np

__all__ = ["log_frequency_ticks", "hz_label"]

_STEPS = (1, 2, 5)


def hz_label(hz: float) -> str:
    """``'200'`` or ``'2k'``: short enough for a tick."""
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def log_frequency_ticks(low: float, high: float) -> list[list[tuple[float, str]]]:
    """Major ticks at 1-2-5 steps between ``low`` and ``high`` Hz, positioned at log10(Hz).

    Returns the ``[major, minor]`` list :meth:`pyqtgraph.AxisItem.setTicks` takes
    for an axis in log mode (whose view coordinates are log10 of the value).
    """
    major = []
    for decade in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1):
        for step in _STEPS:
            hz = step * 10.0**decade
            if low <= hz <= high:
                major.append((float(np.log10(hz)), hz_label(hz)))
    return [major, []]
