"""Assigning NMF components to sources automatically.

Components of one source tend to share spectral shape (timbre, pitch) or to
sound at the same times. The affinity of two components is the mean of the
cosine similarity of their log-compressed templates and of their activations;
average-linkage clustering of ``1 - affinity`` cuts the components into the
requested number of sources.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import squareform

__all__ = ["group_components", "affinity"]


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


def group_components(W: np.ndarray, H: np.ndarray, n_sources: int) -> list[list[int]]:
    """Partition the k components into ``n_sources`` groups.

    Returns
    -------
    list of list of int
        Component indices per source, every component exactly once, ordered
        by each group's first component.

    Raises
    ------
    ValueError
        If ``n_sources`` is not between 1 and k.
    """
    k = W.shape[1]
    if not 1 <= n_sources <= k:
        raise ValueError(f"sources must be between 1 and the number of components ({k})")
    if n_sources == k:
        return [[j] for j in range(k)]
    if n_sources == 1:
        return [list(range(k))]
    distance = np.clip(1.0 - affinity(W, H), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    labels = cut_tree(tree, n_clusters=n_sources).ravel()
    groups: dict[int, list[int]] = {}
    for j, label in enumerate(labels):
        groups.setdefault(int(label), []).append(j)
    return sorted(groups.values(), key=lambda g: g[0])
