"""Initial templates from harmonic combs, for pitched material.

Multiplicative updates settle in the basin of their start: a start whose
templates already look like notes (a fundamental and its harmonics) leads to
components that are notes, which masks then separate cleanly, where an SVD
start (NNDSVDa) mixes the partials of several notes into each template.
:func:`comb_init` finds such a start without being told what plays:

1. a dictionary of harmonic combs on a semitone grid (:func:`comb_dictionary`)
   and a few free components (NNDSVDa) explain V together, the combs locked
   (the engine's ``lock_W``), for a few KL multiplicative updates;
2. the k atoms that explain most of V's energy are kept, at most one comb
   per semitone neighbourhood (a comb and its neighbours a semitone away
   overlap at the low harmonics: the same note, smeared). Notes go to combs,
   drums and noise to free components, in whatever proportion the material asks;
3. their templates and activations start the real factorization, where every
   template is free to take the true envelope and the exact partials.

Measured on the quality corpus (docs/quality.md): +1.7 dB mean SDR over
NNDSVDa, up to +10 dB on mixtures of pitched instruments.
"""

from __future__ import annotations

import numpy as np

from . import nmf

__all__ = ["harmonic_comb", "comb_dictionary", "comb_init"]


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


def comb_init(
    V: np.ndarray,
    n_components: int,
    *,
    rate: float,
    fmin: float = 50.0,
    fmax: float = 1600.0,
    n_bands: int = 0,
    iterations: int = 30,
    n_free: int | None = None,
    n_harmonics: int | None = 20,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Start factors W (m, k) and H (k, n) from the harmonic combs that explain V.

    The combs compete with ``n_free`` free components (NNDSVDa start): combs
    and free components together explain V for ``iterations`` KL
    multiplicative updates with the combs locked, and the k atoms that
    explain most of V's energy are kept. Notes are taken by combs, drums and
    speech by free components, in whatever proportion the material asks for.

    Parameters
    ----------
    V : np.ndarray, (m, n)
        Nonnegative magnitude spectrogram, bins from 0 Hz to ``rate / 2``.
    n_components : int
        Rank k of the factorization to start.
    rate : float
        Sample rate of the analysed audio, Hz.
    fmin, fmax : float
        Range of the fundamentals of the combs.
    n_bands : int
        Broadband atoms in the dictionary beside the combs.
    iterations : int
        KL multiplicative updates of the competition.
    n_free : int, optional
        Free components in the competition, 0..k (default k // 4, measured
        best on the corpus among 0, k/8, k/4, k/2, 3k/4: with many free
        components the adaptable free ones win nearly every place, with none
        drums and speech are forced into combs).
    n_harmonics : int, optional
        Partials per comb (see :func:`comb_dictionary`).
    seed : int or None
        Seed of the NNDSVDa start of the free components.

    Returns
    -------
    W, H : np.ndarray, float32
        At most one comb is kept per semitone neighbourhood (a comb and its
        neighbours overlap at the low harmonics: the same note, smeared)
        unless k asks for more atoms than that leaves. When V has fewer frames
        (or bins) than the competition has atoms, the NNDSVDa start is returned.

    Raises
    ------
    ValueError
        If ``n_free`` is not between 0 and ``n_components``.
    """
    V = np.asarray(V, dtype=np.float32)
    m, n = V.shape
    atoms, pitches = comb_dictionary(
        m, rate=rate, fmin=fmin, fmax=fmax, n_bands=n_bands, n_harmonics=n_harmonics
    )
    n_atoms = atoms.shape[1]
    n_free = n_components // 4 if n_free is None else int(n_free)
    if not 0 <= n_free <= n_components:
        raise ValueError(f"n_free must be between 0 and {n_components}, got {n_free}")
    W_free, H_free = nmf.initialize(V, n_components, method="nndsvda", seed=seed)
    if n_atoms + n_free > min(m, n):
        # Fewer frames than atoms (a clip of a second or so): the competition
        # would be a rank beyond what V holds, so the NNDSVDa start stands.
        return W_free, H_free
    # Start every comb at the level that explains the mean frame.
    H_atoms = np.full((n_atoms, n), float(V.sum(axis=0).mean()) / n_atoms, dtype=np.float32)
    W0 = np.hstack([atoms, W_free[:, :n_free]])
    H0 = np.vstack([H_atoms, H_free[:n_free]])
    locked = np.arange(n_atoms + n_free) < n_atoms
    fit = nmf.factorize(
        V, n_atoms + n_free, loss="kl", W=W0, H=H0, lock_W=locked,
        max_iter=iterations, tol=0.0,
    )  # fmt: skip
    explained = fit.W.sum(axis=0) * fit.H.sum(axis=1)
    pitches = np.concatenate([pitches, np.full(n_free, np.nan)])
    order = np.argsort(-explained, kind="stable")
    chosen: list[int] = []
    for j in order:
        if len(chosen) == n_components:
            break
        if np.isfinite(pitches[j]) and any(
            np.isfinite(pitches[c]) and abs(12 * np.log2(pitches[j] / pitches[c])) < 1.5
            for c in chosen
        ):
            continue
        chosen.append(int(j))
    # More components than distinct notes: the next atoms, neighbours or not.
    chosen += [int(j) for j in order if j not in chosen][: n_components - len(chosen)]
    W = fit.W[:, chosen]
    H = fit.H[chosen]
    # Multiplicative updates cannot grow an exact zero: lift the gaps between partials.
    W = np.maximum(W, 1e-6 * max(float(W.max()), 1e-30))
    H = np.maximum(H, 1e-6 * max(float(H.max()), 1e-30))
    return W.astype(np.float32), H.astype(np.float32)
