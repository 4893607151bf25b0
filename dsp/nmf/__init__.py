"""Nonnegative matrix factorization V ≈ W H behind one stepping protocol.

>>> solver = make_solver(V, n_components=8, loss="kl", seed=0)
>>> solver.step(10)          # ten iterations, returns the last loss
>>> solver.W, solver.H       # current factors
>>> result = factorize(V, n_components=8, loss="kl", max_iter=200, tol=1e-4)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import EPS, FLOOR, Result, Solver, check_data, check_rank, component_mask
from .deep import DeepSolver
from .divergence import BETAS, beta_divergence
from .guided import CellWeights, GuidedSolver, SpatialGuidedSolver
from .hals import HALSSolver
from .init import INITS, SOLVER_INITS, Start, comb_init, initialize, start
from .kmeans import KMeansSolver
from .mu import MUSolver
from .penalties import check_weight
from .spatial import SpatialSolver, check_channel_gains, check_spatial_support

__all__ = [
    "ALGORITHMS",
    "BETAS",
    "EPS",
    "FLOOR",
    "INITS",
    "SOLVER_INITS",
    "LOSSES",
    "DeepSolver",
    "CellWeights",
    "GuidedSolver",
    "HALSSolver",
    "KMeansSolver",
    "MUSolver",
    "Result",
    "Solver",
    "SpatialGuidedSolver",
    "SpatialSolver",
    "Start",
    "beta_divergence",
    "comb_init",
    "factorize",
    "initialize",
    "make_solver",
    "start",
]

LOSSES = tuple(BETAS)
ALGORITHMS = ("mu", "hals", "kmeans", "deep")


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
    warm_start: bool = False,
    sparsity: float = 0.0,
    sparsity_W: float = 0.0,
    smoothness: float = 0.0,
    lock_W=None,
    lock_H=None,
    layers: tuple[int, ...] | None = None,
    rate: float | None = None,
    channel_gains: np.ndarray | None = None,
    source_weights: np.ndarray | None = None,
    component_sources: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
) -> Solver:
    """Create a solver for V ≈ W H, ready to :meth:`~Solver.step`.

    Parameters
    ----------
    V : np.ndarray, shape (m, n) or (channels, m, n)
        Nonnegative data (a magnitude spectrogram); converted to float32.
        With several channels the model is the multichannel one,
        V_c ≈ W diag(q_c) H (:class:`SpatialSolver`, 'mu' only, no L1
        penalty): W and H are shared, ``solver.channel_gains`` holds Q, and
        W H models the mean of the channels, from which the start is made.
        One channel is plain NMF.
    n_components : int
        Rank k, 1 <= k <= min(m, n).
    loss : {'euclidean', 'kl', 'is'}
        β-divergence to minimise (β = 2, 1, 0). 'hals' needs 'euclidean'.
    algorithm : {'mu', 'hals', 'kmeans', 'deep'}
        'mu': multiplicative updates, every loss and penalty.
        'hals': hierarchical alternating least squares, Euclidean only, the
        fastest to a given Euclidean loss.
        'kmeans': one nonzero per column of H (hard clustering of frames).
        'deep': V ≈ W₁ … W_L H with the inner ranks given by ``layers``;
        ``solver.W`` is the product and ``solver.layers`` the factors.
    init : {'random', 'nndsvd', 'nndsvda', 'comb'}
        Initialisation of whatever W or H is not given. 'comb' starts from the
        harmonic combs (and a few free components) that explain V best
        (:func:`comb_init`; needs ``rate``); deep NMF starts its layers from
        NNDSVDa instead. Every start is made by :func:`dsp.nmf.init.start`.
    seed : int or None
        Seed of the initialisation; the same seed gives bit-identical results.
    W, H : np.ndarray, optional
        Starting factors (warm start), (m, k) and (k, n). Not with 'deep'.
    warm_start : bool
        W and H are where an earlier run of the same solver stopped, and the
        run continues exactly as if it had not stopped. By default they are a
        start to improve on, and KL multiplicative updates begin with an H step
        (see :class:`MUSolver`); the other solvers do not depend on it.
    sparsity, sparsity_W : float
        L1 penalty weights on H and on W ('mu' and 'hals'). Either one holds
        the columns of W at unit norm so the penalty cannot be dodged by scale.
    smoothness : float
        Weight of Virtanen's temporal continuity cost on H ('mu' only).
    lock_W, lock_H : sequence of int or boolean mask of length k, optional
        Template columns / activation rows that stay bit-identical ('mu',
        'hals'; 'kmeans' takes ``lock_W``). Change them later with
        :meth:`Solver.set_locks`.
    layers : sequence of int, optional
        Inner ranks r₁, …, r_{L−1} of deep NMF (``algorithm='deep'`` only):
        W₁ is m × r₁ and the last layer is r_{L−1} × k.
    rate : float, optional
        Sample rate of the audio V was computed from, in Hz (for 'comb').
    channel_gains : np.ndarray, (channels, k), optional
        Starting channel gains of a multichannel V (warm start); default ones.
    source_weights, component_sources : optional
        Paint's weight of each source in every cell — (sources, m, n)
        (:func:`dsp.guide.source_weights`), or on the painted cells only
        (:class:`CellWeights`, :meth:`dsp.guide.Steering.cell_weights`) —
        and the source of every component
        (k,): a run steered by paint (:class:`GuidedSolver`, 'kl' and 'mu'
        only, no penalties), which continues the factorization ``W``, ``H``
        it is given. With a multichannel V it is the multichannel model's
        (:class:`SpatialGuidedSolver`), continuing ``channel_gains``. New
        paint reaches a running solver through :meth:`GuidedSolver.steer`.
    progress : callable, optional
        Called with the fraction of the initialisation done, 0 to 1
        (:func:`dsp.nmf.init.start`): the comb start takes seconds on long files.

    Returns
    -------
    Solver

    Raises
    ------
    ValueError
        For negative or non-finite V, an impossible rank, an unknown option, or
        an option the chosen algorithm does not support.
    """
    if source_weights is not None or component_sources is not None:
        return _guided_solver(V, n_components, loss, algorithm, W, H, source_weights,
                              component_sources, channel_gains, lock_W, lock_H,
                              [sparsity, sparsity_W, smoothness, layers])
    channels = None
    if np.ndim(V) == 3 and np.shape(V)[0] > 1:
        channels = check_data(np.reshape(V, (-1, np.shape(V)[-1])), 1).reshape(np.shape(V))
        # The mean magnitude, as dsp.stft.Spectrogram.magnitude() makes it.
        V = channels.sum(axis=0) / np.float32(len(channels))
    elif np.ndim(V) == 3:
        V = np.asarray(V)[0]
    V = check_data(V, n_components)
    if channel_gains is not None and channels is None:
        raise ValueError("channel gains are for a multichannel V (channels, bins, frames)")
    if loss not in BETAS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    penalties = {
        "sparsity": check_weight(sparsity, "sparsity"),
        "sparsity_W": check_weight(sparsity_W, "sparsity_W"),
        "smoothness": check_weight(smoothness, "smoothness"),
    }
    beta = BETAS[loss]
    _check_support(algorithm, loss, n_components, penalties, lock_W, lock_H, layers, W, H)
    if channels is not None:
        check_spatial_support(algorithm, penalties)
        if channel_gains is not None:
            channel_gains = check_channel_gains(channel_gains, (len(channels), n_components))
    first = start(V, n_components, init=init, seed=seed, rate=rate, W=W, H=H, layers=layers,
                  progress=progress)
    W0, H0 = first.W, first.H
    if channels is not None:
        # The mean was for the start: the solver fits the channels. Freed before
        # the solver copies them, it does not add to the peak (a 20-minute stereo
        # mean is 0.4 GB).
        del V
        return SpatialSolver(
            channels, W0, H0, channel_gains=channel_gains, beta=beta, lock_W=lock_W,
            lock_H=lock_H, warm_start=warm_start, smoothness=penalties["smoothness"],
        )
    if algorithm == "deep":
        return DeepSolver(V, list(first.layers), first.H, beta=beta)
    if algorithm == "kmeans":
        return KMeansSolver(V, W0, None if H is None else H0, beta=beta, lock_W=lock_W)
    if algorithm == "hals":
        del penalties["smoothness"]
        return HALSSolver(V, W0, H0, lock_W=lock_W, lock_H=lock_H, **penalties)
    return MUSolver(
        V, W0, H0, beta=beta, lock_W=lock_W, lock_H=lock_H, warm_start=warm_start, **penalties
    )


def _guided_solver(V, n_components, loss, algorithm, W, H, weights, sources, channel_gains,
                   lock_W, lock_H, other_options) -> GuidedSolver:
    """The paint-steered solver of :func:`make_solver`, after checking what it supports."""
    if weights is None or sources is None:
        raise ValueError("a guided run needs both source_weights and component_sources")
    if loss != "kl" or algorithm != "mu":
        raise ValueError(f"paint steers KL multiplicative updates, not {loss!r} with {algorithm!r}")
    if W is None or H is None:
        raise ValueError("a guided run continues a factorization: give W and H")
    if any(other_options):
        raise ValueError("a guided run takes no penalties or layers")
    if np.ndim(V) == 3 and np.shape(V)[0] > 1:
        V = check_data(np.reshape(V, (-1, np.shape(V)[-1])), 1).reshape(np.shape(V))
        check_rank(n_components, V.shape[1:], "n_components", "spectrogram")
        if channel_gains is not None:
            channel_gains = check_channel_gains(channel_gains, (len(V), n_components))
    else:
        if channel_gains is not None:
            raise ValueError("channel gains are for a multichannel V (channels, bins, frames)")
        V = check_data(np.asarray(V)[0] if np.ndim(V) == 3 else V, n_components)
    grid = V.shape[-2:]
    if np.shape(W) != (grid[0], n_components) or np.shape(H) != (n_components, grid[1]):
        raise ValueError(f"factors {np.shape(W)} x {np.shape(H)} do not fit V {grid}")
    if V.ndim == 3:
        return SpatialGuidedSolver(V, W, H, weights, sources, channel_gains=channel_gains,
                                   lock_W=lock_W, lock_H=lock_H)
    return GuidedSolver(V, W, H, weights, sources, lock_W=lock_W, lock_H=lock_H)


def _check_support(algorithm, loss, n_components, penalties, lock_W, lock_H, layers, W, H):
    """Reject option combinations the chosen algorithm cannot honour."""
    active = [name for name, weight in penalties.items() if weight > 0]
    if algorithm == "hals":
        if loss != "euclidean":
            raise ValueError(f"algorithm 'hals' minimises the Euclidean loss, not {loss!r}")
        if "smoothness" in active:
            raise ValueError("smoothness is available with algorithm 'mu' only")
    if algorithm == "kmeans":
        if active:
            raise ValueError(f"algorithm 'kmeans' takes no penalties, got {', '.join(active)}")
        if component_mask(lock_H, n_components, "lock_H").any():
            raise ValueError("algorithm 'kmeans' cannot lock rows of H; use lock_W")
    if algorithm == "deep":
        if layers is None or len(layers) == 0:
            raise ValueError("algorithm 'deep' needs layers=(r1, ...), the inner ranks")
        if active:
            raise ValueError(f"algorithm 'deep' takes no penalties, got {', '.join(active)}")
        if W is not None or H is not None:
            raise ValueError("algorithm 'deep' starts from its own layer-wise initialisation")
        if lock_W is not None or lock_H is not None:
            raise ValueError("algorithm 'deep' does not support locks")
    elif layers is not None:
        raise ValueError(f"layers= is for algorithm 'deep', not {algorithm!r}")


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

    Parameters
    ----------
    V : np.ndarray, shape (m, n)
        Nonnegative data.
    n_components : int
        Rank k.
    max_iter : int
        Most iterations (>= 0).
    tol : float
        Converged means the loss fell by less than ``tol`` times the initial
        loss over the last 10 iterations (scikit-learn's rule); 0 never stops early.
    callback : callable, optional
        ``callback(solver)`` after every iteration; returning True stops the run.
    **options
        Those of :func:`make_solver` (loss, algorithm, init, seed, W, H,
        warm_start, sparsity, sparsity_W, smoothness, lock_W, lock_H, layers,
        channel_gains, source_weights, component_sources).

    Returns
    -------
    Result
        Copies of W and H, the loss history, the iterations run and whether
        the run converged.
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be finite and >= 0, got {tol!r}")
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
    gains = solver.channel_gains
    return Result(
        np.array(solver.W), np.array(solver.H), list(solver.losses), solver.n_iter, converged,
        None if gains is None else np.array(gains),
    )
