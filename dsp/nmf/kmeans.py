"""k-means as one-hot NMF: every column of H has exactly one nonzero entry.

Each frame v_j is modelled as h_j · w_c, one template times a gain, which is
k-means with a free gain per frame (gain–shape clustering), so loud and quiet
frames of the same sound share a cluster. For every β the best gain and the
best template have closed forms, so both half-steps are exact minimisations
and the loss never increases:

- assignment: for each frame and each template the best gain (Euclidean
  wᵀv / wᵀw, KL Σv / Σw, IS mean(v / w)), then the template with least loss;
- templates: Euclidean Σ h_j v_j / Σ h_j², KL Σ v_j / Σ h_j, IS mean(v_j / h_j)
  over the frames of the cluster. A cluster left empty takes the frame that
  is worst explained, which can only lower the loss at the next assignment.
"""

from __future__ import annotations

import numpy as np

from .base import EPS, FLOOR, Solver, component_mask
from .divergence import BETAS, beta_divergence, is_floor

__all__ = ["KMeansSolver", "one_hot"]


def one_hot(H: np.ndarray) -> np.ndarray:
    """Keep the largest entry of each column of H and zero the rest (float32)."""
    H = np.asarray(H, dtype=np.float32)
    out = np.zeros_like(H)
    rows = np.argmax(H, axis=0)
    columns = np.arange(H.shape[1])
    out[rows, columns] = np.maximum(H[rows, columns], FLOOR)
    return out


class KMeansSolver(Solver):
    """Hard clustering of frames behind the solver protocol.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
    W : np.ndarray, (m, k)
        Initial templates (cluster centres).
    H : np.ndarray, (k, n), optional
        Initial gains; reduced to one nonzero per column. Without it the first
        assignment is made from W.
    beta : {2.0, 1.0, 0.0}
    lock_W : sequence of int or boolean mask, optional
        Templates that stay fixed (frames can still be assigned to them).

    Attributes
    ----------
    labels : np.ndarray, int, (n,)
        The cluster of every frame.
    """

    _H_floor = 0.0

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray | None = None,
        *,
        beta: float,
        lock_W=None,
    ) -> None:
        if beta not in BETAS.values():
            raise ValueError(f"beta must be one of {sorted(BETAS.values())}, got {beta}")
        self.beta = float(beta)
        if self.beta == 0.0:
            V = np.maximum(V, is_floor(V))
        self.V = V
        W = np.maximum(np.asarray(W, dtype=np.float32), FLOOR)
        H = self._assign(W) if H is None else one_hot(H)
        super().__init__(V, W, H, lock_W=lock_W)

    @property
    def labels(self) -> np.ndarray:
        """Cluster index of every frame, int (n,)."""
        return np.argmax(self._H, axis=0)

    def set_locks(self, *, W=None, H=None) -> None:
        """Freeze or release templates; see :meth:`Solver.set_locks`.

        Raises
        ------
        ValueError
            If activation rows are given: a one-hot H has no rows to freeze.
        """
        if H is not None and component_mask(H, self.n_components, "lock_H").any():
            raise ValueError("k-means cannot lock rows of H; lock templates (lock_W) instead")
        super().set_locks(W=W)

    def _assign(self, W: np.ndarray) -> np.ndarray:
        """The best template and gain for every frame, as a one-hot H."""
        V, beta = self.V, self.beta
        m, n = V.shape
        if beta == 2.0:
            energy = np.maximum(np.square(W).sum(axis=0), EPS)[:, None]
            fit = W.T @ V
            label = np.argmax(fit * fit / energy, axis=0)
            gain = fit[label, np.arange(n)] / energy[label, 0]
        elif beta == 1.0:
            mass = W.sum(axis=0)
            cost = np.log(mass)[:, None] * V.sum(axis=0) - np.log(W).T @ V
            label = np.argmin(cost, axis=0)
            gain = V.sum(axis=0) / mass[label]
        else:
            ratios = (1.0 / W).T @ V
            cost = np.log(W).sum(axis=0)[:, None] + m * np.log(np.maximum(ratios / m, EPS))
            label = np.argmin(cost, axis=0)
            gain = ratios[label, np.arange(n)] / m
        H = np.zeros((W.shape[1], n), dtype=np.float32)
        H[label, np.arange(n)] = np.maximum(gain, FLOOR)
        return H

    def _iterate(self) -> float:
        self._H[:] = self._assign(self._W)
        H, V = self._H, self.V
        member = (H > 0).astype(np.float32)
        count = member.sum(axis=1)
        if self.beta == 2.0:
            W = (V @ H.T) / np.maximum(np.square(H).sum(axis=1), EPS)
        elif self.beta == 1.0:
            W = (V @ member.T) / np.maximum(H.sum(axis=1), EPS)
        else:
            inverse = np.divide(member, H, out=np.zeros_like(H), where=H > 0)
            W = (V @ inverse.T) / np.maximum(count, 1.0)
        empty = np.flatnonzero((count == 0) & ~self._lock_W)
        if empty.size:
            worst = np.argsort(self._frame_losses())[::-1][: empty.size]
            W[:, empty[: worst.size]] = V[:, worst]
        np.maximum(W, FLOOR, out=W)
        self._W[:] = W
        self._restore_W()
        return self._loss()

    def _frame_losses(self) -> np.ndarray:
        """Loss of every frame under the current model, float64 (n,)."""
        V = self.V.astype(np.float64)
        model = np.maximum(self._W @ self._H, EPS).astype(np.float64)
        if self.beta == 2.0:
            return 0.5 * np.square(V - model).sum(axis=0)
        if self.beta == 1.0:
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(V > 0, V * np.log(V / model), 0.0)
            return (term - V + model).sum(axis=0)
        ratio = V / model
        return (ratio - np.log(ratio) - 1.0).sum(axis=0)

    def _loss(self) -> float:
        return beta_divergence(self.V, self._W @ self._H, self.beta)
