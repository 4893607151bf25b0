"""Harmonic templates: the spectrum of a note and a dictionary of them, pure numpy.

The comb start of a factorization (:func:`dsp.nmf.init.comb_init`) picks its
templates from :func:`comb_dictionary`; tests build notes with
:func:`harmonic_comb`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["harmonic_comb", "comb_dictionary"]


def harmonic_comb(
    f0: float,
    n_bins: int,
    *,
    rate: float,
    rolloff: float = 1.0,
    width: float = 1.0,
    n_harmonics: int | None = None,
) -> np.ndarray:
    """Unit-sum spectrum of a harmonic note, float32 (n_bins,).

    Parameters
    ----------
    f0 : float
        Fundamental, Hz (> 0).
    n_bins : int
        STFT bins from 0 Hz to ``rate / 2`` (``n_fft // 2 + 1``).
    rate : float
        Sample rate, Hz.
    rolloff : float
        Amplitude of harmonic h is ``h ** -rolloff``.
    width : float
        Standard deviation of each partial's Gaussian bump, in bins (about the
        half main lobe of a Hann window, so a partial covers 3–5 bins).
    n_harmonics : int, optional
        Partials kept (default: every one below Nyquist).

    Raises
    ------
    ValueError
        If ``f0`` is not positive or lies at or above Nyquist.
    """
    if not 0 < f0 < rate / 2:
        raise ValueError(f"f0 must lie in (0, {rate / 2:g}) Hz, got {f0!r}")
    bin_hz = rate / (2 * (n_bins - 1))
    bins = np.arange(n_bins)[:, None]
    top = int((rate / 2) // f0)
    harmonics = np.arange(1, top + 1 if n_harmonics is None else min(top, n_harmonics) + 1)
    bumps = np.exp(-0.5 * ((bins - harmonics * f0 / bin_hz) / width) ** 2)
    comb = bumps @ (harmonics.astype(np.float64) ** -rolloff)
    return (comb / comb.sum()).astype(np.float32)


def comb_dictionary(
    n_bins: int,
    *,
    rate: float,
    fmin: float = 50.0,
    fmax: float = 1600.0,
    n_bands: int = 0,
    n_harmonics: int | None = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic combs on a semitone grid and smooth broadband bands, unit-sum columns.

    Combs keep their first ``n_harmonics`` partials: a low comb with every
    partial up to Nyquist would also fit the notes an octave or two above it.

    Returns
    -------
    atoms : np.ndarray, float32, (n_bins, n_pitches + n_bands)
        Combs first (rising pitch), then Hann-shaped bands evenly spaced on a
        log-frequency axis from ``fmin`` to Nyquist.
    pitches : np.ndarray, float64, (n_pitches + n_bands,)
        Fundamental of each comb in Hz, NaN for the bands.
    """
    n_pitches = int(np.floor(12 * np.log2(fmax / fmin))) + 1
    pitches = fmin * 2.0 ** (np.arange(n_pitches) / 12)
    combs = [harmonic_comb(f0, n_bins, rate=rate, n_harmonics=n_harmonics) for f0 in pitches]
    freqs = np.linspace(0.0, rate / 2, n_bins)
    log_f = np.log2(np.maximum(freqs, fmin / 2))
    edges = np.linspace(np.log2(fmin / 2), np.log2(rate / 2), n_bands + 2)
    bands = []
    for lo, hi in zip(edges[:-2], edges[2:]):
        inside = (log_f > lo) & (log_f < hi)
        band = np.where(inside, np.sin(np.pi * (log_f - lo) / (hi - lo)) ** 2, 0.0)
        bands.append(band / max(band.sum(), 1e-30))
    atoms = np.stack([*combs, *bands], axis=1).astype(np.float32)
    return atoms, np.concatenate([pitches, np.full(n_bands, np.nan)])
