"""Soft-mask separation: each component's (or group's) share of W H applied to the STFT.

The mask of a set of components G is ``(Σ_{k∈G} W_k H_k)^α / Σ_j (W_j H_j)^α``
(α = 1: the classic ratio mask; α = 2: Wiener-like). Masks of disjoint sets
that cover every component sum to one, so the stems sum to the mixture.
Stems are rendered one at a time: memory holds one mask and one masked
spectrogram, whatever the number of components.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .nmf import EPS
from .stft import Spectrogram

__all__ = ["mask_denominator", "group_mask", "separate", "each_component"]


def each_component(n_components: int) -> list[list[int]]:
    """One group per component: ``[[0], [1], …]``."""
    return [[k] for k in range(n_components)]


def _share(W: np.ndarray, H: np.ndarray, members: Sequence[int], power: float) -> np.ndarray:
    """(Σ_{k∈members} (W_k H_k)^α), float32 (m, n)."""
    members = list(members)
    if power == 1.0:
        return np.ascontiguousarray(W[:, members] @ H[members], dtype=np.float32)
    out = np.zeros((W.shape[0], H.shape[1]), dtype=np.float32)
    for k in members:
        out += np.outer(W[:, k], H[k]) ** power
    return out


def mask_denominator(W: np.ndarray, H: np.ndarray, *, power: float = 1.0) -> np.ndarray:
    """Σ_j (W_j H_j)^α over all components, floored at EPS, float32 (m, n)."""
    denom = _share(W, H, range(W.shape[1]), power)
    return np.maximum(denom, EPS, out=denom)


def group_mask(
    W: np.ndarray,
    H: np.ndarray,
    members: Sequence[int],
    *,
    power: float = 1.0,
    denominator: np.ndarray | None = None,
) -> np.ndarray:
    """Soft mask in [0, 1] of the components in ``members``, float32 (m, n).

    Where every component is exactly zero the mixture is shared out equally,
    so masks of a partition still sum to one and nothing divides by zero.
    """
    denom = mask_denominator(W, H, power=power) if denominator is None else denominator
    mask = _share(W, H, members, power)
    empty = denom <= EPS
    np.divide(mask, denom, out=mask)
    if empty.any():
        mask[empty] = len(list(members)) / W.shape[1]
    return np.clip(mask, 0.0, 1.0, out=mask)


def separate(
    spec: Spectrogram,
    W: np.ndarray,
    H: np.ndarray,
    groups: Sequence[Sequence[int]] | None = None,
    *,
    power: float = 1.0,
) -> Iterator[np.ndarray]:
    """Yield the audio of each group (default: each component), one at a time.

    Parameters
    ----------
    spec : Spectrogram
        Complex STFT of the mixture, every channel.
    W : np.ndarray, (bins, k)
    H : np.ndarray, (k, frames)
        Factors of the mixture's magnitude.
    groups : sequence of sequences of int, optional
        Component indices of each stem.
    power : float
        Mask exponent α (1 = ratio mask, 2 = Wiener-like).

    Yields
    ------
    np.ndarray, float32, shape (length, channels)
        A stem with the mixture's length and channel count.
    """
    bins, frames = spec.shape
    if W.shape[0] != bins or H.shape[1] != frames or W.shape[1] != H.shape[0]:
        raise ValueError(
            f"factors {W.shape} x {H.shape} do not match the spectrogram ({bins} x {frames})"
        )
    groups = each_component(W.shape[1]) if groups is None else groups
    denom = mask_denominator(W, H, power=power)
    for members in groups:
        mask = group_mask(W, H, members, power=power, denominator=denom)
        yield spec.invert(spec.data * mask)
