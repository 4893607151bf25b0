"""Multichannel NMF: shared templates and activations, a gain per channel and component.

Every channel c of the magnitude is modelled as

    V_c ≈ W diag(q_c) H

with the templates W (m × k) and activations H (k × n) shared by the channels
and the channel gains Q (C × k, rows q_c) saying where each component sits in
the stereo image: the nonnegative tensor factorization of FitzGerald, Cranitch
& Coyle (2005), the instantaneous-mixing model of Ozerov & Févotte (2010) on
magnitudes. Mixing the channels down (the mean of their magnitudes) throws
that position away; keeping it lets two sounds with the same spectrum but
different places become different components, and lets the masks differ per
channel (:class:`dsp.masks.SoftMask`).

The channels are stacked along frequency, V_s = [V_1; …; V_C] (C·m × n), with
stacked templates W_s = [W diag(q_1); …; W diag(q_C)], so every pass over the
data is :class:`~dsp.nmf.mu.MUSolver`'s: its H half-step sums over the
channels because it sums over the rows. Only the template half-step changes.
The model is linear in W for fixed Q (and in Q for fixed W), so from the split
of the stacked gradient into numerator N_s and denominator D_s,

    W ← W ∘ (Σ_c q_c ∘ N_c) / (Σ_c q_c ∘ D_c)
    q_c ← q_c ∘ (Σ_f W ∘ N_c) / (Σ_f W ∘ D_c)

are multiplicative updates of the usual kind, and the loss never increases.
Each needs the gradient at the current factors, which the pass before it
gives; so an iteration updates either W or Q, Q on every
:data:`GAIN_STEP_EVERY`-th (k·C gains settle in a few steps, the m·k
templates need every one they get).

The gains have mean 1 over the channels for every component, the scale living
in W: W H then models the mean of the channels' magnitudes, the same V a
mono factorization fits, and the views show it unchanged.
"""

from __future__ import annotations

import numpy as np

from .base import EPS, FLOOR, component_mask, read_only
from .mu import MUSolver

__all__ = [
    "GAIN_STEP_EVERY",
    "ChannelStack",
    "SpatialSolver",
    "check_channel_gains",
    "check_spatial_support",
]

#: An iteration updates the channel gains instead of the templates every this many.
GAIN_STEP_EVERY = 3


def check_channel_gains(Q: np.ndarray, shape: tuple[int, int]) -> np.ndarray:  # noqa: N803
    """Validate channel gains (channels, k) and return them as float32.

    Raises
    ------
    ValueError
        If ``Q`` has another shape, or entries that are negative or not finite.
    """
    Q = np.array(Q, dtype=np.float32)
    if Q.shape != shape:
        raise ValueError(f"channel gains must have shape {shape}, got {Q.shape}")
    if not np.isfinite(Q).all() or (Q < 0).any():
        raise ValueError("channel gains must be finite and nonnegative")
    return Q


