"""The solver protocol shared by the GUI worker, the CLI, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Solver", "Result", "EPS", "FLOOR", "check_data"]

#: Floor on denominators: KL and IS divide by WH, which is zero on silent frames.
EPS = np.float32(1e-12)
#: Floor on the factors. Multiplicative updates drive entries towards float32
#: denormals, which make every later iteration many times slower; values this
#: small contribute nothing audible, so clamping them costs no accuracy.
FLOOR = np.float32(1e-15)


def check_data(V: np.ndarray, n_components: int) -> np.ndarray:
    """Validate and return V as C-contiguous float32.

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
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ValueError(f"n_components must be an integer, got {n_components!r}")
    if not 1 <= n_components <= min(V.shape):
        raise ValueError(
            f"n_components must be between 1 and {min(V.shape)} for a "
            f"{V.shape[0]} x {V.shape[1]} spectrogram, got {n_components}"
        )
    return V


class Solver:
    """One NMF run, advanced an iteration at a time.

    Subclasses implement :meth:`_iterate` (one update of W and H) and
    :meth:`_loss` (the objective for the current factors). No threads, no Qt:
    whoever drives the solver owns the thread.

    Attributes
    ----------
    V : np.ndarray, float32, (m, n)
    W : np.ndarray, float32, (m, k)
        Current templates (updated in place; copy before handing to another thread).
    H : np.ndarray, float32, (k, n)
        Current activations.
    losses : list of float
        The loss after every iteration so far.
    initial_loss : float
        The loss of the initial factors.
    """

    def __init__(self, V: np.ndarray, W: np.ndarray, H: np.ndarray) -> None:
        self.V = V
        self.W = np.ascontiguousarray(W, dtype=np.float32)
        self.H = np.ascontiguousarray(H, dtype=np.float32)
        np.maximum(self.W, FLOOR, out=self.W)
        np.maximum(self.H, FLOOR, out=self.H)
        self.losses: list[float] = []
        self.initial_loss = float(self._loss())

    @property
    def n_components(self) -> int:
        """Rank k."""
        return self.W.shape[1]

    @property
    def n_iter(self) -> int:
        """Iterations done so far."""
        return len(self.losses)

    def step(self, n: int = 1) -> float:
        """Run ``n`` iterations and return the loss after the last one."""
        for _ in range(n):
            self._iterate()
            self.losses.append(float(self._loss()))
        return self.losses[-1] if self.losses else self.initial_loss

    def reconstruction(self) -> np.ndarray:
        """W @ H, float32 (m, n)."""
        return self.W @ self.H

    def _iterate(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Result:
    """Outcome of :func:`dsp.nmf.factorize`."""

    W: np.ndarray
    H: np.ndarray
    losses: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
