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
divergence).

On the multichannel model (:mod:`.spatial`, V_c ≈ W diag(q_c) H) the same
updates run on the channels stacked along frequency, with the stacked
templates W_s = [W diag(q_1); …]: a painted cell (f, t) is painted in every
channel, Z_c = Σ_s A_s W_s diag(q_c) H_s, and the templates' half-step is
split into W and, every few iterations, the gains Q, as in
:class:`~.spatial.SpatialSolver` (:class:`SpatialGuidedSolver`). Each is an
MM step of G summed over the channels, so it too never increases for fixed
paint, and paint does not throw the stereo image away.

Paint can change while the solver runs (:meth:`GuidedSolver.steer`, from any
thread): new weights take effect at the start of the next iteration, whole
arrays replacing whole arrays. G is then another function, so the loss
history jumps at that iteration — up or down — and from there on never
increases again until the paint changes once more. ``losses`` is always G of
the paint in force (KL where there is none).

Paint covers few cells, and a source's weight is 1 wherever nobody painted
(the weights are scaled per cell so the largest is 1). So the solver keeps
the weights of the painted cells only (:class:`CellWeights`). Off them the
updates are plain KL MU, which the fused KL pass of :mod:`.kernels` does on
its copy of V with the painted cells zeroed (:meth:`Pass.put_cells`: a zero
cell adds nothing to Wᵀ(V / WH), (V / WH)Hᵀ or Σ V log WH, and nothing is
subtracted, so no float32 cancellation). The painted cells add a part of
their own — Z there and each source's A_s V / Z, made by a numba loop over
the cells — to the H step's numerator as the pass's additive term and to
the W step's. An iteration is then one pass with the H step, the W step,
and a pass without ratios for the loss: about 1.5 blind KL iterations,
whatever the number of sources.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

from .base import EPS, FLOOR, Solver
from .divergence import sum_v_log
from .kernels import KLPass
from .spatial import ChannelStack

__all__ = ["CellWeights", "GuidedSolver", "SpatialGuidedSolver"]

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

    def stacked(self, channels: int) -> CellWeights:
        """The same weights in each of ``channels`` copies of the grid stacked along rows."""
        if channels == 1:
            return self
        m, n = self.shape
        rows = (self.rows[None] + m * np.arange(channels)[:, None]).ravel()
        return CellWeights((channels * m, n), rows, np.tile(self.cols, channels),
                           np.tile(self.values, (1, channels)))


@njit(nogil=True, cache=True)
def _painted_model(W, H, rows, cols, values, source_of, v_cells, Z, ratio):  # noqa: N803
    """On each painted cell: Z = Σ_s A_s W_s H_s (floored) and each source's A_s V / Z.

    One loop over the cells and the components, with no (cells, k) products
    made: the numpy form gathered W's rows and H's columns per cell first.
    """
    sources = values.shape[0]
    parts = np.empty(sources, np.float32)
    tiny = np.float32(TINY)
    for c in range(rows.size):
        r, t = rows[c], cols[c]
        parts[:] = 0.0
        for j in range(W.shape[1]):
            parts[source_of[j]] += W[r, j] * H[j, t]
        z = np.float32(0.0)
        for s in range(sources):
            z += parts[s] * values[s, c]
        z = max(z, tiny)
        Z[c] = z
        q = v_cells[c] / z
        for s in range(sources):
            ratio[s, c] = values[s, c] * q


@njit(nogil=True, cache=True)
def _add_painted_terms(W, H, rows, cols, ratio, source_of, out, h_step):  # noqa: N803
    """The painted cells' part of a step's numerator, added to ``out``.

    For every painted cell (f, t) and component j, with q = A_s(j) V / Z there:
    the H step (``h_step``) adds W_fj · q to out[j, t], the W step H_jt · q to out[f, j].
    """
    for c in range(rows.size):
        r, t = rows[c], cols[c]
        for j in range(W.shape[1]):
            q = ratio[source_of[j], c]
            if h_step:
                out[j, t] += W[r, j] * q
            else:
                out[r, j] += H[j, t] * q