class ChannelStack:
    """The shared templates and channel gains behind a solver's stacked templates.

    A mixin for a solver whose data are the channels stacked along frequency
    (C·m × n) and whose ``_W`` is therefore W_s = [W diag(q_1); …; W diag(q_C)]:
    it keeps W and the gains Q that W_s is made of, shows W as the solver's
    templates, and makes the templates' half-step the split one of this
    module (W, or every :data:`GAIN_STEP_EVERY`-th iteration Q). The solver
    calls :meth:`_stack_channels` before its own constructor and
    ``_update_W(numerator, denominator)`` with the stacked gradient's split;
    it has the attribute ``beta``.
    """

    def _stack_channels(self, V: np.ndarray, W: np.ndarray,
                        channel_gains: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Keep W and Q (ones unless given); return V and W stacked, for the solver."""
        channels, m, n = V.shape
        k = np.shape(W)[1]
        self._channels = channels
        self._templates = np.array(W, dtype=np.float32, order="C")
        if channel_gains is None:
            self._gains = np.ones((channels, k), dtype=np.float32)
        else:
            self._gains = check_channel_gains(channel_gains, (channels, k))
        np.maximum(self._templates, FLOOR, out=self._templates)
        np.maximum(self._gains, FLOOR, out=self._gains)
        # The stacked templates are never locked as such (the gains of a locked
        # template still change them); this keeps the template locks.
        self._template_lock = np.zeros(k, dtype=bool)
        return V.reshape(channels * m, n), self._stacked()

    @property
    def W(self) -> np.ndarray:  # noqa: N802 - the domain's name for the templates
        """Templates (m, k), float32, read-only: W H models the channels' mean magnitude."""
        return read_only(self._templates)

    @property
    def channel_gains(self) -> np.ndarray:
        """Gain of every component in every channel (channels, k), mean 1 per component."""
        return read_only(self._gains)

    @property
    def locked_W(self) -> np.ndarray:  # noqa: N802 - the protocol's name
        """Boolean mask (k,) of the templates that do not change."""
        return self._template_lock.copy()

    def set_locks(self, *, W=None, H=None) -> None:  # noqa: N803 - the protocol's names
        """As :meth:`Solver.set_locks`; a locked template's gains still change."""
        if W is not None:
            self._template_lock = component_mask(W, self.n_components, "lock_W")
        super().set_locks(H=H)

    def reconstruction(self) -> np.ndarray:
        """The model of the mean magnitude, W @ H, float32 (m, n)."""
        return self._templates @ self._H

    def _stacked(self) -> np.ndarray:
        """[W diag(q_1); …; W diag(q_C)], float32 (channels · m, k)."""
        m, k = self._templates.shape
        return (self._gains[:, None, :] * self._templates).reshape(self._channels * m, k)

    def _centre(self, columns: np.ndarray) -> None:
        """Move each component's mean gain into its template (the model is unchanged)."""
        scale = self._gains[:, columns].mean(axis=0)
        self._gains[:, columns] /= scale
        self._templates[:, columns] *= scale

    def _update_W(self, numer: np.ndarray, denom: np.ndarray) -> None:  # noqa: N802
        """One half-step of the templates or, every few iterations, of the channel gains."""
        channels, (m, k) = self._channels, self._templates.shape
        N = numer.reshape(channels, m, k)
        D = np.broadcast_to(denom, numer.shape).reshape(channels, m, k)
        free = ~self._template_lock
        exponent = np.float32(0.5 if self.beta == 0.0 else 1.0)
        if self.n_iter % GAIN_STEP_EVERY == GAIN_STEP_EVERY - 1:
            up = np.einsum("mk,cmk->ck", self._templates, N)
            down = np.einsum("mk,cmk->ck", self._templates, D)
            self._gains *= np.power(up / np.maximum(down, EPS), exponent)
            np.maximum(self._gains, FLOOR, out=self._gains)
            self._centre(free)
        else:
            up = np.einsum("ck,cmk->mk", self._gains, N)
            down = np.einsum("ck,cmk->mk", self._gains, D)
            ratio = np.power(up / np.maximum(down, EPS), exponent)
            self._templates[:, free] *= ratio[:, free]
        np.maximum(self._templates, FLOOR, out=self._templates)
        self._W[:] = self._stacked()


class SpatialSolver(ChannelStack, MUSolver):
    """Multiplicative updates of V_c ≈ W diag(q_c) H for every channel c.

    Parameters
    ----------
    V : np.ndarray, float32, (channels, m, n)
        Magnitude of every channel.
    W : np.ndarray, (m, k)
    H : np.ndarray, (k, n)
        Initial templates and activations.
    channel_gains : np.ndarray (channels, k), optional
        Initial gains, taken as they are (a solver's own keep mean 1 per
        component); by default every component sits in the centre (ones).
    beta : {2.0, 1.0, 0.0}
        Euclidean, Kullback–Leibler or Itakura–Saito.
    smoothness : float
        Weight of the temporal continuity cost on H.
    lock_W, lock_H : sequence of int or boolean mask, optional
        A locked template keeps its spectrum bit for bit; its place in the
        stereo image (its gains) is still learned, and is not centred, since
        centring moves scale into the template.
    warm_start : bool
        As :class:`~dsp.nmf.mu.MUSolver`'s.

    Attributes
    ----------
    V : np.ndarray, float32, (channels · m, n)
        The channels stacked along frequency.
    """

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray,
        *,
        channel_gains: np.ndarray | None = None,
        beta: float,
        smoothness: float = 0.0,
        lock_W=None,
        lock_H=None,
        warm_start: bool = False,
    ) -> None:
        stacked_V, stacked_W = self._stack_channels(V, W, channel_gains)
        super().__init__(
            stacked_V,
            stacked_W,
            H,
            beta=beta,
            smoothness=smoothness,
            lock_H=lock_H,
            warm_start=warm_start,
        )
        self.set_locks(W=lock_W)


def check_spatial_support(algorithm: str, penalties: dict) -> None:
    """Refuse options the multichannel model does not support, naming them.

    Raises
    ------
    ValueError
        For another algorithm than 'mu' or an L1 penalty (whose unit-norm
        templates would fight the gains' scale).
    """
    if algorithm != "mu":
        raise ValueError(
            f"the spatial (multichannel) model runs multiplicative updates ('mu'), "
            f"not {algorithm!r}"
        )
    if penalties.get("sparsity") or penalties.get("sparsity_W"):
        raise ValueError("sparsity is not available with the spatial (multichannel) model")
