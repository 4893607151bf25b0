"""Separation scores against reference stems: the metrics and the one matching rule.

Metrics
-------
:func:`sdr` and :func:`si_sdr` compare one estimate with one reference, every
channel counted. :func:`bss_eval` and :func:`score_estimate` are the BSS Eval
source scores of Vincent, Gribonval and Févotte (2006), as BSS Eval v3
(``mir_eval.separation.bss_eval_sources``) computes them: an estimate ŝ of
source j is split into

- ``s_target``: the reference sⱼ itself,
- ``e_spatial``: what a filter of ``filter_length`` taps applied to sⱼ adds,
- ``e_interf``: what filters on the other references add on top,
- ``e_artif``: the rest, which no filtered reference explains;

then SDR = ‖s_target + e_spatial‖² / ‖e_interf + e_artif‖² (filtering of the
source itself is allowed, as in BSS Eval's source criteria),
SIR = ‖s_target + e_spatial‖² / ‖e_interf‖² and
SAR = ‖s_target + e_spatial + e_interf‖² / ‖e_artif‖², all in dB.
Here the projections are solved from the references' correlations (Toeplitz
blocks computed by FFT), so the cost grows with the signal length only
through the FFTs.

Matching
--------
Estimates come in no particular order, so they are paired with references by
one rule, :func:`match`: the one-to-one pairing with the largest total score
(the Hungarian method, ``scipy.optimize.linear_sum_assignment``). Greedy
pairing (best pair first) can take a pair that forces a bad one on another
source; the optimum never does. BSS Eval's own permutation search maximises
the mean SIR the same way, over all n! permutations; this takes O(n³).
:func:`match_estimates` scores every pair by SI-SDR before matching: it is
blind to gain (a stem rendered at another level still finds its reference), a
monotone function of the correlation, and costs one dot product per pair where
BSS Eval's SIR would cost a projection. :func:`assign_components` uses the same
:func:`match` to give each true source its best component first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.signal

from .nmf import EPS
from .separation import separate
from .stft import Spectrogram, stft

__all__ = [
    "SourceScores",
    "assign_components",
    "bss_eval",
    "match",
    "match_estimates",
    "score_estimate",
    "score_separation",
    "sdr",
    "si_sdr",
]


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64).ravel()
    est = np.asarray(estimate, dtype=np.float64).ravel()
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate differ in shape: {ref.shape} vs {est.shape}")
    return ref, est


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: 10 log10(‖s‖² / ‖s − ŝ‖²).

    Every channel counts; a perfect estimate gives ``inf``.
    """
    ref, est = _pair(reference, estimate)
    error = float(np.sum((ref - est) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(float(np.sum(ref**2)) / error)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB: the estimate is first projected onto the reference."""
    ref, est = _pair(reference, estimate)
    scale = float(ref @ est) / max(float(ref @ ref), 1e-30)
    target = scale * ref
    return sdr(target, est) if np.any(target) else float("-inf")


@dataclass(frozen=True)
class SourceScores:
    """BSS Eval scores of one estimate against its reference, in dB."""

    sdr: float
    sir: float
    sar: float


def _as_mono_rows(signals, name: str) -> np.ndarray:
    """(n, T) float64 from a list of (T,) or (T, channels) signals (channels averaged)."""
    rows = []
    for x in signals:
        x = np.asarray(x, dtype=np.float64)
        rows.append(x.mean(axis=1) if x.ndim == 2 else x.ravel())
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"{name} differ in length: {sorted(lengths)} samples")
    return np.stack(rows)


class _Projector:
    """Least-squares fits of estimates by FIR-filtered references (BSS Eval's projections).

    The references' spectra and the Gram matrix of their delayed copies are
    made once and shared by every estimate scored against them, and by both
    projections of each (on its own reference, on all of them): the own
    reference's Gram matrix is a diagonal block of the full one.
    """

    def __init__(self, references: np.ndarray, taps: int) -> None:
        n, length = references.shape
        self.taps, self.length = taps, length
        self.n_fft = int(2 ** np.ceil(np.log2(length + taps - 1)))
        self.spectra = np.fft.rfft(references, n=self.n_fft, axis=1)
        gram = np.empty((n * taps, n * taps))
        for i in range(n):
            for j in range(i, n):
                # corr[l] = Σ_t r_i[t + l] r_j[t] (circular, long enough not to wrap), and
                # block (i, j)[a, b] = Σ_t r_i[t − a] r_j[t − b] = corr[b − a].
                corr = np.fft.irfft(self.spectra[i] * np.conj(self.spectra[j]), n=self.n_fft)
                column = np.concatenate(([corr[0]], corr[-1 : -taps : -1]))
                block = scipy.linalg.toeplitz(column, corr[:taps])
                gram[i * taps : (i + 1) * taps, j * taps : (j + 1) * taps] = block
                gram[j * taps : (j + 1) * taps, i * taps : (i + 1) * taps] = block.T
        self.gram = gram

    def correlations(self, estimate: np.ndarray) -> np.ndarray:
        """The right-hand sides of every reference, (n · taps,)."""
        spectrum = np.fft.rfft(estimate, n=self.n_fft)
        corr = np.fft.irfft(np.conj(self.spectra) * spectrum, n=self.n_fft, axis=1)
        return corr[:, : self.taps].ravel()

    def fit(self, rhs: np.ndarray, which: slice) -> np.ndarray:
        """The projection on references ``which``, length T + taps − 1."""
        taps = self.taps
        rows = slice(which.start * taps, which.stop * taps)
        gram, rhs = self.gram[rows, rows], rhs[rows]
        try:
            coefficients = scipy.linalg.solve(gram, rhs, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            coefficients = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        # Σ_i c_i * r_i as one product of spectra: n_fft holds the linear convolution.
        filters = np.fft.rfft(coefficients.reshape(-1, taps), n=self.n_fft, axis=1)
        fitted = np.fft.irfft((filters * self.spectra[which]).sum(axis=0), n=self.n_fft)
        return fitted[: self.length + taps - 1]


def _db(numerator: np.ndarray, denominator: np.ndarray) -> float:
    num, den = float(np.sum(numerator**2)), float(np.sum(denominator**2))
    if den == 0:
        return float("inf")
    if num == 0:
        return float("-inf")
    return float(10 * np.log10(num / den))


def bss_eval(references, estimates, *, filter_length: int = 512) -> list[SourceScores]:
    """SDR, SIR and SAR of each estimate against the reference at the same position.

    Parameters
    ----------
    references, estimates : sequence of np.ndarray, each (T,) or (T, channels)
        Reference stems and their estimates, in matching order, all of one
        length. Multichannel signals are scored on their channel mean.
    filter_length : int
        Taps of the distortion filters (512 as in BSS Eval v3).

    Returns
    -------
    list of SourceScores
        One per estimate.

    Raises
    ------
    ValueError
        If the counts or lengths differ or ``filter_length`` is below 1.
    """
    refs = _as_mono_rows(references, "references")
    ests = _as_mono_rows(estimates, "estimates")
    if len(refs) != len(ests):
        raise ValueError(f"{len(ests)} estimates for {len(refs)} references")
    if refs.shape[1] != ests.shape[1]:
        raise ValueError(
            f"references have {refs.shape[1]} samples, estimates {ests.shape[1]}"
        )
    if filter_length < 1:
        raise ValueError(f"filter_length must be at least 1, got {filter_length}")
    projector = _Projector(refs, filter_length)
    return [_score(projector, refs, estimate, j) for j, estimate in enumerate(ests)]


def score_estimate(references, estimate, index: int, *, filter_length: int = 512) -> SourceScores:
    """SDR, SIR and SAR of one estimate of reference ``index`` (the others interfere).

    Parameters as :func:`bss_eval`; ``estimate`` is one signal.
    """
    refs = _as_mono_rows(references, "references")
    (est,) = _as_mono_rows([estimate], "estimates")
    if len(est) != refs.shape[1]:
        raise ValueError(f"references have {refs.shape[1]} samples, the estimate {len(est)}")
    if not 0 <= index < len(refs) or filter_length < 1:
        raise ValueError(f"bad index {index} or filter_length {filter_length}")
    return _score(_Projector(refs, filter_length), refs, est, index)


def _score(projector: _Projector, refs: np.ndarray, estimate: np.ndarray, j: int) -> SourceScores:
    pad = projector.taps - 1
    target = np.concatenate((refs[j], np.zeros(pad)))
    padded = np.concatenate((estimate, np.zeros(pad)))
    rhs = projector.correlations(estimate)
    own = projector.fit(rhs, slice(j, j + 1))
    every = projector.fit(rhs, slice(0, len(refs)))
    spatial = own - target
    interference = every - own
    artifacts = padded - every
    return SourceScores(
        sdr=_db(target + spatial, interference + artifacts),
        sir=_db(target + spatial, interference),
        sar=_db(target + spatial + interference, artifacts),
    )


def match(score_matrix: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one pairs of rows and columns with the largest total score.

    The one matching rule of Partwise (the Hungarian method; see the module's
    docstring for why).

    Parameters
    ----------
    score_matrix : np.ndarray, (n_rows, n_columns)
        A score (higher is better) for every pair; NaN counts as the worst.

    Returns
    -------
    list of (int, int)
        ``(row, column)`` pairs in increasing row order, ``min(n_rows,
        n_columns)`` of them: with more rows than columns some rows get none.
    """
    # The assignment needs finite numbers: ±inf (a perfect or a silent estimate) and
    # NaN become scores beyond any real one.
    scores = np.nan_to_num(np.asarray(score_matrix, dtype=np.float64), nan=-1e9, neginf=-1e9,
                           posinf=1e9)
    rows, cols = scipy.optimize.linear_sum_assignment(scores, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols)]


def match_estimates(references, estimates) -> list[tuple[int, int]]:
    """``(reference, estimate)`` pairs: the estimates matched to references by SI-SDR.

    Parameters
    ----------
    references, estimates : sequence of np.ndarray, each (T,) or (T, channels)
        In any order, all of one shape.

    Returns
    -------
    list of (int, int)
        In reference order; a reference is missing when there are fewer
        estimates than references.
    """
    return match(np.array([[si_sdr(r, e) for e in estimates] for r in references]))


# -- scoring a factorization against known sources --------------------------------------------


def assign_components(spec: Spectrogram, W: np.ndarray, H: np.ndarray,
                      references: Sequence[np.ndarray]) -> list[list[int]]:
    """Oracle grouping: the components of each true source.

    A component belongs to the source that holds most of its magnitude under the
    sources' ideal ratio masks. Each source first gets its best component
    (:func:`match` on those shares), so no source is left empty while k ≥ sources.

    Parameters
    ----------
    spec : Spectrogram
        STFT of the mixture the references sum to.
    W, H : np.ndarray
        Factors of its magnitude.
    references : sequence of np.ndarray, float32 (length, channels)
        The true sources.

    Returns
    -------
    list of list of int
        One (possibly empty) list of component indices per reference.
    """
    # The mixture's V is the mean of the channels' magnitudes: measure the sources alike.
    magnitudes = [np.abs(stft(r, n_fft=spec.n_fft, hop=spec.hop)).mean(axis=0)
                  for r in references]
    total = np.maximum(np.sum(magnitudes, axis=0), EPS)
    k = W.shape[1]
    fit = np.empty((len(references), k))
    for s, magnitude in enumerate(magnitudes):
        share = magnitude / total
        # Σ_f,t (W_k h_k ∘ share) = w_kᵀ share h_k, without forming W_k h_k.
        fit[s] = np.einsum("fk,ft,kt->k", W, share, H, optimize=True)
    groups: list[list[int]] = [[] for _ in references]
    for s, j in match(fit):
        groups[s].append(j)
    taken = {j for group in groups for j in group}
    for j in range(k):
        if j not in taken:
            groups[int(np.argmax(fit[:, j]))].append(j)
    return [sorted(g) for g in groups]


def score_separation(spec: Spectrogram, W: np.ndarray, H: np.ndarray,
                     references: Sequence[np.ndarray], *, power: float = 1.0) -> list[float]:
    """SDR in dB of each true source against the stem of its oracle group.

    A source that no component was assigned to is estimated as silence (0 dB).
    """
    groups = assign_components(spec, W, H, references)
    stems = separate(spec, W, H, [g for g in groups if g], power=power)
    return [sdr(reference, next(stems) if members else np.zeros_like(reference))
            for reference, members in zip(references, groups)]
