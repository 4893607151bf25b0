"""The one render path: soft masks of W H applied to the STFT, for any gains.

A stem is the mixture through the soft mask (:class:`dsp.masks.SoftMask`,
re-exported here) of a gain vector: a group of components is the gain vector
that is 1 on its members and 0 elsewhere; solo, mute, source gains and the
audible mix are other gain vectors. :func:`render` plays each gain vector
through the streaming :class:`dsp.mixer.Mixer` — the player's renderer — from
start to end, so what the player plays is what the export, the CLI and the
scores write, by the same code.

Masks of disjoint groups that cover every component sum to one, so the stems
sum to the mixture. Stems are rendered one at a time and each in passes of
:data:`PASS` samples, the STFT frames of a pass transformed, masked and
inverted together: memory holds one stem's samples and one pass's spectra and
masks, whatever the number of components or the length of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .masks import SoftMask
from .mixer import Mixer
from .stft import Spectrogram

if TYPE_CHECKING:
    from .guide import Steering

__all__ = [
    "PASS",
    "SoftMask",
    "each_component",
    "group_gains",
    "render",
    "separate",
]

#: Samples rendered per pass of an offline render: 256 frames at hop 512, large
#: enough for efficient matrix products and FFTs, small enough (~20 MB of
#: spectra and masks at k = 32 in stereo) to be nothing beside a stem.
PASS = 2**17


def each_component(n_components: int) -> list[list[int]]:
    """One group per component: ``[[0], [1], …]``."""
    return [[k] for k in range(n_components)]


def group_gains(n_components: int, members: Iterable[int]) -> np.ndarray:
    """The gain vector of a group: 1 on its members, 0 elsewhere, float32 (k,)."""
    gains = np.zeros(n_components, dtype=np.float32)
    gains[list(members)] = 1.0
    return gains


def render(
    spec: Spectrogram,
    W: np.ndarray,
    H: np.ndarray,
    gains: Iterable[np.ndarray],
    *,
    power: float = 1.0,
    channel_gains: np.ndarray | None = None,
    steering: Steering | None = None,
) -> Iterator[np.ndarray]:
    """Yield the audio of each gain vector, one at a time: the one offline renderer.

    Parameters
    ----------
    spec : Spectrogram
        The mixture's spectrogram (its frames are transformed as they are needed).
    W : np.ndarray, (bins, k)
    H : np.ndarray, (k, frames)
        Factors of the mixture's magnitude.
    gains : iterable of np.ndarray, each (k,)
        Gain of each component in each rendering (a group is 1 on its members).
    power : float
        Mask exponent α (1 = ratio mask, 2 = Wiener-like).
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gains: a mask per channel (:class:`SoftMask`).
    steering : Steering, optional
        Paint's weights and the components' sources (:class:`SoftMask`).

    Yields
    ------
    np.ndarray, float32, shape (length, channels)
        A rendering with the mixture's length and channel count.
    """
    bins, frames = spec.shape
    if W.shape[0] != bins or H.shape[1] != frames or W.shape[1] != H.shape[0]:
        raise ValueError(
            f"factors {W.shape} x {H.shape} do not match the spectrogram ({bins} x {frames})"
        )
    if channel_gains is not None and np.shape(channel_gains)[0] != spec.channels:
        raise ValueError(
            f"channel gains for {np.shape(channel_gains)[0]} channels, "
            f"the audio has {spec.channels}"
        )
    mixer = Mixer(spec, W, H, power=power, channel_gains=channel_gains, steering=steering,
                  block=PASS)
    for g in gains:
        mixer.set_gains(g)
        mixer.seek(0)  # from the start, the new gains at once (no ramp)
        yield mixer.render(spec.length)


def separate(
    spec: Spectrogram,
    W: np.ndarray,
    H: np.ndarray,
    groups: Sequence[Sequence[int]] | None = None,
    *,
    power: float = 1.0,
    channel_gains: np.ndarray | None = None,
    steering: Steering | None = None,
) -> Iterator[np.ndarray]:
    """Yield the audio of each group (default: each component), one at a time.

    The stems :func:`render` gives (same parameters, same output) for the
    groups' gain vectors: ``groups`` holds the component indices of each stem.
    """
    k = W.shape[1]
    groups = each_component(k) if groups is None else groups
    return render(spec, W, H, (group_gains(k, members) for members in groups), power=power,
                  channel_gains=channel_gains, steering=steering)
