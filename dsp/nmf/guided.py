"""Kullback–Leibler NMF steered by paint: posterior-regularized multiplicative updates.

Every component belongs to a source, and paint gives each source s a weight
A_s(f, t) in every cell (:func:`dsp.guide.source_weights`: 1 where nobody
painted, e^{−λ c} where another source was painted with confidence c). KL
NMF is the EM algorithm of a model that shares each cell's magnitude V_ft
among the components in proportion to W_fk H_kt; posterior regularization
(Ganchev et al.; Bryan & Mysore's interactive separation) shares it in
proportion to A_s(k) W_fk H_kt instead, so the paint decides who takes a
painted cell while unpainted cells follow the ordinary factorization. The
updates

    H_s ← H_s ∘ W_sᵀ(A_s ∘ V / Z) / W_sᵀ 1
    W_s ← W_s ∘ (A_s ∘ V / Z) H_sᵀ / 1 H_sᵀ,     Z = Σ_s A_s ∘ W_s H_s

are the majorize–minimize steps of

    G(W, H) = Σ_ft [ V log(V / Z) − V + (W H) ],

which they never increase for fixed paint (Jensen's inequality on log Z, as
for Lee and Seung's KL updates; with no paint Z = W H and G is the KL
divergence). The multichannel model's channel gains, when a run has them,
are held as they are: W H models the channels' mean, which is the V here.
"""

from __future__ import annotations

import numpy as np

from .base import FLOOR, Solver, read_only

__all__ = ["GuidedSolver"]

#: Frames per block: the per-source products and weights of one block stay
#: in cache-sized pieces instead of whole (bins, frames) arrays per source.
BLOCK_FRAMES = 2048
#: Floor on Z, which only a cell every source's weight has driven to nothing reaches.
TINY = np.float32(1e-35)


class GuidedSolver(Solver):
    """Multiplicative KL updates of V ≈ W H with paint steering which source takes each cell.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
        Magnitude (the channels' mean for multichannel audio).
    W : np.ndarray, (m, k)
    H : np.ndarray, (k, n)
        Starting factors: a run to continue (the unguided factorization).
    weights : np.ndarray, float32, (sources, m, n)
        Each source's weight in every cell (:func:`dsp.guide.source_weights`).
    sources : np.ndarray, int, (k,)
        The source of every component (an index into ``weights``).
    lock_W, lock_H : optional
        Components whose template / activation stays bit-identical.
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gains, carried unchanged.
    """

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray,
        weights: np.ndarray,
        sources: np.ndarray,
        *,
        lock_W=None,
        lock_H=None,
        channel_gains: np.ndarray | None = None,
    ) -> None:
        weights = np.asarray(weights, dtype=np.float32)
        sources = np.asarray(sources, dtype=np.intp)
        if weights.ndim != 3 or weights.shape[1:] != V.shape:
            raise ValueError(f"guide weights {weights.shape} do not fit V {V.shape}")
        if sources.shape != (np.shape(W)[1],) or not np.isin(sources, range(len(weights))).all():
            raise ValueError(
                f"component sources {sources.tolist()} must give each of the {np.shape(W)[1]} "
                f"components one of the {len(weights)} sources"
            )
        self._weights = weights
        self._members = [np.flatnonzero(sources == s) for s in range(len(weights))]
        self._gains = None if channel_gains is None else np.array(channel_gains, np.float32)
        V64 = V.astype(np.float64)
        positive = V64 > 0
        # Σ V log V − V: the part of G that does not depend on the factors.
        self._constant = float(np.sum(V64[positive] * np.log(V64[positive])) - V64.sum())
        super().__init__(V, W, H, lock_W=lock_W, lock_H=lock_H)

    @property
    def channel_gains(self) -> np.ndarray | None:
        """The multichannel model's gains (channels, k), unchanged by the guided run."""
        return None if self._gains is None else read_only(self._gains)

    def _blocks(self):
        n = self.V.shape[1]
        return (slice(start, min(start + BLOCK_FRAMES, n)) for start in range(0, n, BLOCK_FRAMES))

    def _shares(self, block: slice) -> tuple[list[np.ndarray], np.ndarray]:
        """Per source A_s ∘ W_s H_s on ``block`` and their sum Z (floored)."""
        parts = [
            self._weights[s, :, block] * (self._W[:, m] @ self._H[m, block])
            for s, m in enumerate(self._members)
        ]
        Z = np.maximum(np.sum(parts, axis=0), TINY)
        return parts, Z

    def _weighted_ratios(self, block: slice) -> list[np.ndarray]:
        """A_s ∘ V / Z on ``block``, for every source."""
        _, Z = self._shares(block)
        ratio = self.V[:, block] / Z
        return [self._weights[s, :, block] * ratio for s in range(len(self._members))]

    def _iterate(self) -> float:
        W, H = self._W, self._H
        for block in self._blocks():
            for members, R in zip(self._members, self._weighted_ratios(block)):
                W_s = W[:, members]
                H[members, block] *= (W_s.T @ R) / np.maximum(W_s.sum(axis=0), FLOOR)[:, None]
        np.maximum(H, FLOOR, out=H)
        self._restore_H()
        numerator = np.zeros_like(W)
        for block in self._blocks():
            for members, R in zip(self._members, self._weighted_ratios(block)):
                numerator[:, members] += R @ H[members, block].T
        W *= numerator / np.maximum(H.sum(axis=1), FLOOR)[None]
        np.maximum(W, FLOOR, out=W)
        self._restore_W()
        return self._loss()

    def _loss(self) -> float:
        fit = 0.0
        for block in self._blocks():
            _, Z = self._shares(block)
            V = self.V[:, block]
            fit -= float(np.sum(V * np.log(Z), dtype=np.float64))
        model = float(self._W.sum(axis=0, dtype=np.float64) @ self._H.sum(axis=1, dtype=np.float64))
        return self._constant + fit + model
