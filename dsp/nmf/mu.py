"""Multiplicative updates for β-divergences (Euclidean, KL, Itakura–Saito).

Cost per iteration, m × n data and rank k:

- Euclidean: one pass over V in column blocks (:class:`.kernels.EuclideanPass`,
  multi-threaded) that makes WᵀV and (WᵀW)H for a block, its H update, and
  for the new H the block's HHᵀ and VHᵀ; then the W half-step (m × k, its
  products on one BLAS thread). The loss comes from the trace identity
  ‖V − WH‖² = ‖V‖² − 2⟨W, VHᵀ⟩ + ⟨WᵀW, HHᵀ⟩, reusing VHᵀ and HHᵀ, so it
  costs no pass over V; its WᵀW is the next H half-step's.
- KL: the W half-step (m × k, from the (V / WH)Hᵀ the last pass left), then
  one fused pass over V in cache-sized column blocks (:mod:`.kernels`,
  multi-threaded; no m × n work buffer, a copy of V stored block by block)
  that does the H half-step, which is
  independent per column, and, for the new factors, Σ V log WH for the loss
  and (V / WH)Hᵀ for the next W half-step. The other terms of the loss are
  constants or k-sized (Σ WH = colsum(W) · rowsum(H)).
- Itakura–Saito: fits V + ε with WH + ε (see :func:`is_floor`); the updates
  take the square root of the ratio, the exponent 1/(2 − β) for which
  Févotte & Idier (2011) prove the loss never increases; two m × n buffers.

Penalties: ``sparsity`` (λ‖H‖₁) and ``sparsity_W`` (μ‖W‖₁) keep the free
columns of W at unit norm with the updates of Le Roux, Weninger & Hershey
(2015), so that the penalty cannot be dodged by shrinking H and growing W;
``smoothness`` adds Virtanen's (2007) temporal continuity cost on H. The loss
then includes the penalties. Monotone decrease is proven only without them.
"""

from __future__ import annotations

import numpy as np

from .base import EPS, FLOOR, Solver, component_mask
from .divergence import BETAS, beta_divergence, is_floor, sum_squares, sum_v_log
from .kernels import (
    EuclideanPass,
    KLPass,
    cross_product,
    gram,
    inner,
    multiplicative_step,
    product,
    sums,
)
from .penalties import continuity_cost, continuity_terms, normalize_columns

__all__ = ["MUSolver"]


