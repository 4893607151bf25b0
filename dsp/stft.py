"""Short-time Fourier transform with exact inverse and exact output length.

Analysis and synthesis use the same periodic Hann window; the inverse divides
the overlap-added frames by the overlap-added squared window (least-squares
ISTFT), so ``istft(stft(x))`` returns ``x`` to float32 precision for any hop
at which the squared windows overlap without gaps (hop <= n_fft / 2).
The signal is centred: ``n_fft // 2`` zeros are padded at both ends, so frame
``t`` is centred on sample ``t * hop``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = [
    "Spectrogram",
    "StftError",
    "stft",
    "stft_frames",
    "istft",
    "analyse",
    "frame_count",
    "window",
    "overlap_add",
]

_CHUNK = 512  # frames transformed at once: bounds the temporary (chunk, n_fft) buffer


class StftError(ValueError):
    """STFT parameters that cannot work, or a signal too short to analyse."""


def window(n_fft: int) -> np.ndarray:
    """Periodic Hann window of length ``n_fft`` (float32)."""
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def _check(n_fft: int, hop: int) -> None:
    if n_fft < 16 or n_fft & (n_fft - 1):
        raise StftError(f"n_fft must be a power of two >= 16, got {n_fft}")
    if not 1 <= hop <= n_fft // 2:
        raise StftError(f"hop must be between 1 and n_fft/2 = {n_fft // 2}, got {hop}")


def frame_count(length: int, hop: int) -> int:
    """Number of STFT frames for a signal of ``length`` samples (centred framing)."""
    return 1 + length // hop


def stft(samples: np.ndarray, *, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Complex STFT of every channel.

    Parameters
    ----------
    samples : np.ndarray, float32, shape (frames,) or (frames, channels)
        Time signal.
    n_fft : int
        Frame length (a power of two).
    hop : int
        Frame advance in samples, at most ``n_fft // 2``.

    Returns
    -------
    np.ndarray, complex64, shape (channels, n_fft // 2 + 1, n_frames)
    """
    _check(n_fft, hop)
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    return stft_frames(x, 0, frame_count(x.shape[0], hop), n_fft=n_fft, hop=hop)


