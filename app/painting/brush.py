"""Brush strokes on the STFT grid, pure numpy: which cells a stroke covers and how much.

A brush is a disc on the screen, so what the user sees is what is painted
whatever the zoom and the frequency axis (on a log axis a disc covers more
bins up high). Cells are placed at their centres: frame f at f·hop/rate
seconds (frames are centred, :mod:`dsp.stft`), bin b at b·rate/n_fft hertz,
or its logarithm on a log-frequency axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Brush", "Grid", "Stroke", "stroke_alpha"]


@dataclass(frozen=True)
class Brush:
    """A round brush.

    Attributes
    ----------
    size : float
        Diameter in screen pixels.
    hardness : float
        Share of the radius painted at full strength, 0–1; beyond it the
        strength falls linearly to 0 at the edge.
    opacity : float
        The confidence painted, 0–1: a brush never paints a cell above it.
    """

    size: float = 24.0
    hardness: float = 0.5
    opacity: float = 1.0


@dataclass(frozen=True)
class Grid:
    """Where the cells of a spectrogram sit in a view's coordinates, and the view's pixel size.

    Attributes
    ----------
    frame_x : np.ndarray, (frames,)
        Each frame's centre on the x axis (seconds), increasing.
    bin_y : np.ndarray, (bins,)
        Each bin's centre on the y axis (hertz, or log10 hertz), nondecreasing
        (−inf for bin 0 on a log axis).
    pixel : tuple of float
        Size of a screen pixel in view units (x, y).
    """

    frame_x: np.ndarray
    bin_y: np.ndarray
    pixel: tuple[float, float]

    @classmethod
    def of_stft(cls, rate: int, n_fft: int, hop: int, shape: tuple[int, int], *,
                log_frequency: bool, pixel: tuple[float, float]) -> Grid:
        """The grid of an STFT of ``shape`` (bins, frames) in a view with ``pixel`` size."""
        bins, frames = shape
        hz = np.arange(bins) * (rate / n_fft)
        with np.errstate(divide="ignore"):
            y = np.log10(hz) if log_frequency else hz
        return cls(np.arange(frames) * (hop / rate), y, pixel)


@dataclass
class Stroke:
    """The cells a stroke covers: a (bins, frames) block and the strength in each, 0–1."""

    bins: slice
    frames: slice
    alpha: np.ndarray


def _span(coordinates: np.ndarray, low: float, high: float) -> tuple[int, int]:
    return (int(np.searchsorted(coordinates, low, side="left")),
            int(np.searchsorted(coordinates, high, side="right")))


def stroke_alpha(points, brush: Brush, grid: Grid) -> Stroke | None:
    """The strength of a brush dragged through ``points`` (view x, y) on every cell it covers.

    Dabs are stamped every third of the radius along each segment (at least
    one per point), the strongest wins in each cell. A brush smaller than a
    cell still paints the cell nearest its centre. None when the stroke
    misses the grid.
    """
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    sx, sy = (abs(float(p)) for p in grid.pixel)
    radius = max(brush.size / 2.0, 0.5)
    # Screen-space positions of the dabs along the path.
    screen = points / (sx, sy)
    dabs = [screen[:1]]
    for a, b in zip(screen[:-1], screen[1:]):
        count = max(1, int(np.ceil(np.hypot(*(b - a)) / max(radius / 3.0, 0.5))))
        dabs.append(a + (b - a) * (np.arange(1, count + 1)[:, None] / count))
    dabs = np.concatenate(dabs)
    xs, ys = dabs[:, 0] * sx, dabs[:, 1] * sy
    f0, f1 = _span(grid.frame_x, xs.min() - radius * sx, xs.max() + radius * sx)
    b0, b1 = _span(grid.bin_y, ys.min() - radius * sy, ys.max() + radius * sy)
    if f0 >= f1 or b0 >= b1:
        return _nearest(xs, ys, grid)
    fx = grid.frame_x[f0:f1] / sx
    by = grid.bin_y[b0:b1] / sy
    alpha = np.zeros((b1 - b0, f1 - f0), np.float32)
    edge = max(1.0 - brush.hardness, 1e-6)
    extent = _cell_extent(grid)
    for x, y in dabs:
        d = np.hypot((by - y)[:, None], (fx - x)[None, :]) / radius
        np.maximum(alpha, np.clip((1.0 - d) / edge, 0.0, 1.0), out=alpha)
        # The cell under the dab's centre is painted in full, however small the brush
        # against the cell: a click paints what it is on, wherever in the cell it lands.
        # A dab beside the grid (a drag that starts on an axis) is on no cell.
        if _within(x * sx, y * sy, extent):
            alpha[np.argmin(np.abs(by - y)), np.argmin(np.abs(fx - x))] = 1.0
    return Stroke(slice(b0, b1), slice(f0, f1), alpha)


def _nearest(xs: np.ndarray, ys: np.ndarray, grid: Grid) -> Stroke | None:
    """The one cell nearest the stroke's first dab, if that lies on the grid."""
    x, y = xs[0], ys[0]
    if not _within(x, y, _cell_extent(grid)):
        return None
    f = int(np.argmin(np.abs(grid.frame_x - x)))
    b = int(np.argmin(np.abs(np.where(np.isfinite(grid.bin_y), grid.bin_y, np.inf) - y)))
    return Stroke(slice(b, b + 1), slice(f, f + 1), np.ones((1, 1), np.float32))


