"""The paint layer over the mixture spectrogram: it shows the paint and takes the brush.

:class:`PaintCanvas` is an image item drawn over the spectrogram on the same
grid (:attr:`~app.views.spectrogram.SpectrogramView.shown_grid`): each cell in
the colour of the source painted there, as opaque as the paint is sure. While
a brush or the eraser is chosen, left drags and clicks on it paint (the view
neither pans nor seeks), and so does a drag that starts beside it, on an axis:
the stroke starts where the pointer enters the image; otherwise they pass
through to the view. With the
Select tool a drag outlines a rectangle that stays drawn as the selection
(what Hear region plays), and a click clears it; nothing is painted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..colours import component_colour
from ..document import Document
from ..jobs import coalesced
from ..views.spectrogram import SpectrogramView, block_max
from .brush import Brush, Grid, box_cells, region_alpha, stroke_alpha
from .commands import StrokeRecorder

__all__ = ["PaintCanvas", "overlay_rgba", "source_colour"]

#: Opacity of full-confidence paint over the spectrogram.
OVERLAY_OPACITY = 0.6
#: RGBA of a painted region's edge: dark, so it shows on every colour of the map.
OUTLINE = np.array([16, 16, 16, 230], np.uint8)
#: Tools whose drag outlines a region to fill instead of painting along the way
#: ("not …": fill it for every source but the chosen one).
REGION_MODES = ("rectangle", "lasso", "not rectangle", "not lasso")
#: The tool whose drag outlines a rectangle that is selected, not painted.
SELECT = "select"
#: Delay that gathers a burst of paint changes into one redraw, ms.
REDRAW_DELAY = 15


def source_colour(document: Document, source: int) -> str:
    """The colour a source is painted in: its first component's (``#rrggbb``)."""
    members = document.source_members(source)
    return document.components[members[0]].colour if members else component_colour(source)


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], np.float32)


def overlay_rgba(paint: np.ndarray, rows: np.ndarray, frames: slice, step: int,
                 colours: list[str]) -> np.ndarray:
    """The paint of ``frames`` as an RGBA image (rows, columns, 4), uint8, ``step`` frames a column.

    Each pixel mixes the sources' colours in proportion to their paint; its
    opacity is the surest paint there times :data:`OVERLAY_OPACITY`. The
    painted pixels on a region's edge are drawn in :data:`OUTLINE` instead,
    so paint shows even where its colour is the spectrogram's (orange on
    orange). The columns just outside ``frames`` are looked at for the edge,
    so a redraw of some columns draws what a redraw of all of them would.
    """
    # Rows and frames in one indexing: only the visible cells are gathered, not whole rows.
    planes = np.stack([block_max(p[rows, frames], step) for p in paint])  # (S, R, C)
    strongest = planes.max(axis=0)
    total = np.maximum(planes.sum(axis=0), 1e-6)
    rgb = np.einsum("src,sk->rck", planes / total, np.stack([_rgb(c) for c in colours]))
    image = np.empty((*strongest.shape, 4), np.uint8)
    image[..., :3] = np.clip(rgb, 0, 255)
    image[..., 3] = np.clip(strongest * (OVERLAY_OPACITY * 255.0), 0, 255)
    edge = _edge(strongest > 0, _painted_beside(paint, rows, frames, step))
    image[edge] = OUTLINE
    return image


