"""Plain-numpy references of the two passes: one MU iteration's exact maths, in float64.

What the compiled passes must compute, written as the formulas read, whole
matrices at a time; the tests compare the passes against these on shapes that
cross every block, chunk and part edge. Slow and memory-hungry: for tests only.
"""

from __future__ import annotations

import numpy as np

from ..base import EPS, FLOOR

__all__ = ["euclidean_pass", "kl_pass"]


def _h_update(H, numer, denom, *, continuity, alpha, locked):
    """max(H ∘ (numer + α·negative) / max(denom + α·positive, EPS), FLOOR); locked rows kept."""
    if continuity is not None and alpha > 0:
        positive, negative = (np.asarray(t, np.float64) for t in continuity)
        numer, denom = numer + alpha * negative, denom + alpha * positive
    updated = np.maximum(H * numer / np.maximum(denom, EPS), FLOOR)
    if locked is not None:
        updated[locked] = H[locked]
    return updated


def kl_pass(V, W, H, *, update_h, denom=None, continuity=None, alpha=0.0, locked=None, free=None):
    """What :meth:`.KLPass.run` computes: the new H, Σ V log WH and (V / WH) Hᵀ.

    Returns
    -------
    H : np.ndarray, float64 (k, n)
        After the H half-step (a copy of H when not ``update_h``).
    v_log : float
        Σ V log WH for W and the returned H.
    VHt : np.ndarray, float64 (m, k)
        (V / WH) Hᵀ in the ``free`` columns, zero in the others.
    """
    V, W, H = (np.asarray(X, np.float64) for X in (V, W, H))
    k = W.shape[1]
    if update_h:
        denom = W.sum(axis=0) if denom is None else np.asarray(denom, np.float64)
        numer = W.T @ (V / (W @ H))
        H = _h_update(H, numer, denom[:, None], continuity=continuity, alpha=alpha, locked=locked)
    WH = W @ H
    VHt = (V / WH) @ H.T
    free = np.arange(k) if free is None else np.asarray(free, dtype=np.intp)
    VHt[:, np.setdiff1d(np.arange(k), free)] = 0.0
    return H, float(np.sum(V * np.log(WH))), VHt


def euclidean_pass(V, W, H, WtW, *, sparsity=0.0, continuity=None, alpha=0.0, locked=None):
    """What :meth:`.EuclideanPass.run` computes: the new H, VHᵀ and HHᵀ of the new H.

    Returns
    -------
    H : np.ndarray, float64 (k, n)
    VHt : np.ndarray, float64 (m, k)
    HHt : np.ndarray, float64 (k, k)
    """
    V, W, H, WtW = (np.asarray(X, np.float64) for X in (V, W, H, WtW))
    H = _h_update(H, W.T @ V, WtW @ H + sparsity, continuity=continuity, alpha=alpha, locked=locked)
    return H, V @ H.T, H @ H.T
