"""Synthetic mixtures of harmonic sources with known stems.

Each source is a harmonic tone (fundamental, number of harmonics, spectral
roll-off) switched on and off in a rhythm, with a short attack and release
so notes start without clicks, an optional decay, and a stereo pan. Because
the stems are known, separation can be scored against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .audio import Audio

__all__ = ["ToneSpec", "DemoMixture", "DEFAULT_SOURCES", "make_demo", "render_source"]

_RAMP = (
    0.005  # seconds of attack/release: short enough to keep notes crisp, long enough not to click
)


@dataclass(frozen=True)
class ToneSpec:
    """One synthetic source.

    Attributes
    ----------
    name : str
    f0 : float
        Fundamental in Hz.
    n_harmonics : int
        Partials at f0, 2 f0, …; those above Nyquist are dropped.
    rolloff : float
        Amplitude of harmonic h is ``h ** -rolloff``.
    period : float
        Seconds between note onsets.
    duty : float
        Fraction of each period the note sounds, in (0, 1].
    onset : float
        Time of the first note in seconds.
    decay : float
        Exponential decay rate within a note, 1/s (0 = sustained).
    level : float
        Peak amplitude of the source.
    pan : float
        Stereo position from -1 (left) to 1 (right).
    """

    name: str
    f0: float
    n_harmonics: int = 8
    rolloff: float = 1.0
    period: float = 1.0
    duty: float = 0.5
    onset: float = 0.0
    decay: float = 0.0
    level: float = 0.25
    pan: float = 0.0


DEFAULT_SOURCES = (
    ToneSpec("bass", 98.0, n_harmonics=10, rolloff=1.2, period=1.0, duty=0.6, pan=-0.3),
    ToneSpec("lead", 392.0, n_harmonics=6, rolloff=0.8, period=0.75, duty=0.4, onset=0.5, pan=0.4),
    ToneSpec(
        "pluck", 233.1, n_harmonics=12, rolloff=1.0, period=1.5, duty=0.9, onset=0.25, decay=3.0
    ),
)


@dataclass(frozen=True)
class DemoMixture:
    """A mixture and the stems it is the exact sum of."""

    mixture: Audio
    stems: tuple[Audio, ...]
    sources: tuple[ToneSpec, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Source names, in stem order."""
        return [s.name for s in self.sources]


def _envelope(spec: ToneSpec, t: np.ndarray) -> np.ndarray:
    since = t - spec.onset
    phase = np.mod(since, spec.period)
    length = spec.duty * spec.period
    on = (since >= 0) & (phase < length)
    ramp = np.minimum(np.minimum(phase, length - phase) / _RAMP, 1.0)
    env = np.where(on, np.clip(ramp, 0.0, 1.0), 0.0)
    if spec.decay > 0:
        env = env * np.exp(-spec.decay * phase)
    return env


def render_source(spec: ToneSpec, *, duration: float, rate: int, channels: int = 2) -> np.ndarray:
    """Samples of one source, float32 (frames, channels)."""
    if spec.f0 <= 0 or not 0 < spec.duty <= 1 or spec.period <= 0:
        raise ValueError(f"source {spec.name!r}: f0, period > 0 and duty in (0, 1] required")
    t = np.arange(int(round(duration * rate))) / rate
    tone = np.zeros_like(t)
    for h in range(1, spec.n_harmonics + 1):
        if h * spec.f0 >= rate / 2:
            break
        tone += h**-spec.rolloff * np.sin(2 * np.pi * h * spec.f0 * t + 0.7 * h)
    peak = np.max(np.abs(tone)) or 1.0
    mono = spec.level * tone / peak * _envelope(spec, t)
    if channels == 1:
        return mono.astype(np.float32)[:, None]
    # Constant-power pan; further channels repeat the stereo pair.
    angle = (spec.pan + 1) * np.pi / 4
    gains = np.resize([np.cos(angle), np.sin(angle)], channels) * np.sqrt(2)
    return (mono[:, None] * gains[None, :]).astype(np.float32)


def make_demo(
    sources: tuple[ToneSpec, ...] = DEFAULT_SOURCES,
    *,
    duration: float = 6.0,
    rate: int = 22_050,
    channels: int = 2,
) -> DemoMixture:
    """Build a mixture of synthetic sources with its true stems.

    The mixture is exactly the sum of the returned stems (in float32).
    """
    if not sources:
        raise ValueError("a demo mixture needs at least one source")
    stems = [render_source(s, duration=duration, rate=rate, channels=channels) for s in sources]
    mixture = np.sum(stems, axis=0, dtype=np.float32)
    return DemoMixture(Audio(mixture, rate), tuple(Audio(s, rate) for s in stems), tuple(sources))
