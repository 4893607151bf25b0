"""Streaming mixer: the mixture re-weighted by live per-component gains, block by block.

For every STFT frame ``t`` the mask is :class:`dsp.masks.SoftMask`'s,
``Σ_k g_k (W_k h_{k,t})^α / Σ_j (W_j h_{j,t})^α``: the same masks, computed by
the same code, as :func:`dsp.separation.render` and so the export. It
multiplies frame ``t`` of every channel's complex STFT; the frame is inverted,
windowed and overlap-added, and the sum is divided by the overlap-added squared
window exactly as :func:`dsp.stft.istft` does. So with every gain at 1 the
output is the mixture, and with any constant gains it is what
:func:`dsp.separation.render` gives for them. Given a paint
:class:`~dsp.guide.Steering`, the masks are the steered ones of the same
class, so the mixer still plays what the export writes.

Nothing of a mask is kept between frames — not even its denominator, which
with a steering depends on the paint — so paint changed in place (a stroke
in the GUI) is heard from the next frame transformed, like a gain change.

Only the frames that overlap the block being rendered are ever transformed:
memory is a few frames' worth of buffers, whatever the number of components or
the length of the file. The mixer is pure numpy and not thread-safe; the
player's producer thread owns one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.fft

from .masks import SoftMask
from .stft import Spectrogram, overlap_add, window

if TYPE_CHECKING:
    from .guide import Steering

__all__ = ["Mixer"]

BLOCK = 4096  # samples rendered per internal pass by default: bounds every temporary buffer


class Mixer:
    """Render the mixture with per-component gains from any position, block by block.

    Parameters
    ----------
    spectrogram : Spectrogram
        The mixture's spectrogram (its frames are transformed as they are needed).
    W : np.ndarray, float32, shape (bins, k)
        Spectral templates.
    H : np.ndarray, float32, shape (k, frames)
        Activations.
    gains : np.ndarray, shape (k,), optional
        Initial gains (default: all 1, the mixture).
    power : float
        Mask exponent α, as :func:`dsp.separation.separate`'s (1 = ratio mask).
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gains: a mask per channel, as the export's.
    steering : Steering, optional
        Paint's weights and every component's source (:class:`dsp.guide.Steering`),
        as :func:`dsp.separation.render` takes it; its paint may change in place.
    region : np.ndarray, (bins, frames), optional
        A weight in [0, 1] on every cell multiplied onto the masks
        (:meth:`set_region`); None plays every cell.
    ramp : int
        Samples over which a gain change is spread (rounded to whole STFT
        frames, at least one). The overlap-add of windowed frames smooths the
        change further, so a change never clicks.
    block : int
        Most samples rendered per internal pass: the frames under them are
        transformed, masked and inverted together. Small for playback (a
        block is due every few milliseconds), large for an offline render
        (fewer, larger matrix products and FFTs).

    Notes
    -----
    A gain, factor or paint change takes effect from the next frame that is
    transformed, which starts in the next block rendered: a block that has
    been rendered cannot change any more.
    """

    def __init__(
        self,
        spectrogram: Spectrogram,
        W: np.ndarray,
        H: np.ndarray,
        *,
        gains: np.ndarray | None = None,
        power: float = 1.0,
        channel_gains: np.ndarray | None = None,
        steering: Steering | None = None,
        region: np.ndarray | None = None,
        ramp: int = 512,
        block: int = BLOCK,
    ) -> None:
        self._spec = spectrogram
        self._n_fft = spectrogram.n_fft
        self._hop = spectrogram.hop
        self._pad = self._n_fft // 2
        self._n_frames = spectrogram.shape[1]
        self._window = window(self._n_fft)
        self._window_sq = self._window * self._window
        self._ramp_frames = max(1, round(ramp / self._hop))
        self._masks: SoftMask | None = None
        self._region: np.ndarray | None = None
        self.set_region(region)
        self.set_factors(W, H, power=power, channel_gains=channel_gains, steering=steering)
        # Overlap-add accumulators, in padded-signal coordinates starting at
        # _acc_start: after a seek the first frames start up to n_fft before it.
        self._block = int(block)
        size = self._block + 2 * self._n_fft
        self._acc = np.zeros((spectrogram.channels, size), dtype=np.float32)
        self._norm = np.zeros(size, dtype=np.float32)
        self._filled = 0  # accumulated samples that may be nonzero
        self.seek(0)
        if gains is not None:
            self.set_gains(gains)
            self._g_from = self._g_to.copy()

    @property
    def length(self) -> int:
        """Length of the signal in samples."""
        return self._spec.length

    @property
    def rate(self) -> int:
        """Sample rate in Hz."""
        return self._spec.rate

    @property
    def channels(self) -> int:
        """Number of output channels."""
        return self._spec.channels

    @property
    def grid(self) -> tuple[int, int]:
        """(bins, frames) of the spectrogram: the cells a region weights."""
        return self._spec.shape

    @property
    def n_components(self) -> int:
        """Number of components k."""
        return self._masks.n_components

    @property
    def power(self) -> float:
        """The mask exponent α."""
        return self._masks.power

    @property
    def position(self) -> int:
        """Sample index of the next sample :meth:`render` returns."""
        return self._pos

    @property
    def gains(self) -> np.ndarray:
        """The newest gains (the target of any ramp in progress), float32 (k,)."""
        return self._g_to.copy()

    def set_factors(
        self,
        W: np.ndarray,
        H: np.ndarray,
        *,
        power: float | None = None,
        channel_gains: np.ndarray | None = None,
        steering: Steering | None = None,
    ) -> None:
        """Use new factors (and mask exponent, if given) from the next transformed frame on.

        ``channel_gains`` and ``steering`` are the new factors' (none: one mask
        for every channel; no paint).

        A change of the number of components resets the gains to 1.

        Raises
        ------
        ValueError
            If the shapes do not match the spectrogram or each other, or the
            steering does not fit them.
        """
        W, H = np.asarray(W), np.asarray(H)
        bins, frames = self._spec.shape
        if W.ndim != 2 or H.ndim != 2 or W.shape[0] != bins or H.shape[1] != frames:
            raise ValueError(
                f"factors {W.shape} x {H.shape} do not match the spectrogram ({bins} x {frames})"
            )
        if W.shape[1] != H.shape[0]:
            raise ValueError(f"W has {W.shape[1]} components but H has {H.shape[0]}")
        if channel_gains is not None and np.shape(channel_gains) != (self.channels, W.shape[1]):
            raise ValueError(
                f"channel gains {np.shape(channel_gains)} do not fit {self.channels} channels "
                f"and {W.shape[1]} components"
            )
        if power is None:
            power = self._masks.power
        masks = SoftMask(W, H, power=power, channel_gains=channel_gains, steering=steering)
        if self._masks is None or W.shape[1] != self._masks.n_components:
            self._g_from = np.ones(W.shape[1], dtype=np.float32)
            self._g_to = self._g_from.copy()
            self._ramp_start = 0
        self._masks = masks

    @property
    def region(self) -> np.ndarray | None:
        """The time–frequency weight on the masks (bins, frames), or None: every cell."""
        return self._region

    def set_region(self, region: np.ndarray | None) -> None:
        """Play only through ``region`` from the next transformed frame on (None: everywhere).

        Parameters
        ----------
        region : np.ndarray, float32, (bins, frames), optional
            Weight of every cell in [0, 1] (a paint row: soft paint plays
            softly). Not copied: it is read on the frames being transformed,
            so an array changed in place (a stroke) is heard like a new one.

        Raises
        ------
        ValueError
            If it is not on the spectrogram's grid.
        """
        if region is not None and np.shape(region) != self.grid:
            raise ValueError(
                f"a region of {np.shape(region)} cells does not fit the spectrogram "
                f"({self.grid[0]} x {self.grid[1]})"
            )
        self._region = region

    def set_gains(self, gains: np.ndarray) -> None:
        """Ramp to new gains, starting with the next transformed frame.

        Parameters
        ----------
        gains : np.ndarray, shape (k,)
            Nonnegative linear gain of each component (0 = silent, 1 = as in the mixture).

        Raises
        ------
        ValueError
            If the length is not k or a gain is negative or not finite.
        """
        gains = np.asarray(gains, dtype=np.float32).reshape(-1)
        if gains.shape != (self.n_components,):
            raise ValueError(f"expected {self.n_components} gains, got {gains.shape[0]}")
        if not np.isfinite(gains).all() or gains.min() < 0:
            raise ValueError(f"gains must be finite and nonnegative, got {gains}")
        # Start the new ramp from wherever the current one has got to.
        self._g_from = self._gains_at(np.array([self._next_frame]))[:, 0]
        self._g_to = gains.copy()
        self._ramp_start = self._next_frame

    def seek(self, sample: int) -> None:
        """Continue rendering from ``sample`` (clamped to the signal).

        A ramp in progress is completed at once: there is nothing to fade from.
        """
        self._pos = int(min(max(sample, 0), self.length))
        start = self._pos + self._pad
        # The first frame that overlaps the new position.
        self._next_frame = max(0, (start - self._n_fft) // self._hop + 1)
        self._acc_start = self._next_frame * self._hop
        self._acc[:, : self._filled] = 0.0
        self._norm[: self._filled] = 0.0
        self._filled = 0
        self._g_from = self._g_to.copy()

    def render(self, n_samples: int) -> np.ndarray:
        """The next ``n_samples`` of output (fewer at the end of the signal).

        Returns
        -------
        np.ndarray, float32, shape (n, channels)
            ``n = min(n_samples, length - position)``.
        """
        n = max(0, min(int(n_samples), self.length - self._pos))
        out = np.empty((n, self.channels), dtype=np.float32)
        done = 0
        while done < n:
            step = min(self._block, n - done)
            self._render_into(out[done : done + step])
            done += step
        return out

    def _render_into(self, out: np.ndarray) -> None:
        n = out.shape[0]
        end = self._pos + self._pad + n  # padded coordinate just past this block
        # Every frame that starts before `end` contributes to the block.
        last = min(self._n_frames, -(-end // self._hop))
        if last > self._next_frame:
            self._add_frames(self._next_frame, last)
            self._next_frame = last
        lo = self._pos + self._pad - self._acc_start
        norm = self._norm[lo : lo + n]
        # Only the signal's first and last half-frames lack overlap (as in istft).
        norm = np.where(norm > 1e-8, norm, np.float32(1.0))
        np.divide(self._acc[:, lo : lo + n].T, norm[:, None], out=out)
        self._pos += n
        self._discard(lo + n)

    def _add_frames(self, first: int, last: int) -> None:
        """Mask, invert, window and overlap-add frames ``first … last-1``."""
        count = last - first
        mask = self._masks.mask(self._gains_at(np.arange(first, last)), slice(first, last))
        if self._region is not None:
            mask *= self._region[:, first:last]  # the mask is a new array: weight it in place
        spectra = self._spec.frames(first, last)
        spectra *= mask
        # Frame by frame in memory (see Spectrogram.frames): each inverse FFT is contiguous.
        blocks = scipy.fft.irfft(spectra.transpose(0, 2, 1), n=self._n_fft, axis=2)
        blocks = blocks.astype(np.float32, copy=False)
        offset = first * self._hop - self._acc_start
        for c in range(self.channels):
            blocks[c] *= self._window
            overlap_add(blocks[c], self._hop, self._acc[c, offset:])
        squares = np.broadcast_to(self._window_sq, (count, self._n_fft))
        overlap_add(squares, self._hop, self._norm[offset:])
        self._filled = max(self._filled, offset + (count - 1) * self._hop + self._n_fft)

    def _gains_at(self, frames: np.ndarray) -> np.ndarray:
        """Gains (k, len(frames)) of the given frames along the current ramp."""
        progress = np.clip((frames - self._ramp_start + 1) / self._ramp_frames, 0.0, 1.0)
        delta = (self._g_to - self._g_from)[:, None]
        return (self._g_from[:, None] + delta * progress[None].astype(np.float32)).astype(
            np.float32, copy=False
        )

    def _discard(self, used: int) -> None:
        """Drop the first ``used`` accumulated samples: they have been output."""
        keep = max(0, self._filled - used)
        # Copy through a temporary: the source and destination ranges overlap.
        self._acc[:, :keep] = self._acc[:, used : used + keep].copy()
        self._acc[:, keep : self._filled] = 0.0
        self._norm[:keep] = self._norm[used : used + keep].copy()
        self._norm[keep : self._filled] = 0.0
        self._filled = keep
        self._acc_start += used