def _painted_beside(paint: np.ndarray, rows: np.ndarray, frames: slice,
                    step: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row is painted in the column before ``frames`` and in the one after."""
    end = paint.shape[2]
    before = slice(max(0, frames.start - step), frames.start)
    after = slice(min(frames.stop, end), min(end, frames.stop + step))
    return tuple((paint[:, rows, cols] > 0).any(axis=(0, 2)) for cols in (before, after))


def _edge(painted: np.ndarray, beside: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Painted pixels with an unpainted pixel above, below, before or after them."""
    wide = np.concatenate([beside[0][:, None], painted, beside[1][:, None]], axis=1)
    wide = np.pad(wide, ((1, 1), (0, 0)))
    inner = (wide[:-2, 1:-1] & wide[2:, 1:-1] & wide[1:-1, :-2] & wide[1:-1, 2:])
    return painted & ~inner


class PaintCanvas(pg.ImageItem):
    """The paint over ``view``'s image, and the brush on it.

    Parameters
    ----------
    document : Document
    view : SpectrogramView
        The view it lies on (the mixture's, or the Reconstruction dock's).
    tool : callable
        Returns what the mouse does now: ``(mode, source, brush)`` with mode
        ``"brush"``, ``"eraser"``, ``"rectangle"`` or ``"lasso"`` (a drag
        outlines a region that is filled with the brush's opacity when the
        button is released), ``"not"`` (a brush that paints every other
        source: "not this source here"), ``"not rectangle"`` and ``"not
        lasso"`` (regions filled for every other source), ``"select"`` (a drag selects a
        rectangle, a click clears it), or None (the mouse belongs to the view).
    on_stroke : callable
        Called with a finished stroke's :class:`StrokeRecorder` and its name.
    on_select : callable
        Called with the selected cells ``(bins, frames)``, or None when a
        click clears the selection.
    """

    def __init__(self, document: Document, view: SpectrogramView,
                 tool: Callable[[], tuple[str | None, int, Brush]],
                 on_stroke: Callable[[StrokeRecorder, str], None],
                 on_select: Callable[[tuple[slice, slice] | None], None]) -> None:
        super().__init__(axisOrder="row-major")
        self._document = document
        self._view = view
        self._tool = tool
        self._on_stroke = on_stroke
        self._on_select = on_select
        self._recorder: StrokeRecorder | None = None
        self._last: tuple[float, float] | None = None
        self._outline: list[tuple[float, float]] = []  # a region's corners or path so far
        #: The region being outlined, drawn while the button is down.
        self.outline = pg.PlotCurveItem(pen=pg.mkPen("#ffffff", width=1, style=Qt.DashLine))
        self.outline.setZValue(11)
        view.plot.addItem(self.outline, ignoreBounds=True)
        self.setZValue(10)  # over the spectrogram, under the playhead and the loop
        view.plot.addItem(self, ignoreBounds=True)
        # What is on screen: the grid drawn on, and frames (start, end) still to redraw
        # on it (None: all of it).
        self._drawn_grid = None
        self._dirty: tuple[int, int] | None = None
        self._redraw = coalesced(self, self._update, REDRAW_DELAY)
        view.drawn.connect(self._on_drawn)
        # A drag that starts beside the image (on an axis, in its margin) paints too.
        view.plot.vb.drag_taker = self._take_drag
        document.paint_changed.connect(self._on_paint_changed)
        for signal in (document.component_changed, document.sources_changed):
            signal.connect(lambda *_: self._schedule(None))

    # -- drawing -----------------------------------------------------------------------------

    def _on_drawn(self) -> None:
        """The view renders again: redraw only if its grid changed (not for every snapshot)."""
        shows_nothing = self._view.mode != "mixture" and self._document.W is None
        if self._view.shown_grid is not self._drawn_grid or shows_nothing:
            self.redraw()

    def redraw(self) -> None:
        """Draw the paint on the view's current grid (transparent where there is none)."""
        self._redraw.stop()
        self._dirty = None
        grid = self._view.shown_grid
        self._drawn_grid = grid
        # A view of the factors draws nothing before a run: nor does its paint layer.
        if grid is None or (self._view.mode != "mixture" and self._document.W is None):
            self._drawn_grid = None
            self.clear()
            return
        a, b, step, rows, rect = grid
        if not self._document.has_paint():
            image = np.zeros((len(rows), -(-(b - a) // step), 4), np.uint8)
        else:
            image = overlay_rgba(self._document.paint, rows, slice(a, b), step, self._colours())
        self.setImage(image, autoLevels=False, levels=(0, 255))
        self.setRect(rect)

    def _colours(self) -> list[str]:
        return [source_colour(self._document, s) for s in range(len(self._document.paint))]

    def _on_paint_changed(self, cells) -> None:
        self._schedule(None if cells is None else cells[1])

    def _schedule(self, frames: slice | None) -> None:
        """Redraw ``frames`` (None: everything) soon, with whatever else changes meanwhile."""
        if frames is None or self._drawn_grid is None or self._document.magnitude is None:
            self._dirty = (0, np.iinfo(np.int64).max)
        else:
            start, stop, _ = frames.indices(self._document.magnitude.shape[1])
            old = self._dirty
            self._dirty = (start, stop) if old is None else (min(old[0], start), max(old[1], stop))
        self._redraw.start()

    def _update(self) -> None:
        """Redraw the columns of the changed frames only (a stroke touches a few)."""
        grid, dirty = self._view.shown_grid, self._dirty
        if (grid is None or grid is not self._drawn_grid or self.image is None
                or dirty is None or not self._document.has_paint()):
            self.redraw()
            return
        a, b, step, rows, _ = grid
        first = max(0, (dirty[0] - a) // step)
        last = min(self.image.shape[1], -(-(min(dirty[1], b) - a) // step))
        self._dirty = None
        if first >= last:
            return
        frames = slice(a + first * step, min(b, a + last * step))
        image = self.image
        image[:, first:last] = overlay_rgba(self._document.paint, rows, frames, step,
                                            self._colours())
        self.updateImage(image)

    # -- the brush ---------------------------------------------------------------------------

    def _grid(self) -> Grid:
        spec = self._document.spectrogram
        return Grid.of_stft(spec.rate, spec.n_fft, spec.hop, self._document.magnitude.shape,
                            log_frequency=self._view.log_box.isChecked(),
                            pixel=tuple(self._view.plot.vb.viewPixelSize()))

    def _point(self, scene_pos) -> tuple[float, float]:
        point = self._view.plot.vb.mapSceneToView(scene_pos)
        return point.x(), point.y()

    def _painting(self, event) -> bool:
        mode, _, _ = self._tool()
        return (mode is not None and event.button() == Qt.MouseButton.LeftButton
                and self._document.magnitude is not None)

    def _take_drag(self, event) -> bool:
        """Paint with a drag the view box got (it started beside the image); True if taken."""
        self.mouseDragEvent(event)
        return event.isAccepted()

    def mouseDragEvent(self, event) -> None:  # noqa: N802 - pyqtgraph's API
        if event.isStart():
            if not self._painting(event):
                event.ignore()
                return
            self._recorder = StrokeRecorder(self._document)
            self._last = self._point(event.buttonDownScenePos())
            self._outline = [self._last]
        if self._recorder is None:
            event.ignore()
            return
        event.accept()
        point = self._point(event.scenePos())
        mode = self._tool()[0]
        if mode in REGION_MODES or mode == SELECT:
            self._outline_to(point)
            if event.isFinish():
                self._select() if mode == SELECT else self._fill()
                self._finish()
            return
        self._stamp([self._last, point])
        self._last = point
        if event.isFinish():
            self._finish()

    def _region(self) -> list[tuple[float, float]]:
        """The outlined polygon: a rectangle's corners, or the lasso's path."""
        if self._tool()[0] in ("rectangle", "not rectangle", SELECT):
            (x0, y0), (x1, y1) = self._outline[0], self._outline[-1]
            return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return list(self._outline)

    def _outline_to(self, point: tuple[float, float]) -> None:
        self._outline.append(point)
        region = self._region()
        xs, ys = zip(*region, region[0])
        self.outline.setData(np.array(xs), np.array(ys))

    def _fill(self) -> None:
        """Fill the outlined region for the chosen source, at the brush's opacity."""
        mode, source, brush = self._tool()
        region = region_alpha(self._region(), self._grid())
        self.outline.setData([], [])
        self._outline = []
        if region is None:
            return
        self._recorder.before_change(region.frames)
        self._apply(mode, source, brush, region)

    def _select(self) -> None:
        """Select the outlined rectangle's cells; the outline stays as the selection."""
        cells = box_cells(self._region(), self._grid())
        self._outline = []
        if cells is None:
            self.clear_selection()
        self._on_select(cells)

    def clear_selection(self) -> None:
        """Take the selection's outline off the view."""
        self.outline.setData([], [])

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - pyqtgraph's API
        if self._painting(event) and self._tool()[0] == SELECT:
            event.accept()
            self.clear_selection()
            self._on_select(None)
            return
        if not self._painting(event) or self._tool()[0] in REGION_MODES:
            event.ignore()
            return
        event.accept()
        self._recorder = StrokeRecorder(self._document)
        self._stamp([self._point(event.scenePos())])
        self._finish()

    def _stamp(self, points) -> None:
        mode, source, brush = self._tool()
        stroke = stroke_alpha(points, brush, self._grid())
        if stroke is None:
            return
        self._recorder.before_change(stroke.frames)
        self._apply(mode, source, brush, stroke)

    def _apply(self, mode: str, source: int, brush: Brush, stroke) -> None:
        """Put ``stroke`` (cells and strengths) into the paint as ``mode`` does.

        The brush and the fills raise ``source``'s paint to the brush's
        opacity; "not" raises every other source that has components instead
        (the cells are not ``source``'s), and so do "not rectangle" and "not
        lasso"; the eraser lowers every source's.
        """
        document, cells = self._document, (stroke.bins, stroke.frames)
        if mode == "eraser":
            paint = document.paint
            for row in range(0 if paint is None else len(paint)):
                old = document.paint_block(row, *cells)
                document.set_paint_block(row, *cells, old * (1 - stroke.alpha))
            return
        rows = [source] if not mode.startswith("not") else sorted(
            {c.source for c in document.components} - {source})
        for row in rows:
            old = document.paint_block(row, *cells)
            new = np.maximum(old, np.float32(brush.opacity) * stroke.alpha)
            document.set_paint_block(row, *cells, new)

    def _finish(self) -> None:
        mode, source, _ = self._tool()
        verb = {"eraser": None, "rectangle": "Fill", "lasso": "Fill", "not": "Paint not",
                "not rectangle": "Fill not", "not lasso": "Fill not"}.get(mode, "Paint")
        name = ("Erase paint" if verb is None
                else f"{verb} {self._document.source_state(source).name}")
        recorder, self._recorder = self._recorder, None
        self._on_stroke(recorder, name)
