"""The true sources of the open mixture, when the workstation made it (the demo, a design).

Separation can only be scored against stems that really sum to the mixture, so
a candidate is used only when its mixture equals the session's audio sample
for sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dsp.audio import Audio
from dsp.demo import DemoMixture, make_demo

__all__ = ["known_stems"]


def known_stems(
    audio: Audio | None, designs: Sequence[DemoMixture] = ()
) -> list[np.ndarray] | None:
    """Samples of each true source of ``audio``, or None when they are not known.

    Parameters
    ----------
    audio : Audio or None
        The session's mixture.
    designs : sequence of DemoMixture
        Mixtures built by the designer in this session, newest last.
    """
    if audio is None or audio.path is not None:
        return None
    candidates = [*reversed(designs)]
    candidates.append(make_demo(duration=audio.frames / audio.rate, rate=audio.rate,
                                channels=audio.channels))
    for demo in candidates:
        mixture = demo.mixture.samples
        if mixture.shape == audio.samples.shape and np.array_equal(mixture, audio.samples):
            return [stem.samples for stem in demo.stems]
    return None
