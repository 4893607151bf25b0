"""BSS Eval source scores (SDR, SIR, SAR) by least-squares projections, numpy and scipy only.

The decomposition of Vincent, Gribonval and Févotte (2006) as BSS Eval v3
(``mir_eval.separation.bss_eval_sources``) computes it: an estimate ŝ of
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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.signal

__all__ = ["SourceScores", "bss_eval", "match_sources", "score_estimate"]


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


def _projection(references: np.ndarray, estimate: np.ndarray, taps: int) -> np.ndarray:
    """Least-squares fit of ``estimate`` by FIR-filtered references, length T + taps − 1.

    Solves ``G c = d`` where G holds the correlations of the delayed references
    (one Toeplitz block per pair) and d their correlations with the estimate.
    """
    n, length = references.shape
    n_fft = int(2 ** np.ceil(np.log2(length + taps - 1)))
    spectra = np.fft.rfft(references, n=n_fft, axis=1)
    estimate_spectrum = np.fft.rfft(estimate, n=n_fft)
    gram = np.empty((n * taps, n * taps))
    for i in range(n):
        for j in range(i, n):
            # corr[l] = Σ_t r_i[t + l] r_j[t] (circular, long enough not to wrap), and
            # block (i, j)[a, b] = Σ_t r_i[t − a] r_j[t − b] = corr[b − a].
            corr = np.fft.irfft(spectra[i] * np.conj(spectra[j]), n=n_fft)
            column = np.concatenate(([corr[0]], corr[-1 : -taps : -1]))
            block = scipy.linalg.toeplitz(column, corr[:taps])
            gram[i * taps : (i + 1) * taps, j * taps : (j + 1) * taps] = block
            gram[j * taps : (j + 1) * taps, i * taps : (i + 1) * taps] = block.T
    rhs = np.empty(n * taps)
    for i in range(n):
        corr = np.fft.irfft(np.conj(spectra[i]) * estimate_spectrum, n=n_fft)
        rhs[i * taps : (i + 1) * taps] = corr[:taps]
    try:
        coefficients = scipy.linalg.solve(gram, rhs, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        coefficients = np.linalg.lstsq(gram, rhs, rcond=None)[0]
    fitted = np.zeros(length + taps - 1)
    for i in range(n):
        fitted += scipy.signal.fftconvolve(coefficients[i * taps : (i + 1) * taps], references[i])
    return fitted


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
    return [_score(refs, estimate, j, filter_length) for j, estimate in enumerate(ests)]


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
    return _score(refs, est, index, filter_length)


def _score(refs: np.ndarray, estimate: np.ndarray, j: int, filter_length: int) -> SourceScores:
    pad = filter_length - 1
    target = np.concatenate((refs[j], np.zeros(pad)))
    padded = np.concatenate((estimate, np.zeros(pad)))
    own = _projection(refs[j : j + 1], estimate, filter_length)
    every = _projection(refs, estimate, filter_length)
    spatial = own - target
    interference = every - own
    artifacts = padded - every
    return SourceScores(
        sdr=_db(target + spatial, interference + artifacts),
        sir=_db(target + spatial, interference),
        sar=_db(target + spatial + interference, artifacts),
    )


def match_sources(score_matrix: np.ndarray) -> list[int]:
    """Reference index for each estimate that maximises the total score (Hungarian method).

    Parameters
    ----------
    score_matrix : np.ndarray, (n_estimates, n_references)
        A score (higher is better, e.g. SI-SDR) for every pair.

    Returns
    -------
    list of int
        ``result[e]`` is the reference of estimate ``e``, or -1 when there are
        more estimates than references and ``e`` got none.
    """
    scores = np.nan_to_num(np.asarray(score_matrix, dtype=np.float64), nan=-1e9, neginf=-1e9,
                           posinf=1e9)
    rows, cols = scipy.optimize.linear_sum_assignment(scores, maximize=True)
    result = [-1] * scores.shape[0]
    for r, c in zip(rows, cols):
        result[int(r)] = int(c)
    return result