class GuidedSolver(Solver):
    """Multiplicative KL updates of V ≈ W H with paint steering which source takes each cell.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
        Magnitude (the channels' mean when the channels are not modelled
        apart; :class:`SpatialGuidedSolver` models them).
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
    """

    #: The loss is the KL divergence (β = 1), steered.
    beta = 1.0
    #: Copies of the paint's grid stacked in V (:class:`SpatialGuidedSolver` has one a channel).
    _channels = 1

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
    ) -> None:
        self._weights, self._source_of = self._steering_of(weights, sources, V.shape,
                                                           np.shape(W)[1])
        # The fused KL pass over a copy of V whose painted cells are zero: its products
        # are those of the unpainted cells, and the painted ones are added apart.
        self._pass = KLPass(V, np.shape(W)[1])
        self._painted_in_pass: CellWeights | None = None
        self._no_terms: np.ndarray | None = None  # the H step's zero additive term, (k, n)
        self._take_cells(V)
        # A new steering waits here, under the lock, for the start of the next iteration.
        self._steering_lock = threading.Lock()
        self._next_steering: tuple | None = None
        # Σ V log V − V: the part of G that does not depend on the factors (in row chunks,
        # as the blind solver's: no float64 copy of V, 5 GB for an hour of stereo).
        self._constant = sum_v_log(V, V, floor=EPS) - float(V.sum(dtype=np.float64))
        super().__init__(V, W, H, lock_W=lock_W, lock_H=lock_H)

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
        steering = self._steering_of(weights, sources, self.V.shape, self.n_components)
        with self._steering_lock:
            self._next_steering = steering

    def _steering_of(self, weights, sources, shape: tuple[int, int], k: int):
        """:func:`_checked_steering` on the paint's grid, its cells in every stacked copy of V."""
        grid = (shape[0] // self._channels, shape[1])
        weights, source_of = _checked_steering(weights, sources, grid, k)
        return None if weights is None else weights.stacked(self._channels), source_of

    def _take_steering(self) -> None:
        with self._steering_lock:
            steering, self._next_steering = self._next_steering, None
        if steering is not None:
            self._weights, self._source_of = steering
            self._take_cells(self.V)

    def _take_cells(self, V: np.ndarray) -> None:  # noqa: N803
        """Give the pass's copy of V back the last painted cells' values, and zero the new ones."""
        old, new = self._painted_in_pass, self._weights
        if old is not None:
            self._pass.put_cells(old.rows, old.cols, self._v_cells)
        if new is not None:
            self._pass.put_cells(new.rows, new.cols, 0.0)
            self._v_cells = V[new.rows, new.cols]
            if self._no_terms is None:
                self._no_terms = np.zeros((len(self._source_of), V.shape[1]), np.float32)
        self._painted_in_pass = new
        self._cells_model = None

    def _painted(self) -> tuple[np.ndarray, np.ndarray]:
        """On the painted cells: Z (c,), floored, and each source's A_s V / Z (sources, c).

        The loss leaves them for the next H step, which models the same factors.
        """
        if self._cells_model is None:
            cells = self._weights
            Z = np.empty(len(cells.rows), np.float32)  # noqa: N806
            ratio = np.empty_like(cells.values)
            _painted_model(self._W, self._H, cells.rows, cells.cols, cells.values,
                           self._source_of, self._v_cells, Z, ratio)
            self._cells_model = Z, ratio
        return self._cells_model

    def _iterate(self) -> float:
        self._take_steering()
        W, H, cells = self._W, self._H, self._weights
        # The H step: Wᵀ(V / Z) off the painted cells in the pass, the painted cells'
        # part added to its numerator as the pass's additive term.
        terms = None
        if cells is not None:
            _, ratio = self._painted()
            painted = np.zeros_like(self._no_terms)
            _add_painted_terms(W, H, cells.rows, cells.cols, ratio, self._source_of, painted, True)
            terms = (self._no_terms, painted)
        _, numerator = self._pass.run(
            W, H, update_h=True, denom=np.maximum(W.sum(axis=0), FLOOR).astype(np.float32),
            continuity=terms, alpha=0.0 if terms is None else 1.0, locked=self._lock_H,
            free=np.flatnonzero(~self._lock_W),
        )
        self._restore_H()
        self._cells_model = None
        # The W step: the pass left (V / Z) Hᵀ off the painted cells for the new H.
        if cells is not None:
            _, ratio = self._painted()
            _add_painted_terms(W, H, cells.rows, cells.cols, ratio, self._source_of, numerator,
                               False)
        self._update_W(numerator, np.maximum(H.sum(axis=1), FLOOR)[None])
        self._cells_model = None
        return self._loss()

    def _update_W(self, numer: np.ndarray, denom: np.ndarray) -> None:  # noqa: N802
        """W ← W ∘ numer / denom: the W step of the numerator made for the new H."""
        W = self._W
        W *= numer / denom
        np.maximum(W, FLOOR, out=W)
        self._restore_W()

    def _loss(self) -> float:
        """G of the factors: Σ V log Z off the painted cells by a pass, on them apart."""
        v_log, _ = self._pass.run(self._W, self._H, update_h=False, free=np.empty(0, np.intp))
        if self._weights is not None:
            Z, _ = self._painted()  # noqa: N806
            v_log += float(np.dot(self._v_cells.astype(np.float64), np.log(Z.astype(np.float64))))
        model = float(self._W.sum(axis=0, dtype=np.float64) @ self._H.sum(axis=1, dtype=np.float64))
        return self._constant - v_log + model


def _checked_steering(weights, sources, shape: tuple[int, int], k: int):
    """(CellWeights or None, the source of every component, (k,)) for V of ``shape``.

    Raises
    ------
    ValueError
        If the weights are not (sources, m, n) for V, or ``sources`` does not
        give each of the k components one of them.
    """
    if weights is None:
        return None, np.zeros(k, np.intp)
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
    return weights, sources


class SpatialGuidedSolver(ChannelStack, GuidedSolver):
    """The steered updates of the multichannel model V_c ≈ W diag(q_c) H.

    As :class:`GuidedSolver`, on every channel's magnitude: the paint's
    cells are painted in every channel, and the templates' half-step
    alternates the templates and the channel gains as
    :class:`~.spatial.SpatialSolver`'s does, so a guided run keeps and keeps
    learning where each component sits in the stereo image.

    Parameters
    ----------
    V : np.ndarray, float32, (channels, m, n)
        Magnitude of every channel.
    W, H, weights, sources, lock_W, lock_H
        As :class:`GuidedSolver`'s; the weights are on the (m, n) grid. A
        locked template keeps its spectrum; its gains still change.
    channel_gains : np.ndarray, (channels, k), optional
        The gains of the run continued; by default ones.
    """

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray,
        weights,
        sources: np.ndarray,
        *,
        channel_gains: np.ndarray | None = None,
        lock_W=None,
        lock_H=None,
    ) -> None:
        stacked_V, stacked_W = self._stack_channels(V, W, channel_gains)
        super().__init__(stacked_V, stacked_W, H, weights, sources, lock_H=lock_H)
        self.set_locks(W=lock_W)