def _cell_extent(grid: Grid) -> tuple[float, float, float, float] | None:
    """(x0, x1, y0, y1): where the grid's cells lie in the view; None with no finite bin."""
    finite = grid.bin_y[np.isfinite(grid.bin_y)]
    if not finite.size:
        return None
    half = 0.5 * _step(grid.frame_x)
    return (grid.frame_x[0] - half, grid.frame_x[-1] + half,
            finite[0] - _step(finite), finite[-1] + _step(finite))


def _within(x: float, y: float, extent: tuple[float, float, float, float] | None) -> bool:
    """Whether the view point (x, y) lies in ``extent`` (:func:`_cell_extent`), on a cell."""
    return extent is not None and extent[0] <= x <= extent[1] and extent[2] <= y <= extent[3]


def _step(coordinates: np.ndarray) -> float:
    return float(coordinates[1] - coordinates[0]) if len(coordinates) > 1 else 1.0


#: Most vertices a lasso keeps (its path is thinned evenly): each costs a pass over the cells.
MAX_VERTICES = 64


def box_cells(points, grid: Grid) -> tuple[slice, slice] | None:
    """The bins and frames whose centres lie in the bounding box of ``points`` (view x, y).

    A rectangle's cells, as slices: nothing is allocated per cell, so a
    selection over an hour costs no more than one over a second. None when no
    cell's centre is inside.
    """
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    f0, f1 = _span(grid.frame_x, points[:, 0].min(), points[:, 0].max())
    b0, b1 = _span(grid.bin_y, points[:, 1].min(), points[:, 1].max())
    if f0 >= f1 or b0 >= b1:
        return None
    return slice(b0, b1), slice(f0, f1)


def region_alpha(polygon, grid: Grid) -> Stroke | None:
    """The cells whose centres lie inside ``polygon`` (view x, y; closed; even–odd rule).

    A rectangle is its four corners; a lasso its path (thinned to
    :data:`MAX_VERTICES`). Every inside cell has strength 1. None when no
    cell's centre is inside.
    """
    polygon = np.atleast_2d(np.asarray(polygon, dtype=np.float64))
    if len(polygon) > MAX_VERTICES:
        polygon = polygon[np.linspace(0, len(polygon) - 1, MAX_VERTICES).round().astype(int)]
    if len(polygon) < 3:
        return None
    cells = box_cells(polygon, grid)
    if cells is None:
        return None
    (b0, b1), (f0, f1) = ((c.start, c.stop) for c in cells)
    px = grid.frame_x[None, f0:f1]
    py = grid.bin_y[b0:b1, None]
    inside = np.zeros((b1 - b0, f1 - f0), bool)
    for (x1, y1), (x2, y2) in zip(polygon, np.roll(polygon, -1, axis=0)):
        if y1 == y2:
            continue
        crosses = (y1 > py) != (y2 > py)
        at = x1 + (py - y1) * ((x2 - x1) / (y2 - y1))
        inside ^= crosses & (px < at)
    if not inside.any():
        return None
    return Stroke(slice(b0, b1), slice(f0, f1), inside.astype(np.float32))
