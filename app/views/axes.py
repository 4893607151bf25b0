"""Readable ticks for logarithmic axes (pyqtgraph labels every minor tick)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

__all__ = ["DecadeAxis", "decade_ticks", "hz_label", "log_frequency_ticks", "log_rows"]

_STEPS = (1, 2, 5)
_LABEL_GAP = 28  # px: the least distance between two labels that never overlap


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


def log_rows(bin_hz: float, n_bins: int, low: float, high: float, count: int) -> np.ndarray:
    """The bins nearest ``count`` log-spaced frequencies from ``low`` to ``high`` Hz.

    An image of these rows of a spectrogram, placed from log10(low) to
    log10(high), is its log-frequency picture. Returns np.ndarray of intp, shape (count,).
    """
    rows = np.rint(np.logspace(np.log10(low), np.log10(high), count) / bin_hz).astype(np.intp)
    return np.minimum(rows, n_bins - 1)


def decade_ticks(low: float, high: float, pixels: float) -> list[tuple[float | None, list]]:
    """Labelled and unlabelled tick levels for a log axis showing log10 values ``low``…``high``.

    The labelled level holds the decades, every n-th one when they would sit
    closer than :data:`_LABEL_GAP` pixels; a range with fewer than two decades
    labels 1-2-5 steps instead, if they keep that distance. The second level
    holds the other integers' logs (2…9 × 10ⁿ), drawn as marks and grid only.
    """
    low, high = sorted((low, high))
    per_decade = pixels / max(high - low, 1e-12)
    first, last = int(np.ceil(low)), int(np.floor(high))
    every = max(1, int(np.ceil(_LABEL_GAP / per_decade)))
    labelled = [float(d) for d in range(first, last + 1) if d % every == 0]
    if len(labelled) < 2 and np.log10(2.5) * per_decade >= _LABEL_GAP:
        labelled = [float(v) for d in range(int(np.floor(low)), last + 1)
                    for v in d + np.log10(_STEPS) if low <= v <= high]
    minor = [float(v) for d in range(int(np.floor(low)), int(np.ceil(high)))
             for v in d + np.log10(np.arange(1, 10)) if low <= v <= high
             and not np.isclose(labelled, v).any()]
    return [(1.0, labelled), (None, minor)]


class DecadeAxis(pg.AxisItem):
    """An axis whose log mode labels decades (see :func:`decade_ticks`), never every minor tick."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.setStyle(maxTextLevel=0)  # the second level is marks only

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph API
        """Decades (or 1-2-5 steps) labelled, the other minor ticks unlabelled."""
        return decade_ticks(minVal, maxVal, size)
