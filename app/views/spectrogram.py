"""Spectrogram in dB: the mixture, the model W·H, a component's share or the gain mix.

Only what the screen can show is drawn: the visible time range, block-maxed to
the plot's pixel width (at most :data:`MAX_COLUMNS` columns), fed to one
``ImageItem`` as C-contiguous float32 with fixed levels (pyqtgraph's fast path).
Panning or zooming re-renders the visible range at full detail, so a ten-minute
file stays quick to draw. Images that depend on the factors are computed in
jobs (:class:`app.jobs.Latest`: one at a time, the newest request waiting)
when they are large, so a solver snapshot costs the GUI thread only the
hand-over of a finished image.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dsp.nmf import EPS

from ..document import Document
from ..jobs import FunctionJob, Latest, coalesced, describe
from ..theme import COLOUR_MAP
from .axes import log_frequency_ticks, log_rows
from .playhead import LoopRegion, Playhead

__all__ = ["SpectrogramView", "MODES", "MAX_COLUMNS", "image_db"]

#: What the view can show, by key: the label of each.
MODES = {
    "mixture": "Mixture",
    "model": "Model W·H",
    "component": "Selected component",
    "gains": "Mix with gains (solo/mute)",
}
MAX_COLUMNS = 2048  # wider than most screens: decimating further would show
DYNAMIC_RANGE = 80.0  # dB shown below the loudest bin (0 dB)
_LOG_ROWS = 512  # rows of the log-frequency image
_INLINE_CELLS = 1 << 21  # pixels × components: about a millisecond of arithmetic, no thread hop
_INLINE_READ = 1 << 22  # cells of V read inline at most: ~5 ms (45 s of frames at hop 512)
_LOWEST_LOG_HZ = 20.0
#: What an empty view shows: a few seconds, and the audible range of 44.1 kHz audio.
_EMPTY_SECONDS = 10.0
_EMPTY_NYQUIST = 22050.0


def block_max(X: np.ndarray, step: int) -> np.ndarray:  # noqa: N803
    """Maximum over blocks of ``step`` columns (the last block may be shorter), float32."""
    if step <= 1:
        return np.array(X, dtype=np.float32)
    # One strided maximum per offset: far faster than a max over a short last axis.
    out = np.array(X[:, ::step], dtype=np.float32)
    for offset in range(1, step):
        part = X[:, offset::step]
        np.maximum(out[:, : part.shape[1]], part, out=out[:, : part.shape[1]])
    return out


def image_db(
    mode: str,
    mixture: np.ndarray,
    rows: np.ndarray,
    *,
    top_db: float,
    W: np.ndarray | None = None,  # noqa: N803 - the domain's names
    H: np.ndarray | None = None,  # noqa: N803
    step: int = 1,
    selected: int = -1,
    gains: np.ndarray | None = None,
    power: float = 1.0,
    weights: np.ndarray | None = None,
    sources: np.ndarray | None = None,
) -> np.ndarray | None:
    """The image of ``mode`` in dB below ``top_db``: C-contiguous float32 (rows, columns).

    Parameters
    ----------
    mixture : np.ndarray, float32 (bins, columns)
        Block-maxed mixture magnitude of the visible frames.
    rows : np.ndarray of int
        The bins the image shows, in order.
    W, H : np.ndarray, float32
        Templates, and the activations of the visible frames (block-maxed here by ``step``).
    selected, gains
        The component of ``"component"``, and the per-component gains of ``"gains"``.
    power, weights, sources
        The mask exponent α, and paint's steering (:class:`dsp.guide.Steering`):
        each source's weight A_s^α on the image's rows and columns (sources,
        rows, columns) and every component's source. A share is then the
        render path's mask, Σ_k g_k A_s(k)^α (W_k H_k)^α / Σ_k A_s(k)^α (W_k H_k)^α,
        so the image shows what the player plays and the export writes.

    Returns None where there is nothing to show (no selected component).
    Pure numpy: runs in the view's render thread.
    """
    if mode == "mixture":
        magnitude = np.array(mixture[rows], dtype=np.float32)  # a copy: the cache stays intact
    else:
        W = W[rows]  # noqa: N806
        Hs = block_max(H, step)  # noqa: N806
        magnitude = W @ Hs
        if mode != "model":
            k = W.shape[1]
            if mode == "component":
                if not 0 <= selected < k:
                    return None
                gains = np.zeros(k, np.float32)
                gains[selected] = 1.0
            share = _mask(W ** np.float32(power), Hs ** np.float32(power), gains, weights,
                          sources)
            share *= mixture[rows]
            magnitude = share
    np.maximum(magnitude, np.float32(1e-10), out=magnitude)
    db = np.log10(magnitude, out=magnitude)
    db *= np.float32(20.0)
    db -= np.float32(top_db)
    return np.ascontiguousarray(db, dtype=np.float32)


def _same_grid(old: tuple | None, new: tuple) -> bool:
    """Whether ``new`` (frames, step, rows, rect) describes the image ``old`` describes."""
    return (old is not None and old[:3] == new[:3] and old[4] == new[4]
            and np.array_equal(old[3], new[3]))


def _view_image(mode: str, V: np.ndarray, grid: tuple[int, int, int], cached, top_db,  # noqa: N803
                rows: np.ndarray, model: dict | None):
    """The image of the view and what it reuses: ``(db, (grid, mixture), top_db)``.

    Everything that reads the whole magnitude — its maximum, the block maxima
    of a long view — is here, so it runs in the render job on long files: on
    an hour of stereo V is 1.3 GB and reading it takes seconds.
    """
    if top_db is None:
        top_db = 20.0 * np.log10(max(float(V.max()), 1e-10))
    a, b, step = grid
    mixture = cached if cached is not None else block_max(V[:, a:b], step)
    if mode == "mixture":
        db = image_db(mode, mixture, rows, top_db=top_db)
    elif model is None:
        db = None
    else:
        db = _image_of(mode, mixture, rows, top_db=top_db, step=step, frames=slice(a, b),
                       **model)
    return db, (grid, mixture), top_db


def _image_of(mode, mixture, rows, *, steering, frames: slice, step: int, power: float,
              **options) -> np.ndarray | None:
    """:func:`image_db` with the steering's weights made here (in the render job) on its grid.

    A column's weight is the smallest in its block of frames: the paint's
    strongest say there.
    """
    weights = sources = None
    if steering is not None:
        full = steering.weights(frames, power)[:, rows]
        weights = np.stack([-block_max(-w, step) for w in full])
        sources = steering.sources
    return image_db(mode, mixture, rows, step=step, power=power, weights=weights,
                    sources=sources, **options)


def _mask(Wp: np.ndarray, Hp: np.ndarray, gains: np.ndarray, weights, sources) -> np.ndarray:  # noqa: N803
    """Σ_k g_k A_s(k) W_k H_k / Σ_k A_s(k) W_k H_k of powered factors (A = 1 without paint)."""
    if weights is None:
        numerator, denominator = Wp @ (gains[:, None] * Hp), Wp @ Hp
    else:
        numerator = np.zeros((Wp.shape[0], Hp.shape[1]), np.float32)
        denominator = np.zeros_like(numerator)
        for s, weight in enumerate(weights):
            members = sources == s
            part = Wp[:, members] @ Hp[members]
            denominator += weight * part
            numerator += weight * (Wp[:, members] @ (gains[members, None] * Hp[members]))
    np.maximum(denominator, EPS, out=denominator)
    return np.divide(numerator, denominator, out=numerator)


class DragViewBox(pg.ViewBox):
    """The plot's view box: a drag goes first to :attr:`drag_taker`, if one is set.

    Drags that start on an axis reach the view box too (with ``axis``), so a
    taker gets every drag that starts on the plot, whether on the image or
    beside it, and the view pans or zooms only when it leaves the drag.
    """

    def __init__(self) -> None:
        super().__init__()
        #: Called with each drag event; returns True when it took the drag.
        self.drag_taker: Callable[[object], bool] | None = None

    def mouseDragEvent(self, event, axis=None) -> None:  # noqa: N802 - pyqtgraph's API
        if self.drag_taker is not None and self.drag_taker(event):
            return
        super().mouseDragEvent(event, axis=axis)


class SpectrogramView(QWidget):
    """One spectrogram plot with a mode selector, a log-frequency toggle and a colour bar.

    Signals
    -------
    hovered(str)
        Readout (time, frequency, level) under the mouse, for the status bar.
    seek_requested(float)
        The user clicked at this time (seconds).
    failed(str)
        A render job raised; the view keeps its image and renders again on the next change.
    drawn
        A render of the visible range started (layers drawn over it follow :attr:`shown_grid`,
        which stays the same object while the grid is the same).
    """

    hovered = Signal(str)
    seek_requested = Signal(float)
    failed = Signal(str)
    #: A render of the visible range started: :attr:`shown_grid` describes it.
    drawn = Signal()

    def __init__(self, document: Document, *, mode: str = "mixture", parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self._top_db: float | None = None  # the loudest cell in dB, found by the first render
        self._audio_since = 0  # the last render request before the current audio
        self._mixture_cache: tuple[tuple[int, int, int], np.ndarray] | None = None
        #: (first frame, end frame, frames per column, bins of the rows, rect in view
        #: coordinates) of the image being drawn, or None before any audio.
        self.shown_grid: tuple[int, int, int, np.ndarray, QRectF] | None = None
        self.mode_box = QComboBox()
        for key, label in MODES.items():
            self.mode_box.addItem(label, key)
        self.mode_box.setCurrentIndex(list(MODES).index(mode))
        self.mode_box.setToolTip("What the image shows: the mixture, the model W·H, the selected "
                                 "component's masked share, or the mix with the table's gains")
        self.log_box = QCheckBox("Log frequency")
        self.log_box.setChecked(True)
        self.log_box.setToolTip("Logarithmic frequency axis (octaves equally spaced)")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.mode_box)
        bar.addWidget(self.log_box)
        bar.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(viewBox=DragViewBox())
        self.plot.setLabel("bottom", "Time", units="s")
        self.plot.setLabel("left", "Frequency (Hz)")
        self.plot.showGrid(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(-DYNAMIC_RANGE, 0.0), colorMap=pg.colormap.get(COLOUR_MAP),
            label="dB below peak", width=14, interactive=False,
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.playhead = Playhead(self.plot, self.seek_requested.emit)
        self.loop_region = LoopRegion(self.plot)
        self.plot.setLogMode(x=False, y=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics)

        # A render superseded while it runs is still shown: it is newer than the screen.
        self._renders = Latest(self, drop_superseded=False)
        self._renders.returned.connect(self._on_rendered)
        self._renders.errored.connect(self._on_render_failed)
        self._requested = 0  # id of the newest render asked for
        self._shown = 0  # id of the render on screen
        self._rerender = coalesced(self, self.render, 40)
        self.plot.vb.sigXRangeChanged.connect(lambda *_: self._rerender.start())
        self.mode_box.currentIndexChanged.connect(lambda _: self.render())
        self.log_box.toggled.connect(self._on_log_toggled)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        document.audio_changed.connect(self._on_audio_changed)
        document.factors_changed.connect(lambda: self._render_unless("mixture"))
        document.selection_changed.connect(lambda _: self._render_if("component"))
        document.component_changed.connect(lambda _: self._render_if("gains"))
        # A share is the render path's mask: the paint and the mask exponent change it.
        for signal in (document.paint_changed, document.settings_changed):
            signal.connect(lambda _: self._rerender_if_share())
        if document.magnitude is not None:
            self._on_audio_changed()
        else:
            self._show_empty_axes()

    @property
    def mode(self) -> str:
        """Key of the shown quantity (see :data:`MODES`)."""
        return self.mode_box.currentData()

    def set_mode(self, mode: str) -> None:
        """Show ``mode`` (a key of :data:`MODES`)."""
        self.mode_box.setCurrentIndex(list(MODES).index(mode))

    def _rerender_if_share(self) -> None:
        if self.mode in ("component", "gains"):
            self._rerender.start()

    def _render_if(self, mode: str) -> None:
        if self.mode == mode:
            self.render()

    def _render_unless(self, mode: str) -> None:
        if self.mode != mode:
            self.render()

    def _show_empty_axes(self) -> None:
        """Seconds and hertz before any audio: not pyqtgraph's unitless −0.5…0.5."""
        self.plot.vb.setLimits(xMin=0.0, xMax=None)
        self.plot.vb.setRange(xRange=(0.0, _EMPTY_SECONDS), padding=0)
        self._set_y_range()

    def _on_audio_changed(self) -> None:
        V = self._document.magnitude  # noqa: N806
        self.shown_grid = None  # the next render's grid is new, even if its numbers are not
        if V is None:
            self.image.clear()
            self._show_empty_axes()
            return
        self._mixture_cache = None
        self._top_db = None
        self._audio_since = self._requested
        spec = self._document.spectrogram
        self.plot.vb.setLimits(xMin=0.0, xMax=spec.length / spec.rate)
        self.plot.vb.setRange(xRange=(0.0, spec.length / spec.rate), padding=0)
        self._set_y_range()
        self.render()

    def _on_log_toggled(self, on: bool) -> None:
        self.plot.setLogMode(x=False, y=on)
        self._set_y_range()
        self.render()

    def _set_y_range(self) -> None:
        spec = self._document.spectrogram
        top = _EMPTY_NYQUIST if spec is None else spec.rate / 2
        axis = self.plot.getAxis("left")
        if self.log_box.isChecked():
            axis.setTicks(log_frequency_ticks(self._lowest_log_hz(), top))
            low = np.log10(self._lowest_log_hz())
            self.plot.vb.setLimits(yMin=low, yMax=np.log10(top))
            self.plot.vb.setYRange(low, np.log10(top), padding=0)
        else:
            axis.setTicks(None)
            self.plot.vb.setLimits(yMin=0.0, yMax=top)
            self.plot.vb.setYRange(0.0, top, padding=0)

    def _lowest_log_hz(self) -> float:
        spec = self._document.spectrogram
        return _LOWEST_LOG_HZ if spec is None else max(_LOWEST_LOG_HZ, float(spec.freqs[1]))

    def _visible_frames(self) -> tuple[int, int]:
        spec = self._document.spectrogram
        n = spec.shape[1]
        t0, t1 = self.plot.vb.viewRange()[0]
        a = int(np.clip(np.floor(t0 * spec.rate / spec.hop), 0, n - 1))
        b = int(np.clip(np.ceil(t1 * spec.rate / spec.hop) + 1, a + 1, n))
        return a, b

    def render(self) -> None:
        """Draw the visible part of the current mode's spectrogram."""
        spec = self._document.spectrogram
        if spec is None:
            return
        a, b = self._visible_frames()
        # No more columns than the plot has pixels: the rest would be averaged away.
        pixels = int(self.plot.vb.width() * self.devicePixelRatioF()) or MAX_COLUMNS
        step = max(1, -(-(b - a) // min(MAX_COLUMNS, pixels)))
        b = min(spec.shape[1], a + step * (-(-(b - a) // step)))
        frame_s, bin_hz = spec.hop / spec.rate, spec.rate / spec.n_fft
        x0, width = (a - 0.5) * frame_s, (b - a) * frame_s
        if self.log_box.isChecked():
            # Pick the image's rows first: every later step then touches 512 rows, not all bins.
            low, top = np.log10(self._lowest_log_hz()), np.log10(spec.rate / 2)
            rows = log_rows(bin_hz, spec.shape[0], 10**low, 10**top, _LOG_ROWS)
            rect = QRectF(x0, low, width, top - low)
        else:
            rows = np.arange(spec.shape[0])
            rect = QRectF(x0, -0.5 * bin_hz, width, spec.shape[0] * bin_hz)
        self._requested += 1
        if not _same_grid(self.shown_grid, (a, b, step, rows, rect)):
            self.shown_grid = (a, b, step, rows, rect)
        self.drawn.emit()
        document, mode = self._document, self.mode
        grid = (a, b, step)
        cached = self._mixture_cache
        cached = cached[1] if cached is not None and cached[0] == grid else None
        model = None
        if mode != "mixture" and document.W is not None:
            steering = document.steering() if mode in ("component", "gains") else None
            model = dict(W=document.W, H=document.H[:, a:b], selected=document.selected,
                         gains=document.effective_gains(), power=document.settings.mask_power,
                         steering=steering)
        job = partial(_view_image, mode, document.magnitude, grid, cached, self._top_db, rows,
                      model)
        # Inline only what reads a few screenfuls of cells: the block maxima of a
        # long view and the first maximum of V are the render job's.
        read = 0 if cached is not None else (b - a) * spec.shape[0]
        if self._top_db is None:
            read += document.magnitude.size
        cells = 0 if model is None else len(rows) * (b - a) // step * document.W.shape[1]
        render_id = self._requested
        if read <= _INLINE_READ and cells <= _INLINE_CELLS:
            self._on_rendered((render_id, job(), rect))
        else:
            self._renders.submit(FunctionJob(lambda: (render_id, job(), rect),
                                             name="partwise-spectrogram"))

    def _on_rendered(self, done: tuple) -> None:
        render_id, (db, mixture, top_db), rect = done
        if render_id > self._audio_since:  # a render of the current audio, not a previous one
            self._mixture_cache, self._top_db = mixture, top_db
        self._show(render_id, (db, rect))

    def _on_render_failed(self, error: Exception) -> None:
        self.failed.emit(f"Cannot draw the spectrogram: {describe(error)}")

    def _show(self, render_id: int, image_and_rect) -> None:
        if render_id <= self._shown:  # an older request finished after a newer one was shown
            return
        self._shown = render_id
        db, rect = image_and_rect
        if db is None:
            self.image.clear()
            return
        self.image.setImage(db, autoLevels=False)
        self.image.setRect(rect)

    def _on_mouse_moved(self, pos) -> None:
        spec = self._document.spectrogram
        if spec is None or not self.plot.vb.sceneBoundingRect().contains(pos):
            return
        point = self.plot.vb.mapSceneToView(pos)
        t, y = point.x(), point.y()
        hz = 10.0**y if self.log_box.isChecked() else y
        frame = int(round(t * spec.rate / spec.hop))
        row = int(round(hz * spec.n_fft / spec.rate))
        V = self._document.magnitude  # noqa: N806
        if 0 <= frame < V.shape[1] and 0 <= row < V.shape[0]:
            level = 20.0 * np.log10(max(float(V[row, frame]), 1e-10)) - (self._top_db or 0.0)
            self.hovered.emit(f"{t:8.3f} s   {hz:8.1f} Hz   {level:6.1f} dB")