class MUSolver(Solver):
    """Multiplicative updates for the β-divergence with optional penalties.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
    W : np.ndarray, (m, k)
    H : np.ndarray, (k, n)
        Data and initial factors.
    beta : {2.0, 1.0, 0.0}
        Euclidean, Kullback–Leibler or Itakura–Saito.
    sparsity, sparsity_W : float
        L1 weights on H and on W (>= 0).
    smoothness : float
        Weight of the temporal continuity cost on H (>= 0).
    lock_W, lock_H : sequence of int or boolean mask, optional
        Components whose template or activation stays fixed.
    warm_start : bool
        W and H are where an earlier KL run stopped (it ended with an H step),
        so the first iteration continues with the W step that run would take;
        otherwise a KL run starts with an H step (see :meth:`_iterate_kl`).
    """

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray,
        *,
        beta: float,
        sparsity: float = 0.0,
        sparsity_W: float = 0.0,
        smoothness: float = 0.0,
        lock_W=None,
        lock_H=None,
        warm_start: bool = False,
    ) -> None:
        if beta not in BETAS.values():
            raise ValueError(f"beta must be one of {sorted(BETAS.values())}, got {beta}")
        self.beta = float(beta)
        self.sparsity = float(sparsity)
        self.sparsity_W = float(sparsity_W)
        self.smoothness = float(smoothness)
        self._normalize = self.sparsity > 0 or self.sparsity_W > 0
        self._warm_start = warm_start
        m, n = V.shape
        k = np.shape(W)[1]
        if self._normalize:
            # Start on the constraint set; moving the scale into H keeps WH.
            W = np.array(W, dtype=np.float32)
            H = np.array(H, dtype=np.float32)
            free = ~component_mask(lock_W, k, "lock_W")
            H *= normalize_columns(W, free)[:, None]
        if self.beta == 2.0:
            self._pass = EuclideanPass(V, k)
            self._WtW = np.empty((k, k), dtype=np.float32)
            self._half_V_sq = 0.5 * sum_squares(V)
        elif self.beta == 1.0:
            self._pass = KLPass(V, k)
            self._V_sum = float(V.sum(dtype=np.float64))
            self._V_log_V = sum_v_log(V, V, floor=EPS)
        else:
            self._eps = is_floor(V)
            V = V + self._eps
            self._WH = np.empty((m, n), dtype=np.float32)
            self._R = np.empty((m, n), dtype=np.float32)
        super().__init__(V, W, H, lock_W=lock_W, lock_H=lock_H)

    # -- the iteration ---------------------------------------------------------

    def _iterate(self) -> float:
        if self.beta == 2.0:
            return self._iterate_euclidean()
        if self.beta == 1.0:
            return self._iterate_kl()
        return self._iterate_is()

    def _iterate_euclidean(self) -> float:
        W, H = self._W, self._H
        # (WᵀW)H costs k²n, where Wᵀ(WH) would cost 2mnk; WᵀW is the last loss's.
        VHt, HHt = self._pass.run(
            W,
            H,
            self._WtW,
            sparsity=self.sparsity,
            continuity=continuity_terms(H) if self.smoothness else None,
            alpha=self.smoothness,
            locked=self._lock_H,
        )
        self._update_W(VHt, product(W, HHt))
        return self._euclidean_loss(VHt, HHt)

    def _iterate_kl(self) -> float:
        # An iteration is cut W | H, so that the pass doing the H step also
        # gives the loss of the factors after it; the W step takes the
        # numerator (V / WH)Hᵀ the last pass left. A fresh run's first
        # iteration starts with an H step of its own, so the half-steps run
        # H, W, H, W… from the initial factors (a W step fitted to an initial
        # H, not yet fitted to W, is a poor first move: measured on the demo).
        if not self.losses and not self._warm_start:
            self._kl_loss(update_h=True)
        self._update_W(self._VHt, np.broadcast_to(self._H_sums, self._W.shape))
        return self._kl_loss(update_h=True)

    def _iterate_is(self) -> float:
        W, H = self._W, self._H
        R, D = self._is_terms()
        self._update_H(W.T @ R, W.T @ D)
        R, D = self._is_terms()
        self._update_W(R @ H.T, D @ H.T)
        return self._loss()

    def _is_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """V / Λ² and 1 / Λ for the current model Λ = WH + ε."""
        WH, R = self._WH, self._R
        np.matmul(self._W, self._H, out=WH)
        WH += self._eps
        np.multiply(WH, WH, out=R)
        np.divide(self.V, R, out=R)
        np.reciprocal(WH, out=WH)
        return R, WH

    def _update_H(self, numer: np.ndarray, denom: np.ndarray) -> None:
        """The Itakura–Saito H half-step, H ← H ∘ (numer / denom)^½, with the penalties on H.

        ``numer`` is overwritten. Euclidean and KL make their H half-steps in
        their passes over V (:mod:`.kernels`).
        """
        H = self._H
        if self.sparsity:
            denom = denom + np.float32(self.sparsity)
        if self.smoothness:
            positive, negative = continuity_terms(H)
            alpha = np.float32(self.smoothness)
            numer += alpha * negative
            denom = denom + alpha * positive
        np.divide(numer, np.maximum(denom, EPS), out=numer)
        np.sqrt(numer, out=numer)
        H *= numer
        np.maximum(H, FLOOR, out=H)
        self._restore_H()

    # -- the W half-step, shared by every β ---------------------------------------

    def _update_W(self, numer: np.ndarray, denom: np.ndarray) -> None:
        """W ← W ∘ (numer / denom)^γ with the penalties on W; ``numer`` is kept."""
        W = self._W
        if self._normalize:
            # Le Roux et al.: the model is W̄H with W̄ = W / ‖W‖; the chain rule
            # through the norm adds these terms (W is unit-norm here).
            grow = W * (W * denom).sum(axis=0)
            shrink = W * (W * numer).sum(axis=0)
            numer, denom = numer + grow, denom + shrink
        if self.sparsity_W:
            denom = denom + np.float32(self.sparsity_W)
        if self.beta == 0.0:
            ratio = np.sqrt(numer / np.maximum(denom, EPS))
            W *= ratio
            np.maximum(W, FLOOR, out=W)
        else:
            multiplicative_step(W, numer, np.ascontiguousarray(denom))
        if self._normalize:
            normalize_columns(W, ~self._lock_W)
        self._restore_W()

    # -- the objective ---------------------------------------------------------

    def _penalty(self) -> float:
        total = 0.0
        if self.sparsity:
            total += self.sparsity * float(self._H.sum(dtype=np.float64))
        if self.sparsity_W:
            total += self.sparsity_W * float(self._W.sum(dtype=np.float64))
        if self.smoothness:
            total += self.smoothness * continuity_cost(self._H)
        return total

    def _euclidean_loss(self, VHt: np.ndarray, HHt: np.ndarray) -> float:
        """The loss by the trace identity; keeps WᵀW for the next H half-step."""
        W = self._W
        cross_product(W, self._WtW)
        # ⟨WᵀW, HHᵀ⟩ as Σ W ∘ (W HHᵀ): float32 sums over k terms, not over m.
        quad = inner(W, product(W, HHt))
        return max(self._half_V_sq - inner(W, VHt) + 0.5 * quad, 0.0) + self._penalty()

    def _kl_loss(self, *, update_h: bool = False) -> float:
        """KL after one fused pass, which first does the H half-step if ``update_h``.

        Keeps the pass's (V / WH)Hᵀ and the row sums of H for the next W half-step.
        """
        W, H = self._W, self._H
        W_sums = sums(W, axis=0)
        continuity = continuity_terms(H) if update_h and self.smoothness else None
        v_log_wh, self._VHt = self._pass.run(
            W,
            H,
            update_h=update_h,
            denom=(W_sums + self.sparsity).astype(np.float32),
            continuity=continuity,
            alpha=self.smoothness,
            locked=self._lock_H,
            free=np.flatnonzero(~self._lock_W),
        )
        H_sums = sums(H, axis=1)
        self._H_sums = H_sums.astype(np.float32)
        model_sum = float(W_sums @ H_sums)  # Σ WH
        divergence = self._V_log_V - v_log_wh - self._V_sum + model_sum
        return max(divergence, 0.0) + self._penalty()

    def _loss(self) -> float:
        if self.beta == 2.0:
            H = self._H
            return self._euclidean_loss(self.V @ H.T, gram(H))
        if self.beta == 1.0:
            return self._kl_loss()
        np.matmul(self._W, self._H, out=self._WH)
        self._WH += self._eps
        return beta_divergence(self.V, self._WH, 0.0) + self._penalty()
