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

Paint covers few cells, and a source's weight is 1 wherever nobody painted
(the weights are scaled per cell so the largest is 1). So the solver keeps
the weights of the painted cells only (:class:`CellWeights`): W H, V / Z and
the dense products are those of plain KL MU on the unpainted cells, and the
painted cells add a part of their own — Z there, and each source's A_s V / Z
— gathered per component with ``bincount``. An iteration then costs a few matrix products
over V, whatever the number of sources, instead of a pass per source.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .base import FLOOR, Solver, read_only

__all__ = ["CellWeights", "GuidedSolver"]

#: Floor on Z, which only a cell every source's weight has driven to nothing reaches.
TINY = np.float32(1e-35)


@dataclass(frozen=True)
class CellWeights:
    """Every source's weight on the painted cells; 1 on every other cell.

    Attributes
    ----------
    shape : tuple of int
        (m, n) of V.
    rows, cols : np.ndarray, int, (c,)
        The painted cells.
    values : np.ndarray, float32, (sources, c)
        Each source's weight A_s on each of them.
    """

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    @classmethod
    def of_dense(cls, weights: np.ndarray) -> CellWeights:
        """The cells of (sources, m, n) weights where some source's weight is not 1."""
        weights = np.asarray(weights, dtype=np.float32)
        rows, cols = np.nonzero((weights != 1.0).any(axis=0))
        return cls(weights.shape[1:], rows, cols, weights[:, rows, cols])

    @property
    def n_sources(self) -> int:
        """Number of sources."""
        return len(self.values)

    def dense(self) -> np.ndarray:
        """The weights as a (sources, m, n) array."""
        weights = np.ones((self.n_sources, *self.shape), np.float32)
        weights[:, self.rows, self.cols] = self.values
        return weights

    @cached_property
    def by_row(self):
        """Sparse (m, c): Σ over the cells of each row, as one product (``by_row @ X``)."""
        return _binning(self.rows, self.shape[0])

    @cached_property
    def by_col(self):
        """Sparse (n, c): Σ over the cells of each column."""
        return _binning(self.cols, self.shape[1])


def _binning(index: np.ndarray, length: int):
    from scipy import sparse

    count = len(index)
    return sparse.csr_matrix((np.ones(count, np.float32), (index, np.arange(count))),
                             shape=(length, count))


