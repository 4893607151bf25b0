"""The solver protocol shared by the GUI worker, the CLI, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Solver", "Result", "EPS", "FLOOR", "check_data", "check_rank", "component_mask"]

#: Floor on denominators that can vanish (sums over a zero template, the model
#: WH for Itakura–Saito, which divides by its square).
EPS = np.float32(1e-12)
#: Floor on the factors. Multiplicative updates drive entries towards float32
#: denormals, which make every later iteration many times slower; values this
#: small contribute nothing audible, so clamping them costs no accuracy. It also
#: keeps every entry of WH at least FLOOR² = 1e-30, a normal float32, so the KL
#: ratio V / WH never divides by zero and needs no floor of its own.
FLOOR = np.float32(1e-15)


def check_data(V: np.ndarray, n_components: int) -> np.ndarray:
    """Validate and return V as C-contiguous float32.

    Parameters
    ----------
    V : array_like, shape (m, n)
        Nonnegative data.
    n_components : int
        Rank k of the factorization.

    Returns
    -------
    np.ndarray, float32, shape (m, n)

    Raises
    ------
    ValueError
        If V is not a finite, nonnegative 2-D array or ``n_components`` is not
        between 1 and ``min(V.shape)``.
    """
    V = np.ascontiguousarray(V, dtype=np.float32)
    if V.ndim != 2 or V.size == 0:
        raise ValueError(f"V must be a non-empty 2-D array, got shape {V.shape}")
    if not np.isfinite(V).all():
        raise ValueError("V contains NaN or infinite values")
    if V.min() < 0:
        raise ValueError(f"V must be nonnegative; its minimum is {float(V.min()):g}")
    check_rank(n_components, V.shape, "n_components", "spectrogram")
    return V


def check_rank(rank, shape: tuple[int, int], name: str, what: str) -> None:
    """Refuse a ``rank`` that is not an integer in 1..min(shape) for an m × n ``what``.

    Raises
    ------
    ValueError
        Naming ``name``, the bound and the shape.
    """
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {rank!r}")
    if not 1 <= rank <= min(shape):
        raise ValueError(
            f"{name} must be between 1 and {min(shape)} for a {shape[0]} x {shape[1]} {what}, "
            f"got {rank}"
        )


def component_mask(lock, n_components: int, name: str) -> np.ndarray:
    """Boolean mask of length k from None, a boolean mask or component indices.

    Raises
    ------
    ValueError
        If a mask has the wrong length or an index is out of range.
    """
    mask = np.zeros(n_components, dtype=bool)
    if lock is None:
        return mask
    lock = np.asarray(lock)
    if lock.dtype == bool:
        if lock.shape != (n_components,):
            raise ValueError(
                f"{name} mask must have {n_components} entries, got shape {lock.shape}"
            )
        return lock.copy()
    if lock.size and not np.issubdtype(lock.dtype, np.integer):
        raise ValueError(f"{name} must be component indices or a boolean mask, got {lock!r}")
    indices = lock.astype(int).ravel()
    if indices.size and (indices.min() < -n_components or indices.max() >= n_components):
        raise ValueError(f"{name} index out of range for {n_components} components: {lock!r}")
    mask[indices] = True
    return mask


def read_only(X: np.ndarray) -> np.ndarray:
    """A view of X that cannot be written through."""
    view = X.view()
    view.flags.writeable = False
    return view


class Solver:
    """One NMF run, advanced an iteration at a time.

    Subclasses implement :meth:`_iterate` (one update of W and H, returning the
    objective after it) and :meth:`_loss` (the objective of the current
    factors). No threads, no Qt: whoever drives the solver owns the thread.

    Attributes
    ----------
    V : np.ndarray, float32, (m, n)
    W : np.ndarray, float32, (m, k)
        Current templates, a read-only view: the solver caches products of its
        factors, so edits go through a new solver started from ``W=``/``H=``.
    H : np.ndarray, float32, (k, n)
        Current activations, a read-only view.
    losses : list of float
        The objective (divergence plus any penalty) after every iteration so far.
    initial_loss : float
        The objective of the initial factors.
    """

    #: Floor on H at construction; one-hot solvers need exact zeros in H.
    _H_floor = FLOOR

    def __init__(
        self, V: np.ndarray, W: np.ndarray, H: np.ndarray, *, lock_W=None, lock_H=None
    ) -> None:
        self.V = V
        self._W = np.array(W, dtype=np.float32, order="C")
        self._H = np.array(H, dtype=np.float32, order="C")
        np.maximum(self._W, FLOOR, out=self._W)
        np.maximum(self._H, self._H_floor, out=self._H)
        k = self._W.shape[1]
        self._lock_W = np.zeros(k, dtype=bool)
        self._lock_H = np.zeros(k, dtype=bool)
        self.set_locks(W=lock_W, H=lock_H)
        self.losses: list[float] = []
        self.initial_loss = float(self._loss())

    @property
    def W(self) -> np.ndarray:
        """Templates (m, k), float32, read-only."""
        return read_only(self._W)

    @property
    def H(self) -> np.ndarray:
        """Activations (k, n), float32, read-only."""
        return read_only(self._H)

    @property
    def channel_gains(self) -> np.ndarray | None:
        """Gain of every component in every channel (channels, k), or None for one V.

        Only the multichannel model (:class:`~dsp.nmf.spatial.SpatialSolver`) has them.
        """
        return None

    @property
    def n_components(self) -> int:
        """Rank k."""
        return self._H.shape[0]

    @property
    def n_iter(self) -> int:
        """Iterations done so far."""
        return len(self.losses)

    @property
    def locked_W(self) -> np.ndarray:
        """Boolean mask (k,) of the template columns that do not change."""
        return self._lock_W.copy()

    @property
    def locked_H(self) -> np.ndarray:
        """Boolean mask (k,) of the activation rows that do not change."""
        return self._lock_H.copy()

    def set_locks(self, *, W=None, H=None) -> None:
        """Freeze or release template columns and activation rows between steps.

        Parameters
        ----------
        W, H : sequence of int, boolean mask of length k, or None
            Components whose template (W) or activation (H) must stay
            bit-identical from now on. ``None`` leaves that side as it is; an
            empty list releases every lock on that side.
        """
        k = self.n_components
        if W is not None:
            self._lock_W = component_mask(W, k, "lock_W")
            self._W_frozen = self._W[:, self._lock_W].copy()
        if H is not None:
            self._lock_H = component_mask(H, k, "lock_H")
            self._H_frozen = self._H[self._lock_H].copy()

    def step(self, n: int = 1) -> float:
        """Run ``n`` iterations and return the objective after the last one.

        Parameters
        ----------
        n : int
            Number of iterations, >= 0.

        Returns
        -------
        float
            The last entry of :attr:`losses` (the initial loss if none yet).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a nonnegative integer, got {n!r}")
        for _ in range(n):
            self.losses.append(float(self._iterate()))
        return self.losses[-1] if self.losses else self.initial_loss

    def reconstruction(self) -> np.ndarray:
        """The model W @ H, float32 (m, n)."""
        return self._W @ self._H

    def _restore_W(self) -> None:
        """Put the locked template columns back, bit for bit."""
        if self._lock_W.any():
            self._W[:, self._lock_W] = self._W_frozen

    def _restore_H(self) -> None:
        """Put the locked activation rows back, bit for bit."""
        if self._lock_H.any():
            self._H[self._lock_H] = self._H_frozen

    def _iterate(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Result:
    """Outcome of :func:`dsp.nmf.factorize`.

    Attributes
    ----------
    W : np.ndarray, float32, (m, k)
    H : np.ndarray, float32, (k, n)
    losses : list of float
        Objective after every iteration.
    n_iter : int
    converged : bool
        True when the run stopped because the loss stopped falling.
    channel_gains : np.ndarray, float32, (channels, k), or None
        The multichannel model's gains (:attr:`Solver.channel_gains`).
    """

    W: np.ndarray
    H: np.ndarray
    losses: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    channel_gains: np.ndarray | None = None
