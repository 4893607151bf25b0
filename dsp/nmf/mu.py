"""Lee–Seung multiplicative updates for β-divergences (Euclidean, KL, Itakura–Saito)."""

from __future__ import annotations

import numpy as np

from .base import EPS, FLOOR, Solver

__all__ = ["MUSolver", "BETAS", "beta_divergence"]

#: Loss names and their β.
BETAS = {"euclidean": 2.0, "kl": 1.0, "is": 0.0}


def beta_divergence(V: np.ndarray, WH: np.ndarray, beta: float) -> float:
    """β-divergence D(V | WH) summed over all entries (½‖V−WH‖² for β=2).

    Zeros in V contribute their limit (0 · log 0 = 0); WH is floored at EPS.
    """
    V = V.astype(np.float64, copy=False)
    WH = np.maximum(WH, EPS).astype(np.float64, copy=False)
    if beta == 2.0:
        return 0.5 * float(np.sum((V - WH) ** 2))
    ratio = V / WH
    if beta == 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(V > 0, V * np.log(ratio), 0.0)
        return float(np.sum(term - V + WH))
    if beta == 0.0:
        ratio = np.maximum(ratio, EPS)
        return float(np.sum(ratio - np.log(ratio) - 1.0))
    raise ValueError(f"unsupported beta {beta}")


class MUSolver(Solver):
    """Multiplicative updates; the loss never increases from one iteration to the next.

    Parameters
    ----------
    V, W, H : np.ndarray, float32
        Data and initial factors.
    beta : {2.0, 1.0, 0.0}
        Euclidean, Kullback–Leibler or Itakura–Saito.
    """

    def __init__(self, V: np.ndarray, W: np.ndarray, H: np.ndarray, *, beta: float) -> None:
        if beta not in BETAS.values():
            raise ValueError(f"beta must be one of {sorted(BETAS.values())}, got {beta}")
        self.beta = float(beta)
        m, n = V.shape
        self._WH = np.empty((m, n), dtype=np.float32)
        self._R = np.empty((m, n), dtype=np.float32)
        super().__init__(V, W, H)

    def _iterate(self) -> None:
        self._update_H()
        self._update_W()

    def _ratio(self) -> tuple[np.ndarray, np.ndarray]:
        """Numerator and denominator matrices of the update: V·WH^(β−2), WH^(β−1)."""
        WH, R = self._WH, self._R
        np.matmul(self.W, self.H, out=WH)
        np.maximum(WH, EPS, out=WH)
        if self.beta == 1.0:
            np.divide(self.V, WH, out=R)
            return R, None
        # IS: numerator V / WH², denominator 1 / WH.
        np.multiply(WH, WH, out=R)
        np.divide(self.V, R, out=R)
        np.reciprocal(WH, out=WH)
        return R, WH

    def _update_H(self) -> None:
        W, H = self.W, self.H
        if self.beta == 2.0:
            # (WᵀW)H costs k²n, where Wᵀ(WH) would cost mnk.
            numer = W.T @ self.V
            denom = (W.T @ W) @ H
        else:
            R, D = self._ratio()
            numer = W.T @ R
            denom = W.sum(axis=0)[:, None] if D is None else W.T @ D
        H *= numer / np.maximum(denom, EPS)
        np.maximum(H, FLOOR, out=H)

    def _update_W(self) -> None:
        W, H = self.W, self.H
        if self.beta == 2.0:
            numer = self.V @ H.T
            denom = W @ (H @ H.T)
        else:
            R, D = self._ratio()
            numer = R @ H.T
            denom = H.sum(axis=1)[None, :] if D is None else D @ H.T
        W *= numer / np.maximum(denom, EPS)
        np.maximum(W, FLOOR, out=W)

    def _loss(self) -> float:
        np.matmul(self.W, self.H, out=self._WH)
        return beta_divergence(self.V, self._WH, self.beta)
