"""Soft masks of W H for any gains and mask exponent: :class:`SoftMask`.

For gains ``g`` (one per component, or one per component and frame) and a mask
exponent α the mask is

    M = Σ_k g_k (W_k H_k)^α / Σ_j (W_j H_j)^α

(α = 1: the classic ratio mask; α = 2: Wiener-like). With the multichannel
model (:class:`dsp.nmf.SpatialSolver`) each channel c has its own mask, every
W_k scaled by the component's gain q_ck in that channel, so a component
panned left takes more of the left channel than of the right; masks are then
(channels, bins, frames), else one (bins, frames) mask serves every channel.
Because (W_k H_k)^α is the outer product of W_k^α and H_k^α, both sums are
matrix products of the powered factors, whatever α is, and a mask is made on
the frames asked for: memory follows the frames a caller works on, not the
file.

Paint steers the masks with the weights it steered the factorization with
(:mod:`dsp.guide`): given a :class:`~dsp.guide.Steering`, every component's
share is weighted by its source's weight A_s in each cell,

    M = Σ_k g_k A_s(k)^α (W_k H_k)^α / Σ_j A_s(j)^α (W_j H_j)^α,

one pair of products per source instead of one for all.

The streaming :class:`dsp.mixer.Mixer` applies them — for the player and,
through :func:`dsp.separation.render`, for the export, the CLI and the scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .nmf import EPS

if TYPE_CHECKING:
    from .guide import Steering

__all__ = ["SoftMask"]


class SoftMask:
    """The factors' soft masks for any gains and mask exponent α.

    Parameters
    ----------
    W : np.ndarray, (bins, k)
    H : np.ndarray, (k, frames)
        Nonnegative factors of the mixture's magnitude.
    power : float
        Mask exponent α > 0.
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gain of every component in every channel.
    steering : Steering, optional
        Paint's weights per source and cell and the source of every component.

    Raises
    ------
    ValueError
        If the factors do not fit each other or α is not a positive number.
    """

    def __init__(
        self,
        W: np.ndarray,
        H: np.ndarray,
        *,
        power: float = 1.0,
        channel_gains: np.ndarray | None = None,
        steering: Steering | None = None,
    ) -> None:
        power = float(power)
        if not np.isfinite(power) or power <= 0:
            raise ValueError(f"the mask exponent must be a positive number, got {power}")
        if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0]:
            raise ValueError(f"factors {W.shape} x {H.shape} do not fit each other")
        bins, k = W.shape
        #: Masks per channel (channels, bins, frames), or None: one (bins, frames) mask.
        self.channels = None if channel_gains is None else np.shape(channel_gains)[0]
        if channel_gains is None:
            channel_gains = np.ones((1, k), dtype=np.float32)
        elif np.ndim(channel_gains) != 2 or np.shape(channel_gains)[1] != k:
            raise ValueError(
                f"channel gains {np.shape(channel_gains)} do not fit {k} components"
            )
        self.power = power
        self._bins = bins
        # The channels' templates W diag(q_c), powered and stacked, once
        # (channels·bins × k, whatever the length): one product makes every
        # channel's mask. H^α per request, on the frames asked for, so a
        # streaming caller holds no copy of H.
        gains = _powered(channel_gains, power)
        self._W = np.ascontiguousarray(
            (gains[:, None, :] * _powered(W, power)).reshape(-1, k), dtype=np.float32
        )
        self._H = np.ascontiguousarray(H, dtype=np.float32)
        self._members = None
        if steering is not None:
            if len(steering.sources) != k or steering.grid != (bins, H.shape[1]):
                raise ValueError(
                    f"a steering of {len(steering.sources)} components on "
                    f"{steering.grid} cells does not fit factors {W.shape} x {H.shape}"
                )
            self._members = [steering.members(s) for s in range(steering.n_sources)]
        self._steering = steering

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of every mask: (bins, frames), or (channels, bins, frames) per channel."""
        plane = (self._bins, self._H.shape[1])
        return plane if self.channels is None else (self.channels, *plane)

    def _planes(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """Stacked rows (channels·bins, frames) as masks of :attr:`shape`."""
        return X if self.channels is None else X.reshape(self.channels, self._bins, X.shape[1])

    @property
    def n_components(self) -> int:
        """Number of components k."""
        return self._W.shape[1]

    def denominator(self, frames: slice = slice(None)) -> np.ndarray:
        """Σ_j (W_j H_j)^α over every component, floored at EPS, float32, a mask's shape."""
        denominator = self._sum(self._activations(frames), frames)
        return np.maximum(denominator, EPS, out=denominator)

    def _sum(self, G: np.ndarray, frames: slice, weights=None, components=None) -> np.ndarray:
        """Σ_k W_k^α G_k as masks, each source's part weighted by its paint weights.

        ``weights``: the steering's A^α on ``frames``, when the caller made them already.
        ``components``: the indices of G's rows, when they are not every component.
        """
        if self._members is None:
            W = self._W if components is None else self._W[:, components]  # noqa: N806
            return self._planes(W @ G)
        total = np.zeros((self._W.shape[0], G.shape[1]), dtype=np.float32)
        total = self._planes(total)
        if weights is None:
            weights = self._steering.weights(frames, self.power)
        for members, weight in zip(self._members, weights):
            if components is None:
                W, rows = self._W[:, members], members  # noqa: N806
            else:
                rows = np.flatnonzero(np.isin(components, members))
                W = self._W[:, components[rows]]  # noqa: N806
            if len(rows):
                total += self._planes(W @ G[rows]) * weight
        return total

    def _activations(self, frames: slice) -> np.ndarray:
        return _powered(self._H[:, frames], self.power)

    def mask(
        self,
        gains: np.ndarray,
        frames: slice = slice(None),
        *,
        denominator: np.ndarray | None = None,
    ) -> np.ndarray:
        """The mask of ``gains`` on ``frames``, float32 (bins, frames) or per channel.

        Parameters
        ----------
        gains : np.ndarray, (k,) or (k, frames)
            Nonnegative gain of each component, constant or per frame.
        frames : slice
            The frames (columns) wanted.
        denominator : np.ndarray, optional
            :meth:`denominator` of the same frames, when several masks share it.

        Notes
        -----
        Where the model is silent (every component zero) the mixture is shared
        out equally, ``Σ g_k / k``, so masks of a partition still sum to one
        and nothing divides by zero. The mask never exceeds the largest gain,
        which it is a weighted average of (this absorbs float rounding).
        """
        gains = np.asarray(gains, dtype=np.float32)
        if gains.shape[0] != self.n_components:
            raise ValueError(f"expected {self.n_components} gains, got {gains.shape[0]}")
        if gains.ndim == 1:
            gains = gains[:, None]
        H = self._activations(frames)
        weights = None
        if self._members is not None:
            weights = self._steering.weights(frames, self.power)  # once for both sums
        if denominator is None:
            denominator = self._sum(H, frames, weights)
            np.maximum(denominator, EPS, out=denominator)
        # A component without gain adds nothing: leave it out of the product
        # (a stem is one component, or one source, of k).
        active = np.flatnonzero(gains.any(axis=1))
        mask = self._sum(gains[active] * H[active], frames, weights, active)
        empty = denominator <= EPS
        np.divide(mask, denominator, out=mask)
        if empty.any():
            share = gains.sum(axis=0) / np.float32(self.n_components)
            mask[empty] = np.broadcast_to(share, mask.shape)[empty]
        return np.minimum(mask, gains.max(axis=0), out=mask)


def _powered(X: np.ndarray, power: float) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X if power == 1.0 else np.power(X, np.float32(power))


def _powered(X: np.ndarray, power: float) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X if power == 1.0 else np.power(X, np.float32(power))