def stft_frames(
    samples: np.ndarray, first: int, last: int, *, n_fft: int, hop: int
) -> np.ndarray:
    """Frames ``first … last-1`` of :func:`stft` of ``samples`` (frames, channels).

    Only the samples under those frames are read, so a frame range of a long
    signal costs its own size, not the signal's. Each frame is the same
    computation as :func:`stft`'s, so the values are the same.

    Returns
    -------
    np.ndarray, complex64, shape (channels, n_fft // 2 + 1, last - first)
        Stored frame by frame (a transposed view of ``(channels, frames, bins)``):
        each frame's spectrum is contiguous, as the inverse FFT wants it.
    """
    length, channels = samples.shape
    pad = n_fft // 2
    win = window(n_fft)
    out = np.empty((channels, last - first, n_fft // 2 + 1), dtype=np.complex64)
    for start in range(first, last, _CHUNK):
        stop = min(start + _CHUNK, last)
        # The chunk's samples in centred coordinates, zero outside the signal.
        a, b = start * hop - pad, (stop - 1) * hop - pad + n_fft
        padded = np.zeros((channels, b - a), dtype=np.float32)
        lo, hi = max(a, 0), min(b, length)
        if hi > lo:
            padded[:, lo - a : hi - a] = samples[lo:hi].T
        for c in range(channels):
            frames = np.lib.stride_tricks.sliding_window_view(padded[c], n_fft)[::hop]
            out[c, start - first : stop - first] = scipy.fft.rfft(frames * win, axis=1)
    return out.transpose(0, 2, 1)


def istft(spec: np.ndarray, *, length: int, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Inverse of :func:`stft`, cut to exactly ``length`` samples.

    Parameters
    ----------
    spec : np.ndarray, complex, shape (channels, n_fft // 2 + 1, n_frames) or (bins, n_frames)
        Spectrogram as returned by :func:`stft` (possibly masked).
    length : int
        Number of output samples (the original signal's length).

    Returns
    -------
    np.ndarray, float32, shape (length, channels)
    """
    _check(n_fft, hop)
    spec = np.asarray(spec)
    if spec.ndim == 2:
        spec = spec[None]
    channels, bins, n_frames = spec.shape
    if bins != n_fft // 2 + 1:
        raise StftError(f"spectrogram has {bins} bins; n_fft={n_fft} needs {n_fft // 2 + 1}")
    win = window(n_fft)
    total = (n_frames - 1) * hop + n_fft
    norm = np.zeros(total, dtype=np.float32)
    overlap_add(np.broadcast_to(win * win, (n_frames, n_fft)), hop, norm)
    pad = n_fft // 2
    norm = norm[pad : pad + length]
    # Only the first and last half-frames lack overlap; keep them finite anyway.
    norm = np.where(norm > 1e-8, norm, 1.0).astype(np.float32)
    out = np.empty((length, channels), dtype=np.float32)
    for c in range(channels):
        y = np.zeros(total, dtype=np.float32)
        for start in range(0, n_frames, _CHUNK):
            block = scipy.fft.irfft(spec[c, :, start : start + _CHUNK].T, n=n_fft, axis=1)
            block = block.astype(np.float32, copy=False) * win
            overlap_add(block, hop, y[start * hop :])
        out[:, c] = y[pad : pad + length] / norm
    return out


def overlap_add(frames: np.ndarray, hop: int, out: np.ndarray) -> None:
    """Add ``frames`` (n, n_fft), one every ``hop`` samples, into ``out`` in place.

    ``out`` must hold at least ``(n - 1) * hop + n_fft`` samples.
    """
    n, n_fft = frames.shape
    if n_fft % hop == 0:
        # Each frame is n_fft/hop hop-sized segments; segment r of frame t lands in
        # hop-block t + r, so every segment index is one vectorised add.
        blocks = out[: (n + n_fft // hop - 1) * hop].reshape(-1, hop)
        segments = frames.reshape(n, n_fft // hop, hop)
        for r in range(n_fft // hop):
            blocks[r : r + n] += segments[:, r]
    else:
        for t in range(n):
            out[t * hop : t * hop + n_fft] += frames[t]


class Spectrogram:
    """The STFT of a multichannel signal, computed on demand from the samples.

    The complex STFT of every channel is twice the size of the samples per
    overlap (1.7 GB for 20 minutes of stereo at hop n_fft/4), so it is not
    kept: :meth:`frames` transforms the frame range a caller works on, and
    only the mean magnitude V (:meth:`magnitude`, the NMF input and what the
    views draw) is cached.

    Parameters
    ----------
    samples : np.ndarray, float32, shape (length, channels)
        The signal (not copied; it must not change).
    rate : int
        Sample rate of the signal, Hz.
    n_fft, hop : int
        STFT frame length and advance.
    """

    def __init__(self, samples: np.ndarray, rate: int, n_fft: int, hop: int) -> None:
        _check(n_fft, hop)
        samples = np.asarray(samples, dtype=np.float32)
        self.samples = samples[:, None] if samples.ndim == 1 else samples
        self.rate = rate
        self.n_fft = n_fft
        self.hop = hop
        self._magnitude: np.ndarray | None = None

    @property
    def length(self) -> int:
        """Length of the analysed signal in samples."""
        return self.samples.shape[0]

    @property
    def channels(self) -> int:
        """Number of channels."""
        return self.samples.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(bins, frames)`` of the magnitude."""
        return self.n_fft // 2 + 1, frame_count(self.length, self.hop)

    @property
    def freqs(self) -> np.ndarray:
        """Centre frequency of each bin in Hz."""
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.rate)

    @property
    def times(self) -> np.ndarray:
        """Centre time of each frame in seconds."""
        return np.arange(self.shape[1]) * self.hop / self.rate

    def frames(self, first: int, last: int) -> np.ndarray:
        """Complex STFT frames ``first … last-1`` of every channel.

        Returns
        -------
        np.ndarray, complex64, shape (channels, bins, last - first)
        """
        return stft_frames(self.samples, first, last, n_fft=self.n_fft, hop=self.hop)

    @property
    def data(self) -> np.ndarray:
        """The whole complex STFT, complex64 ``(channels, bins, frames)``, computed anew.

        For short signals and tests: on a long file use :meth:`frames`.
        """
        return self.frames(0, self.shape[1])

    def _each_chunk(self):
        """``(first, last, frames)`` over the whole STFT, a chunk of frames at a time."""
        n = self.shape[1]
        for first in range(0, n, _CHUNK):
            last = min(first + _CHUNK, n)
            yield first, last, self.frames(first, last)

    def magnitude(self) -> np.ndarray:
        """The NMF input V: mean of the channels' magnitudes, float32 ``(bins, frames)``.

        Computed once (as long as the STFT takes, so in whichever thread asks
        first: a loading job) and then shared, read-only.
        """
        if self._magnitude is not None:
            return self._magnitude
        mag = np.empty(self.shape, dtype=np.float32)
        for first, last, spectra in self._each_chunk():
            part = np.abs(spectra).sum(axis=0) if self.channels > 1 else np.abs(spectra[0])
            if self.channels > 1:
                part /= self.channels
            mag[:, first:last] = part
        mag.setflags(write=False)
        self._magnitude = mag
        return mag

    def magnitudes(self) -> np.ndarray:
        """Every channel's magnitude, float32 ``(channels, bins, frames)``: the multichannel V.

        Not cached (it is the channels' size again); a solver keeps it as its data.
        """
        mags = np.empty((self.channels, *self.shape), dtype=np.float32)
        for first, last, spectra in self._each_chunk():
            mags[:, :, first:last] = np.abs(spectra)
        return mags

    def invert(self, data: np.ndarray) -> np.ndarray:
        """Time signal ``(length, channels)`` of the complex STFT ``data`` (e.g. masked)."""
        return istft(data, length=self.length, n_fft=self.n_fft, hop=self.hop)


def analyse(samples: np.ndarray, rate: int, *, n_fft: int = 2048, hop: int = 512) -> Spectrogram:
    """The :class:`Spectrogram` of ``samples`` (frames, channels).

    Raises
    ------
    StftError
        If the signal is shorter than one frame (``n_fft`` samples) or the
        parameters are invalid.
    """
    _check(n_fft, hop)
    length = np.asarray(samples).shape[0]
    if length < n_fft:
        raise StftError(
            f"signal is shorter than one STFT frame ({length} samples, n_fft={n_fft}; "
            f"{length / rate:.3f} s < {n_fft / rate:.3f} s)"
        )
    return Spectrogram(samples, rate, n_fft, hop)
