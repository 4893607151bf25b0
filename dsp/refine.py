"""Edits of the factors a user asks for: delete, zero, split, learn templates from an example.

Pure numpy on W (bins × k) and H (k × frames), no Qt: the app's steering controller
applies the results to the session.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import nmf

__all__ = [
    "component_share",
    "delete_components",
    "learn_templates",
    "semi_supervised_start",
    "split_component",
    "zero_component",
]


def delete_components(W, H, indices: Sequence[int]):  # noqa: N803
    """W and H without the components in ``indices``.

    Raises
    ------
    ValueError
        If nothing would remain.
    """
    keep = np.setdiff1d(np.arange(W.shape[1]), np.asarray(indices, dtype=int))
    if keep.size == 0:
        raise ValueError("cannot delete every component")
    return np.ascontiguousarray(W[:, keep]), np.ascontiguousarray(H[keep])


def zero_component(H, index: int) -> np.ndarray:  # noqa: N803
    """A copy of H with component ``index``'s activation at zero (it no longer sounds)."""
    H = np.array(H, dtype=np.float32)  # noqa: N806
    H[index] = 0.0
    return H


def component_share(V, W, H, index: int) -> np.ndarray:  # noqa: N803
    """Component ``index``'s masked magnitude ``V · W_k H_k / W H``, float32 (bins, frames)."""
    model = np.maximum(W @ H, nmf.EPS)
    return (V * np.outer(W[:, index], H[index]) / model).astype(np.float32)


def split_component(
    V, W, H, index: int, *, loss: str = "kl", iterations: int = 200, seed: int = 0  # noqa: N803
):
    """Replace component ``index`` by two fitted to its share of the mixture.

    NMF with k = 2 on the component's masked magnitude (:func:`component_share`)
    finds the two parts it holds (two notes, a tone and its attack). The new
    components take positions ``index`` and ``index + 1``, ordered by their
    templates' spectral centroid, so the others keep their indices (shifted by
    one after ``index``). The pair models the component's share of V, so
    where the model fitted V the two shares sum to the component's share;
    where it did not, the split also improves the fit.

    Returns
    -------
    W, H : np.ndarray
        Factors with k + 1 components.
    """
    share = component_share(V, W, H, index)
    result = nmf.factorize(share, 2, loss=loss, max_iter=iterations, tol=0.0, seed=seed)
    pair_W, pair_H = result.W, result.H  # noqa: N806
    bins = np.arange(W.shape[0])
    centroids = (bins @ pair_W) / np.maximum(pair_W.sum(axis=0), nmf.EPS)
    order = np.argsort(centroids)
    W = np.concatenate((W[:, :index], pair_W[:, order], W[:, index + 1 :]), axis=1)  # noqa: N806
    H = np.concatenate((H[:index], pair_H[order], H[index + 1 :]), axis=0)  # noqa: N806
    return np.ascontiguousarray(W, dtype=np.float32), np.ascontiguousarray(H, dtype=np.float32)


def learn_templates(
    V_example, n_templates: int, *, loss: str = "kl", iterations: int = 200, seed: int = 0  # noqa: N803
) -> np.ndarray:
    """Templates (bins × n) of a source from an example where it plays alone.

    NMF on the example's magnitude; each template is scaled to unit peak
    (only the shape matters once locked: the activations carry the level).
    """
    V_example = np.asarray(V_example, dtype=np.float32)  # noqa: N806
    n = min(int(n_templates), *V_example.shape)
    if n < 1:
        raise ValueError(f"need at least one template and a non-empty example, got {n}")
    result = nmf.factorize(V_example, n, loss=loss, max_iter=iterations, tol=0.0, seed=seed)
    peaks = np.maximum(result.W.max(axis=0), nmf.EPS)
    return np.ascontiguousarray(result.W / peaks, dtype=np.float32)


def semi_supervised_start(
    V,  # noqa: N803
    fixed,
    n_free: int,
    *,
    silent_frames=None,
    loss: str = "kl",
    iterations: int = 50,
    seed: int = 0,
):
    """Starting W, H for fitting the mixture around fixed templates.

    W is ``[fixed | free]``: the fixed templates first (lock them with
    ``lock_W=range(fixed.shape[1])``), then ``n_free`` templates for everything
    else. The fixed templates are first fitted alone (``iterations`` updates
    of their activations); the free ones start from an NNDSVDa initialisation
    of what they leave unexplained, so they begin on the rest of the mixture
    instead of competing for the known source. Measured on generated cases
    (``tests/test_steering_learn.py``), starting the free templates anywhere
    else lets them absorb part of the known source.

    Parameters
    ----------
    V : np.ndarray, (bins, frames)
    fixed : np.ndarray, (bins, n_fixed)
    n_free : int
    silent_frames : slice or boolean mask over frames, optional
        Frames where only the known source plays (the example, when it comes
        from this mixture): the free activations start at zero there, and
        multiplicative updates keep them near it.

    Returns
    -------
    W : np.ndarray, float32 (bins, n_fixed + n_free)
    H : np.ndarray, float32 (n_fixed + n_free, frames)
    """
    V = np.asarray(V, dtype=np.float32)  # noqa: N806
    fixed = np.maximum(np.asarray(fixed, dtype=np.float32), nmf.FLOOR)
    n_fixed, n_free = fixed.shape[1], int(n_free)
    rng = np.random.default_rng(seed)
    scale = np.sqrt(max(float(V.mean(dtype=np.float64)), 1e-12) / n_fixed)
    alone = nmf.make_solver(
        V, n_fixed, W=fixed, H=scale * rng.random((n_fixed, V.shape[1])), loss=loss,
        lock_W=np.ones(n_fixed, dtype=bool),
    )
    alone.step(iterations)
    W, H = np.array(alone.W), np.array(alone.H)  # noqa: N806
    if n_free > 0:
        residual = np.maximum(V - alone.reconstruction(), 0.0)
        residual += max(float(residual.max()), 1e-12) * 1e-6  # an all-zero residual has no SVD
        free_W, free_H = nmf.initialize(residual, n_free, method="nndsvda", seed=seed)  # noqa: N806
        if silent_frames is not None:
            free_H[:, silent_frames] = 0.0
        W = np.concatenate((W, free_W), axis=1)  # noqa: N806
        H = np.concatenate((H, free_H), axis=0)  # noqa: N806
    return np.ascontiguousarray(W, dtype=np.float32), np.ascontiguousarray(H, dtype=np.float32)
