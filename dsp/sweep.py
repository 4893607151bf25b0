"""Choosing the number of components: factorize V for a range of k and compare.

With nested initialisation each rank starts from the previous rank's solution
plus one new component fitted to what is still unexplained, scaled by the
step that reduces the loss most. The starting loss of rank k+1 is then at most
the final loss of rank k, and multiplicative updates never increase the loss,
so the curve of loss against k does not rise (up to float rounding).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import nmf
from .nmf.base import check_data
from .nmf.init import randomized_svd

__all__ = ["SweepPoint", "sweep", "elbow", "parse_range"]


@dataclass(frozen=True)
class SweepPoint:
    """The result of one rank.

    Attributes
    ----------
    k : int
    loss : float
        Loss at convergence (or after ``max_iter``).
    explained_variance : float
        ``1 - ‖V − WH‖² / ‖V‖²``.
    n_iter : int
    seconds : float
        Wall time of this rank's factorization.
    W : np.ndarray, float32 (m, k)
    H : np.ndarray, float32 (k, n)
        The factors this rank converged to (to score or adopt them without
        factorizing again).
    """

    k: int
    loss: float
    explained_variance: float
    n_iter: int
    seconds: float
    W: np.ndarray = field(repr=False, compare=False)
    H: np.ndarray = field(repr=False, compare=False)


def parse_range(text: str) -> list[int]:
    """``'2:24'`` → 2…24, ``'2:24:2'`` → every other, ``'3,5,8'`` → those.

    Raises
    ------
    ValueError
        If the text is not a range of positive integers.
    """
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) == 3 else 1
            ks = list(range(start, stop + 1, step))
        else:
            ks = [int(p) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"bad range {text!r}: use START:STOP[:STEP] or K1,K2,…") from None
    if not ks or min(ks) < 1 or ks != sorted(set(ks)):
        raise ValueError(f"bad range {text!r}: ranks must be positive and increasing")
    return ks


def _new_component(
    V: np.ndarray, W: np.ndarray, H: np.ndarray, beta: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """W, H grown by one column/row: the leading factor of the positive residual,
    scaled by the candidate step that gives the lowest loss (zero included)."""
    WH = W @ H
    residual = np.maximum(V - WH, 0)
    u, s, vt = randomized_svd(residual, 1, rng)
    w = np.abs(u[:, 0]) * np.sqrt(max(s[0], 0.0))
    h = np.abs(vt[0]) * np.sqrt(max(s[0], 0.0))
    best_scale, best_loss = 0.0, np.inf
    for scale in (0.0, 0.03, 0.1, 0.3, 1.0):
        loss = nmf.beta_divergence(V, WH + scale * np.outer(w, h).astype(np.float32), beta)
        if loss < best_loss:
            best_scale, best_loss = scale, loss
    # Scale zero still needs a positive start, or multiplicative updates could never grow it.
    scale = np.sqrt(max(best_scale, 1e-6))
    W1 = np.column_stack([W, scale * w]).astype(np.float32)
    H1 = np.vstack([H, scale * h]).astype(np.float32)
    return W1, H1


def sweep(
    V: np.ndarray,
    ks: Sequence[int],
    *,
    loss: str = "kl",
    max_iter: int = 200,
    tol: float = 1e-4,
    seed: int = 0,
    nested: bool = True,
    progress: Callable[[SweepPoint], bool | None] | None = None,
) -> list[SweepPoint]:
    """Factorize V at every rank in ``ks`` (increasing).

    Parameters
    ----------
    V : np.ndarray, (m, n)
        Nonnegative data.
    ks : sequence of int
        Ranks, increasing.
    loss, max_iter, tol, seed
        As for :func:`dsp.nmf.factorize`.
    nested : bool
        Start each rank from the previous one plus a new component (see module
        docstring); otherwise every rank starts from its own NNDSVDa.
    progress : callable, optional
        Called with each :class:`SweepPoint`; returning True stops the sweep.

    Returns
    -------
    list of SweepPoint
    """
    ks = list(ks)
    if ks != sorted(set(ks)) or not ks:
        raise ValueError(f"ranks must be increasing and distinct, got {ks}")
    V = check_data(V, ks[-1])
    beta = nmf.BETAS[loss] if loss in nmf.BETAS else None
    if beta is None:
        raise ValueError(f"unknown loss {loss!r}; choose one of {nmf.LOSSES}")
    rng = np.random.default_rng(seed)
    norm_V = float(np.sum(V.astype(np.float64) ** 2)) or 1.0
    points: list[SweepPoint] = []
    W = H = None
    for k in ks:
        started = time.perf_counter()
        start = {}
        if nested and W is not None:
            while W.shape[1] < k:
                W, H = _new_component(V, W, H, beta, rng)
            start = {"W": W, "H": H}
        result = nmf.factorize(V, k, loss=loss, max_iter=max_iter, tol=tol, seed=seed, **start)
        W, H = result.W, result.H
        error = float(np.sum((V - W @ H).astype(np.float64) ** 2))
        final = result.losses[-1] if result.losses else nmf.beta_divergence(V, W @ H, beta)
        point = SweepPoint(
            k,
            float(final),
            1.0 - error / norm_V,
            result.n_iter,
            time.perf_counter() - started,
            np.array(W),
            np.array(H),
        )
        points.append(point)
        if progress is not None and progress(point):
            break
    return points


def elbow(ks: Sequence[int], losses: Sequence[float]) -> int:
    """The rank after which adding components stops paying off.

    The point of the loss curve farthest below the straight line from its first
    to its last point, both axes scaled to [0, 1] (the "kneedle" rule).
    """
    ks = np.asarray(ks, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if len(ks) < 3:
        return int(ks[-1])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    span = losses[0] - losses[-1]
    y = (losses - losses[-1]) / span if span > 0 else np.zeros_like(losses)
    chord = 1.0 - x
    return int(ks[int(np.argmax(chord - y))])
