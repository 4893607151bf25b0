"""Nonnegative matrix factorization V ≈ W H behind one stepping protocol.

>>> solver = make_solver(V, n_components=8, loss="kl", seed=0)
>>> solver.step(10)          # ten iterations, returns the last loss
>>> solver.W, solver.H       # current factors
>>> result = factorize(V, n_components=8, loss="kl", max_iter=200, tol=1e-4)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import EPS, FLOOR, Result, Solver, check_data
from .init import INITS, initialize
from .mu import BETAS, MUSolver, beta_divergence

__all__ = [
    "ALGORITHMS",
    "BETAS",
    "EPS",
    "FLOOR",
    "INITS",
    "LOSSES",
    "Result",
    "Solver",
    "beta_divergence",
    "factorize",
    "initialize",
    "make_solver",
]

LOSSES = tuple(BETAS)
ALGORITHMS = ("mu",)


def make_solver(
    V: np.ndarray,
    n_components: int = 8,
    *,
    loss: str = "kl",
    algorithm: str = "mu",
    init: str = "nndsvda",
    seed: int | None = 0,
    W: np.ndarray | None = None,
    H: np.ndarray | None = None,
) -> Solver:
    """Create a solver for V ≈ W H, ready to :meth:`~Solver.step`.

    Parameters
    ----------
    V : np.ndarray, shape (m, n)
        Nonnegative data (a magnitude spectrogram); converted to float32.
    n_components : int
        Rank k, 1 <= k <= min(m, n).
    loss : {'euclidean', 'kl', 'is'}
        β-divergence to minimise.
    algorithm : {'mu'}
        Update rule.
    init : {'random', 'nndsvd', 'nndsvda'}
        Initialisation when W or H is not given.
    seed : int or None
        Seed of the random initialisation; the same seed gives identical results.
    W, H : np.ndarray, optional
        Starting factors (warm start); each replaces its initialisation.

    Raises
    ------
    ValueError
        For negative or non-finite V, an impossible rank, or an unknown option.
    """
    V = check_data(V, n_components)
    if loss not in BETAS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    W0, H0 = initialize(V, n_components, method=init, seed=seed)
    W0 = W0 if W is None else _checked_factor(W, W0.shape, "W")
    H0 = H0 if H is None else _checked_factor(H, H0.shape, "H")
    return MUSolver(V, W0, H0, beta=BETAS[loss])


def _checked_factor(X: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    X = np.array(X, dtype=np.float32)
    if X.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {X.shape}")
    if not np.isfinite(X).all() or X.min() < 0:
        raise ValueError(f"{name} must be finite and nonnegative")
    return X


def factorize(
    V: np.ndarray,
    n_components: int = 8,
    *,
    max_iter: int = 200,
    tol: float = 1e-4,
    callback: Callable[[Solver], bool | None] | None = None,
    **options,
) -> Result:
    """Run a solver until convergence or ``max_iter`` iterations.

    Converged means the loss fell by less than ``tol`` times the initial loss
    over the last 10 iterations (scikit-learn's rule). ``callback(solver)`` is
    called after every iteration; returning True stops the run early.
    ``options`` are those of :func:`make_solver`.
    """
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    solver = make_solver(V, n_components, **options)
    converged = False
    check_every = 10
    previous = solver.initial_loss
    for i in range(1, max_iter + 1):
        loss = solver.step()
        if callback is not None and callback(solver):
            break
        if tol > 0 and i % check_every == 0:
            if (previous - loss) < tol * max(solver.initial_loss, np.finfo(np.float32).tiny):
                converged = True
                break
            previous = loss
    return Result(solver.W, solver.H, list(solver.losses), solver.n_iter, converged)