class GuidedSolver(Solver):
    """Multiplicative KL updates of V ≈ W H with paint steering which source takes each cell.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
        Magnitude (the channels' mean for multichannel audio).
    W : np.ndarray, (m, k)
    H : np.ndarray, (k, n)
        Starting factors: a run to continue (the unguided factorization).
    weights : CellWeights, or np.ndarray, float32, (sources, m, n), or None
        Each source's weight in every cell (:func:`dsp.guide.source_weights`,
        or :meth:`dsp.guide.Steering.cell_weights` for the painted cells
        only). None: no paint (every weight 1, KL MU).
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
        weights,
        sources: np.ndarray,
        *,
        lock_W=None,
        lock_H=None,
        channel_gains: np.ndarray | None = None,
    ) -> None:
        self._weights, self._members = _checked_steering(weights, sources, V.shape, np.shape(W)[1])
        self._membership = _membership(self._members, np.shape(W)[1])
        self._last_model = None  # W H and Z of the factors as the last iteration left them
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

    def steer(self, weights, sources=None) -> None:
        """Steer by new paint from the next iteration on; safe to call from any thread.

        The arrays are checked here, in the caller's thread, and replace the
        current ones whole at the start of the next iteration (a later call
        before then wins): the solver never reads an array while it changes.
        The loss history jumps at that iteration (G is taken with the new
        weights) and then never increases again for as long as they hold.

        Parameters
        ----------
        weights : CellWeights, np.ndarray (sources, m, n), or None
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
            self._membership = _membership(self._members, self.n_components)
            self._last_model = None

    def _model(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(Z floored, densely; A_s W_s H_s on the painted cells (sources, c); Z there)."""
        W, H, cells = self._W, self._H, self._weights
        Z = W @ H
        if cells is None:
            return np.maximum(Z, TINY, out=Z), None, None
        products = W[cells.rows] * H[:, cells.cols].T  # (c, k): W_fk H_kt on each cell
        parts = (products @ self._membership).T * cells.values
        painted = np.maximum(parts.sum(axis=0), TINY)
        np.maximum(Z, TINY, out=Z)
        Z[cells.rows, cells.cols] = painted
        return Z, parts, painted

    def _ratios(self, model=None) -> tuple[np.ndarray, np.ndarray | None]:
        """V / Z off the painted cells (0 on them), and A_s V / Z on them (sources, c).

        The painted cells are left out of the dense ratio rather than
        corrected: where a painted source's own share is small, V / Z is large
        and a correction would cancel it in float32. ``model``: the factors'
        :meth:`_model`, when the last loss already made it.
        """
        Z, _, painted = model or self._model()
        Q = np.divide(self.V, Z, out=Z)
        if painted is None:
            return Q, None
        cells = self._weights
        on_cells = Q[cells.rows, cells.cols]
        Q[cells.rows, cells.cols] = 0.0
        return Q, cells.values * on_cells

    def _painted_terms(self, binning, extra: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Σ over the painted cells of factor ∘ A_s V / Z, per component, binned: (bins, k).

        ``factor`` is (c, k): the other factor on each cell (W for the H
        step, H for the W step); ``binning`` sums the cells of each column
        (H step) or row (W step) of V.
        """
        factor *= extra.T @ self._membership.T  # each component's A_s V / Z on each cell
        return binning @ factor

    def _iterate(self) -> float:
        self._take_steering()
        W, H, cells = self._W, self._H, self._weights
        # The last iteration's loss modelled these very factors with these weights.
        model, self._last_model = self._last_model, None
        Q, extra = self._ratios(model)
        numerator = W.T @ Q
        if extra is not None:
            numerator += self._painted_terms(cells.by_col, extra, W[cells.rows]).T
        H *= numerator / np.maximum(W.sum(axis=0), FLOOR)[:, None]
        np.maximum(H, FLOOR, out=H)
        self._restore_H()
        Q, extra = self._ratios()
        numerator = Q @ H.T
        if extra is not None:
            numerator += self._painted_terms(cells.by_row, extra, H[:, cells.cols].T)
        W *= numerator / np.maximum(H.sum(axis=1), FLOOR)[None]
        np.maximum(W, FLOOR, out=W)
        self._restore_W()
        model = self._model()
        self._last_model = model  # the next iteration's first model: W and H stay as they are
        return self._loss(model[0])

    def _loss(self, Z: np.ndarray | None = None) -> float:  # noqa: N803
        log_Z = np.log(self._model()[0] if Z is None else Z)  # noqa: N806
        fit = -float(np.sum(self.V * log_Z, dtype=np.float64))
        model = float(self._W.sum(axis=0, dtype=np.float64) @ self._H.sum(axis=1, dtype=np.float64))
        return self._constant + fit + model


def _membership(members: list[np.ndarray], k: int) -> np.ndarray:
    """One-hot (k, sources), float32: component j belongs to source s."""
    membership = np.zeros((k, len(members)), np.float32)
    for s, m in enumerate(members):
        membership[m, s] = 1.0
    return membership


def _checked_steering(weights, sources, shape: tuple[int, int], k: int):
    """(CellWeights or None, every source's member components) for V of ``shape``.

    Raises
    ------
    ValueError
        If the weights are not (sources, m, n) for V, or ``sources`` does not
        give each of the k components one of them.
    """
    if weights is None:
        return None, [np.arange(k)]
    if not isinstance(weights, CellWeights):
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 3 or weights.shape[1:] != tuple(shape):
            raise ValueError(f"guide weights {weights.shape} do not fit V {tuple(shape)}")
        weights = CellWeights.of_dense(weights)
    elif tuple(weights.shape) != tuple(shape):
        raise ValueError(f"guide weights on {weights.shape} do not fit V {tuple(shape)}")
    sources = np.asarray(sources, dtype=np.intp)
    if sources.shape != (k,) or not np.isin(sources, range(weights.n_sources)).all():
        raise ValueError(
            f"component sources {sources.tolist()} must give each of the {k} "
            f"components one of the {weights.n_sources} sources"
        )
    return weights, [np.flatnonzero(sources == s) for s in range(weights.n_sources)]
