"""Initial factors for NMF: seeded random and NNDSVD / NNDSVDa."""

from __future__ import annotations

import numpy as np

__all__ = ["INITS", "initialize", "randomized_svd"]

#: Starts :func:`initialize` computes; ``make_solver`` also takes 'comb'
#: (harmonic combs, :mod:`dsp.templates`), which needs the sample rate.
INITS = ("random", "nndsvd", "nndsvda")
SOLVER_INITS = (*INITS, "comb")


def randomized_svd(
    V: np.ndarray, rank: int, rng: np.random.Generator, *, power_iterations: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leading ``rank`` singular triplets of ``V`` by randomized range finding.

    Deterministic for a given generator state, and O(m n rank) instead of the
    O(m n min(m, n)) of a full SVD, which matters for minutes of audio.

    Returns
    -------
    U : (m, rank), S : (rank,), Vt : (rank, n), all float64
    """
    m, n = V.shape
    sketch = min(rank + 10, m, n)
    A = V.astype(np.float64, copy=False)
    Q = A @ rng.standard_normal((n, sketch))
    for _ in range(power_iterations):
        Q, _ = np.linalg.qr(Q)
        Q, _ = np.linalg.qr(A.T @ Q)
        Q = A @ Q
    Q, _ = np.linalg.qr(Q)
    Ub, S, Vt = np.linalg.svd(Q.T @ A, full_matrices=False)
    return (Q @ Ub)[:, :rank], S[:rank], Vt[:rank]


def initialize(
    V: np.ndarray, n_components: int, *, method: str = "nndsvda", seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Initial templates W (m, k) and activations H (k, n), float32, nonnegative.

    Parameters
    ----------
    V : np.ndarray, float32, shape (m, n)
        Nonnegative data.
    n_components : int
        Rank k.
    method : {'random', 'nndsvd', 'nndsvda'}
        'random' draws uniform entries scaled so that WH has the mean of V;
        'nndsvd' is Boutsidis & Gallopoulos' nonnegative double SVD;
        'nndsvda' fills its zeros with the mean of V, so multiplicative
        updates can move them.
    seed : int or None
        Seed for ``np.random.default_rng``.
    """
    if method not in INITS:
        raise ValueError(f"unknown init {method!r}; choose one of {INITS}")
    rng = np.random.default_rng(seed)
    m, n = V.shape
    mean = float(V.mean(dtype=np.float64))
    if method == "random" or mean == 0.0:
        scale = np.sqrt(max(mean, 1e-12) / n_components)
        W = scale * rng.random((m, n_components))
        H = scale * rng.random((n_components, n))
        return W.astype(np.float32), H.astype(np.float32)

    U, S, Vt = randomized_svd(V, n_components, rng)
    W = np.zeros((m, n_components))
    H = np.zeros((n_components, n))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, len(S)):
        x, y = U[:, j], Vt[j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        xpn, ypn = np.linalg.norm(xp), np.linalg.norm(yp)
        xnn, ynn = np.linalg.norm(xn), np.linalg.norm(yn)
        # Keep the sign pattern that carries more of the singular pair's energy.
        if xpn * ypn >= xnn * ynn:
            u, v, sigma = xp / max(xpn, 1e-30), yp / max(ypn, 1e-30), xpn * ypn
        else:
            u, v, sigma = xn / max(xnn, 1e-30), yn / max(ynn, 1e-30), xnn * ynn
        W[:, j] = np.sqrt(S[j] * sigma) * u
        H[j] = np.sqrt(S[j] * sigma) * v
    if method == "nndsvda":
        W[W < 1e-12] = mean
        H[H < 1e-12] = mean
    return W.astype(np.float32), H.astype(np.float32)
