"""Deep (multi-layer) NMF: V ≈ W₁ W₂ … W_L H.

The model is linear in each factor with nonnegative coefficients, so the
multiplicative update of one factor with the others fixed is the usual
majorise-minimise step (Févotte & Idier 2011): writing the model as A Wₗ B,
Wₗ ← Wₗ ∘ (Aᵀ(V ∘ Λ^(β−2))Bᵀ / Aᵀ Λ^(β−1) Bᵀ)^γ. Updating every layer and
then H in turn never increases the loss. The layers are pre-trained one at a
time (V ≈ W₁H₁, H₁ ≈ W₂H₂, …), as in Cichocki & Zdunek's multilayer NMF
(:func:`dsp.nmf.init.initialize_layers`).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from .base import EPS, FLOOR, Solver, read_only
from .divergence import BETAS, beta_divergence, is_floor

__all__ = ["DeepSolver"]


class DeepSolver(Solver):
    """Multiplicative updates for every layer of V ≈ W₁ … W_L H.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
    layers : list of np.ndarray
        W₁ (m × r₁), …, W_L (r_{L−1} × k).
    H : np.ndarray, (k, n)
    beta : {2.0, 1.0, 0.0}

    Attributes
    ----------
    layers : tuple of np.ndarray
        The factors W₁ … W_L (read-only); their product is :attr:`W`.
    """

    def __init__(
        self, V: np.ndarray, layers: list[np.ndarray], H: np.ndarray, *, beta: float
    ) -> None:
        if beta not in BETAS.values():
            raise ValueError(f"beta must be one of {sorted(BETAS.values())}, got {beta}")
        if not layers:
            raise ValueError("deep NMF needs at least one layer")
        self.beta = float(beta)
        self._gamma = 0.5 if self.beta == 0.0 else 1.0
        if self.beta == 0.0:
            self._eps = is_floor(V)
            V = V + self._eps
        self._layers = [np.maximum(np.asarray(W, dtype=np.float32), FLOOR) for W in layers]
        super().__init__(V, self._product(), H)

    @property
    def layers(self) -> tuple[np.ndarray, ...]:
        """W₁ … W_L, read-only views; ``reduce(np.matmul, layers) @ H`` is the model."""
        return tuple(read_only(W) for W in self._layers)

    def _product(self, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        factors = self._layers[start:stop]
        return reduce(np.matmul, factors) if factors else None

    def _terms(self) -> tuple[np.ndarray, np.ndarray | None]:
        """V ∘ Λ^(β−2) and Λ^(β−1) for the current model Λ (None stands for ones)."""
        model = self._W @ self._H
        if self.beta == 2.0:
            return self.V, model
        if self.beta == 1.0:
            np.maximum(model, EPS, out=model)
            return self.V / model, None
        model += self._eps
        return self.V / np.square(model), np.reciprocal(model)

    def _iterate(self) -> float:
        for depth, layer in enumerate(self._layers):
            R, D = self._terms()
            left = self._product(0, depth)
            right = self._product(depth + 1)
            right = self._H if right is None else right @ self._H
            numer = R @ right.T
            if D is None:
                denom = np.broadcast_to(right.sum(axis=1), numer.shape)
            else:
                denom = D @ right.T
            if left is not None:
                numer = left.T @ numer
                denom = left.T @ denom
            self._multiply(layer, numer, denom)
            self._W = self._product()
        R, D = self._terms()
        numer = self._W.T @ R
        denom = self._W.sum(axis=0)[:, None] if D is None else self._W.T @ D
        self._multiply(self._H, numer, denom)
        return self._loss()

    def _multiply(self, X: np.ndarray, numer: np.ndarray, denom: np.ndarray) -> None:
        ratio = numer / np.maximum(denom, EPS)
        if self._gamma != 1.0:
            np.sqrt(ratio, out=ratio)
        X *= ratio
        np.maximum(X, FLOOR, out=X)

    def _loss(self) -> float:
        model = self._W @ self._H
        if self.beta == 0.0:
            model += self._eps
        return beta_divergence(self.V, model, self.beta)
