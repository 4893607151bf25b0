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

Paint can change while the solver runs (:meth:`GuidedSolver.steer`, from any
thread): new weights take effect at the start of the next iteration, whole
arrays replacing whole arrays. G is then another function, so the loss
history jumps at that iteration — up or down — and from there on never
increases again until the paint changes once more. ``losses`` is always G of
the paint in force (KL where there is none).
"""

from __future__ import annotations

import threading

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
    weights : np.ndarray, float32, (sources, m, n), or None
        Each source's weight in every cell (:func:`dsp.guide.source_weights`);
        the solver keeps the array, so nobody may write to it afterwards.
        None: no paint (every weight 1, KL MU).
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
        self._weights, self._members = _checked_steering(weights, sources, V.shape, np.shape(W)[1])
        # A new steering waits here, under the lock, for the start of the next iteration.
        self._steering_lock = threading.Lock()
        self._next_steering: tuple | None = None
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

    def steer(self, weights: np.ndarray | None, sources=None) -> None:
        """Steer by new paint from the next iteration on; safe to call from any thread.

        The arrays are checked here, in the caller's thread, and replace the
        current ones whole at the start of the next iteration (a later call
        before then wins): the solver never reads an array while it changes.
        The loss history jumps at that iteration (G is taken with the new
        weights) and then never increases again for as long as they hold.

        Parameters
        ----------
        weights : np.ndarray, float32, (sources, m, n), or None
            As the constructor's (None: no paint); kept, not copied.
        sources : np.ndarray, int, (k,)
            The source of every component; unused without weights.

        Raises
        ------
        ValueError
            If the weights do not fit V or the sources do not index them.
        """
        steering = _checked_steering(weights, sources, self.V.shape, self.n_components)
        with self._steering_lock:
            self._next_steering = steering

    def _take_steering(self) -> None:
        with self._steering_lock:
            steering, self._next_steering = self._next_steering, None
        if steering is not None:
            self._weights, self._members = steering

    def _blocks(self):
        n = self.V.shape[1]
        return (slice(start, min(start + BLOCK_FRAMES, n)) for start in range(0, n, BLOCK_FRAMES))

    def _shares(self, block: slice) -> tuple[list[np.ndarray], np.ndarray]:
        """Per source A_s ∘ W_s H_s on ``block`` and their sum Z (floored)."""
        parts = [self._W[:, m] @ self._H[m, block] for m in self._members]
        if self._weights is not None:
            for s, part in enumerate(parts):
                part *= self._weights[s, :, block]
        Z = np.maximum(np.sum(parts, axis=0), TINY)
        return parts, Z

    def _weighted_ratios(self, block: slice) -> list[np.ndarray]:
        """A_s ∘ V / Z on ``block``, for every source."""
        _, Z = self._shares(block)
        ratio = self.V[:, block] / Z
        if self._weights is None:
            return [ratio]
        return [self._weights[s, :, block] * ratio for s in range(len(self._members))]

    def _iterate(self) -> float:
        self._take_steering()
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


def _checked_steering(weights, sources, shape: tuple[int, int], k: int):
    """(weights as float32 or None, every source's member components) for V of ``shape``.

    Raises
    ------
    ValueError
        If the weights are not (sources, m, n) for V, or ``sources`` does not
        give each of the k components one of them.
    """
    if weights is None:
        return None, [np.arange(k)]
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 3 or weights.shape[1:] != tuple(shape):
        raise ValueError(f"guide weights {weights.shape} do not fit V {tuple(shape)}")
    sources = np.asarray(sources, dtype=np.intp)
    if sources.shape != (k,) or not np.isin(sources, range(len(weights))).all():
        raise ValueError(
            f"component sources {sources.tolist()} must give each of the {k} "
            f"components one of the {len(weights)} sources"
        )
    return weights, [np.flatnonzero(sources == s) for s in range(len(weights))]
