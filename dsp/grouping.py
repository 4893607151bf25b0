"""Assigning NMF components to sources automatically.

Two methods, chosen by measurement on ``bench/separation_quality.py``
(figures in ``docs/quality.md``):

- ``"timbre"`` (default): each template is described by its mel-frequency
  cepstrum (MFCC 1–13 of the log mel spectrum of W, as nussl's timbre
  clustering does), the coefficients are standardised over the components,
  and k-means weighted by each component's energy cuts them into sources.
  Weighting by energy keeps a quiet stray component from claiming a source
  of its own, the commonest failure of unweighted clustering.
- ``"affinity"``: the first method — the mean of the cosine similarity of
  log-compressed templates and of activations, cut by average linkage.

Both are deterministic: k-means is seeded and restarted a fixed number of times.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import squareform

__all__ = ["GROUPING_METHODS", "group_components", "affinity", "timbre_features", "mel_filters"]

GROUPING_METHODS = ("timbre", "affinity")


def _unit_rows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def affinity(W: np.ndarray, H: np.ndarray, *, weight_activations: float = 0.5) -> np.ndarray:
    """Pairwise similarity of components in [-1, 1], shape (k, k).

    Parameters
    ----------
    W : np.ndarray, (m, k)
        Templates.
    H : np.ndarray, (k, n)
        Activations.
    weight_activations : float
        Share of the activation correlation in the affinity (the rest is
        template similarity).
    """
    spectral = _unit_rows(np.log1p(W.T / max(float(W.max()), 1e-30) * 1e3))
    temporal = _unit_rows(H)
    return (1 - weight_activations) * spectral @ spectral.T + weight_activations * (
        temporal @ temporal.T
    )


def mel_filters(n_bins: int, rate: float, *, n_mels: int = 40) -> np.ndarray:
    """Triangular mel filterbank (HTK mel scale), float64 (n_mels, n_bins).

    ``n_bins`` is the number of STFT bins, ``n_fft // 2 + 1``; the bins span
    0 Hz to ``rate / 2``.
    """
    freqs = np.linspace(0.0, rate / 2, n_bins)
    mel = 2595.0 * np.log10(1.0 + freqs / 700.0)
    edges = np.linspace(0.0, mel[-1], n_mels + 2)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (mel[None] - lower) / (centre - lower)
    falling = (upper - mel[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def timbre_features(W: np.ndarray, *, rate: float = 22_050, n_mfcc: int = 13) -> np.ndarray:
    """MFCC 1..n_mfcc of each template, standardised over components, float64 (k, n_mfcc).

    The log is offset 60 dB below the loudest band of all templates so that
    empty bands do not dominate the cepstrum.
    """
    W = np.asarray(W, dtype=np.float64)
    mel = mel_filters(W.shape[0], rate) @ W
    peak = max(float(mel.max()), 1e-30)
    log_mel = np.log(mel + peak * 1e-6)
    cepstrum = scipy.fft.dct(log_mel, axis=0, norm="ortho")[1 : n_mfcc + 1].T
    cepstrum = cepstrum - cepstrum.mean(axis=0)
    spread = cepstrum.std(axis=0)
    return cepstrum / np.where(spread > 1e-12, spread, 1.0)


def _weighted_kmeans(
    X: np.ndarray, weights: np.ndarray, n_clusters: int, *, n_init: int = 10, seed: int = 0
) -> np.ndarray:
    """Labels of weighted k-means (k-means++ starts, Lloyd iterations, best of n_init)."""
    rng = np.random.default_rng(seed)
    weights = weights / weights.sum()
    best_labels, best_cost = None, np.inf
    for _ in range(n_init):
        centres = [X[rng.choice(len(X), p=weights)]]
        for _ in range(1, n_clusters):
            d2 = np.min(((X[:, None] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
            p = weights * d2
            p = p / p.sum() if p.sum() > 0 else weights
            centres.append(X[rng.choice(len(X), p=p)])
        centres = np.array(centres)
        for _ in range(100):
            d2 = ((X[:, None] - centres[None]) ** 2).sum(-1)
            labels = np.argmin(d2, axis=1)
            new = centres.copy()
            for c in range(n_clusters):
                members = labels == c
                if members.any():
                    new[c] = weights[members] @ X[members] / weights[members].sum()
            if np.allclose(new, centres):
                break
            centres = new
        d2 = ((X[:, None] - centres[None]) ** 2).sum(-1)
        labels = np.argmin(d2, axis=1)
        if len(np.unique(labels)) < n_clusters:
            continue  # an empty cluster: not a partition into n_clusters sources
        cost = float(weights @ d2[np.arange(len(X)), labels])
        if cost < best_cost - 1e-12:
            best_labels, best_cost = labels, cost
    if best_labels is None:  # degenerate data (e.g. identical templates): split by energy rank
        best_labels = np.zeros(len(X), dtype=int)
        best_labels[np.argsort(-weights)[: n_clusters - 1]] = np.arange(1, n_clusters)
    return best_labels


def _affinity_labels(W: np.ndarray, H: np.ndarray, n_sources: int) -> np.ndarray:
    distance = np.clip(1.0 - affinity(W, H), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    return cut_tree(tree, n_clusters=n_sources).ravel()


def group_components(
    W: np.ndarray,
    H: np.ndarray,
    n_sources: int,
    *,
    method: str = "timbre",
    rate: float = 22_050,
    energy_weight: float = 1.0,
    seed: int = 0,
) -> list[list[int]]:
    """Partition the k components into ``n_sources`` groups.

    Parameters
    ----------
    W : np.ndarray, (m, k)
        Templates (``m = n_fft // 2 + 1`` STFT bins).
    H : np.ndarray, (k, n)
        Activations.
    n_sources : int
        Number of groups, 1..k.
    method : {'timbre', 'affinity'}
        Energy-weighted k-means on template MFCCs, or the average-linkage
        affinity of templates and activations (see the module docstring).
    rate : float
        Sample rate of the analysed audio, Hz (places the mel bands).
    energy_weight : float
        ``'timbre'`` weights each component by its energy to this power
        (0: every component counts the same).
    seed : int
        Seed of the k-means restarts.

    Returns
    -------
    list of list of int
        Component indices per source, every component exactly once, ordered
        by each group's first component.

    Raises
    ------
    ValueError
        If ``n_sources`` is not between 1 and k, or ``method`` is unknown.
    """
    k = W.shape[1]
    if not 1 <= n_sources <= k:
        raise ValueError(f"sources must be between 1 and the number of components ({k})")
    if method not in GROUPING_METHODS:
        raise ValueError(f"unknown grouping method {method!r}; choose one of {GROUPING_METHODS}")
    if n_sources == k:
        return [[j] for j in range(k)]
    if n_sources == 1:
        return [list(range(k))]
    if method == "affinity":
        labels = _affinity_labels(W, H, n_sources)
    else:
        W64 = np.asarray(W, dtype=np.float64)
        energy = W64.sum(axis=0) * np.asarray(H, dtype=np.float64).sum(axis=1)
        energy = np.maximum(energy, 1e-12 * max(float(energy.max()), 1e-30))
        weights = (energy / energy.max()) ** energy_weight
        labels = _weighted_kmeans(timbre_features(W64, rate=rate), weights, n_sources, seed=seed)
    groups: dict[int, list[int]] = {}
    for j, label in enumerate(labels):
        groups.setdefault(int(label), []).append(j)
    return sorted(groups.values(), key=lambda g: g[0])
