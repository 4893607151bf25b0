"""Hearing a region: what plays, through which components, and over which times.

Plain Python for :class:`app.playback.control.PlaybackControl`: a
:class:`Listening` says which cells are the region — a source's paint, or a
selected rectangle — and whose share of the mix is heard inside it;
:func:`listening_gains` turns that into the mixer's gains and
:class:`PaintedFrames` follows the region's time extent, stroke by stroke,
without scanning the whole paint each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.separation import group_gains
from dsp.stft import Spectrogram

from ..document import Document

__all__ = [
    "Listening",
    "PaintedFrames",
    "listening_gains",
    "region_of",
    "selection_region",
    "span_seconds",
]


@dataclass(frozen=True)
class Listening:
    """Play only the cells painted for ``source`` (or selected), through ``through``'s components.

    Attributes
    ----------
    source : int
        The source whose paint row is the region R (soft paint plays softly).
    through : int or None
        The source whose share of the mix is heard inside the region (its
        exported stem, whatever its solo or mute); None: the audible mix.
    cells : (slice, slice) or None
        A selection, ``(bins, frames)``: the region is that rectangle, at full
        weight, instead of ``source``'s paint.
    """

    source: int
    through: int | None
    cells: tuple[slice, slice] | None = None


def listening_gains(document: Document, listening: Listening) -> np.ndarray:
    """The mixer's gains while listening: 1 on ``through``'s components, or the audible mix.

    Without factors the player holds a one-component model of the mixture,
    which every choice hears.
    """
    if document.W is None:
        return np.ones(1, np.float32)
    if listening.through is None:
        return document.effective_gains()
    return group_gains(document.W.shape[1], document.source_members(listening.through))


def region_of(document: Document, source: int) -> np.ndarray:
    """``source``'s paint row (a live, read-only view: strokes change it), or zeros unpainted."""
    paint = document.paint
    if paint is None or source >= len(paint):
        return np.zeros(document.magnitude.shape, np.float32)
    return paint[source]


def selection_region(grid: tuple[int, int], cells: tuple[slice, slice]) -> np.ndarray:
    """The region of a selection: 1 on ``cells`` (bins, frames), 0 elsewhere, on ``grid``.

    Allocated zeroed, so the system maps only the pages the rectangle covers,
    whatever the length of the file.
    """
    region = np.zeros(grid, np.float32)
    region[cells] = 1.0
    return region


class PaintedFrames:
    """Which frames of one paint row hold paint, kept up to date block by block.

    Parameters
    ----------
    region : np.ndarray, (bins, frames)
        The paint row, scanned once here.
    """

    def __init__(self, region: np.ndarray) -> None:
        self._covered = np.asarray(region).any(axis=0)

    @classmethod
    def spanning(cls, n_frames: int, frames: slice) -> PaintedFrames:
        """The frames of a selection, without scanning a region."""
        covered = np.zeros((1, n_frames), bool)
        covered[0, frames] = True
        return cls(covered)

    def update(self, region: np.ndarray, frames: slice) -> None:
        """Rescan ``frames`` of ``region`` (the block a stroke changed)."""
        self._covered[frames] = np.asarray(region[:, frames]).any(axis=0)

    def span(self) -> tuple[int, int] | None:
        """(first, last + 1) painted frame, or None when nothing is painted."""
        painted = np.flatnonzero(self._covered)
        return None if painted.size == 0 else (int(painted[0]), int(painted[-1]) + 1)


def span_seconds(frames: tuple[int, int], spectrogram: Spectrogram) -> tuple[float, float]:
    """The times frames ``first … last − 1`` sound in, seconds, within the audio.

    Frames are centred (frame t at sample t·hop) and each reaches half a
    window either side, so the span runs from the first frame's start to the
    last one's end: every sample the region reaches is in the loop.
    """
    first, last = frames
    half = spectrogram.n_fft // 2
    start = max(0, first * spectrogram.hop - half)
    end = min(spectrogram.length, (last - 1) * spectrogram.hop + half)
    return start / spectrogram.rate, end / spectrogram.rate
