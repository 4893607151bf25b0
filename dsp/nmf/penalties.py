"""Penalties added to the divergence: L1 sparsity and temporal continuity.

Both enter the multiplicative updates the usual way: the gradient of the
penalty is split into a positive part, added to the denominator, and a
negative part, added to the numerator.
"""

from __future__ import annotations

import numpy as np

from .base import EPS

__all__ = ["check_weight", "continuity_cost", "continuity_terms", "normalize_columns"]


def check_weight(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def continuity_cost(H: np.ndarray) -> float:
    """Virtanen's temporal continuity cost of the activations.

    c(H) = Σ_k T · Σ_t (h_kt − h_k,t−1)² / Σ_t h_kt², which is invariant to the
    scale of each row, so it cannot be lowered by shrinking H.
    """
    T = H.shape[1]
    H = H.astype(np.float64)
    jumps = np.square(np.diff(H, axis=1)).sum(axis=1)
    energy = np.maximum(np.square(H).sum(axis=1), float(EPS))
    return float(T * np.sum(jumps / energy))


def continuity_terms(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative parts of the gradient of :func:`continuity_cost`.

    Returns
    -------
    positive, negative : np.ndarray, float32, shape (k, n)
        ∂c/∂H = positive − negative, both nonnegative (Virtanen 2007, eq. 10–11
        with the end frames, which have one neighbour, handled exactly).
    """
    k, T = H.shape
    energy = np.maximum(np.square(H, dtype=np.float64).sum(axis=1), float(EPS))[:, None]
    jumps = np.square(np.diff(H.astype(np.float64), axis=1)).sum(axis=1)[:, None]
    neighbours = np.zeros((k, T), dtype=np.float32)
    neighbours[:, 1:] += H[:, :-1]
    neighbours[:, :-1] += H[:, 1:]
    count = np.full(T, 2.0, dtype=np.float32)
    count[[0, -1]] = 1.0 if T > 1 else 0.0
    positive = (2.0 * T / energy) * (count * H)
    negative = (2.0 * T / energy) * neighbours + (2.0 * T * jumps / energy**2) * H
    return positive.astype(np.float32), negative.astype(np.float32)


def normalize_columns(W: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Scale the ``free`` columns of W to unit Euclidean norm, in place.

    Returns the norms (k,) that were divided out (1 for the other columns), so
    a caller can move the scale into H and leave WH unchanged.
    """
    norms = np.ones(W.shape[1], dtype=np.float32)
    if free.any():
        norms[free] = np.maximum(np.linalg.norm(W[:, free], axis=0), EPS)
        W[:, free] /= norms[free]
    return norms
