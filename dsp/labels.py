"""Labels that help a user group components: a template's pitch and how percussive it is.

Pure numpy. The pitch comes from subharmonic summation over the template's
spectrum (Hermes 1988): every candidate fundamental f0 collects the
weighted peaks of the template at h·f0, and the candidate with the largest
sum wins; the winner is refined from the positions of its harmonic peaks.
The percussiveness mixes the spectral flatness of the template (clicks and
hits are broadband) and the transience of the activation (how much of its
energy lies in frame-to-frame change).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ComponentLabel",
    "component_labels",
    "estimate_pitch",
    "harmonicity",
    "note_name",
    "percussiveness",
    "spectral_flatness",
    "transience",
]

_NOTES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")
_HARMONIC_DECAY = 0.84  # weight of harmonic h is 0.84**(h-1) (Hermes' compression)
_CANDIDATES_PER_OCTAVE = 96  # an eighth of a semitone: finer than a bin at low f0 anyway
#: Below this share of the template's energy at the harmonic positions, no pitch is reported.
MIN_HARMONICITY = 0.35


@dataclass(frozen=True)
class ComponentLabel:
    """What :func:`component_labels` says about one component.

    Attributes
    ----------
    pitch : float
        Estimated fundamental in Hz, or NaN when the template is not harmonic.
    percussive : float
        In [0, 1]: 0 sustained and tonal, 1 a click (broadband and impulsive).
    """

    pitch: float
    percussive: float

    @property
    def pitch_text(self) -> str:
        """``'220 Hz A3'``, or ``'—'`` without a pitch."""
        if not np.isfinite(self.pitch):
            return "—"
        return f"{self.pitch:.0f} Hz {note_name(self.pitch)}"


def note_name(frequency: float) -> str:
    """Nearest equal-tempered note (A4 = 440 Hz), e.g. ``'A3'`` for 220 Hz."""
    midi = int(round(69 + 12 * np.log2(frequency / 440.0)))
    return f"{_NOTES[midi % 12]}{midi // 12 - 1}"


def _bin_hz(n_bins: int, rate: float) -> float:
    return rate / (2 * (n_bins - 1))


def _peaks(template: np.ndarray) -> np.ndarray:
    """Template with every bin raised to its neighbours' maximum (a 3-bin max filter).

    A partial between two bins then scores the same wherever it falls.
    """
    spread = template.copy()
    np.maximum(spread[1:], template[:-1], out=spread[1:])
    np.maximum(spread[:-1], template[1:], out=spread[:-1])
    return spread


def _salience(
    template: np.ndarray, candidates: np.ndarray, bin_hz: float, n_harmonics: int
) -> np.ndarray:
    """Subharmonic sum of each candidate f0, float64 (len(candidates),)."""
    spread = _peaks(template)
    h = np.arange(1, n_harmonics + 1)
    positions = candidates[:, None] * h[None, :] / bin_hz
    inside = positions < len(template) - 1
    values = np.interp(np.where(inside, positions, 0.0), np.arange(len(template)), spread)
    weights = _HARMONIC_DECAY ** (h - 1)
    return (np.where(inside, values, 0.0) * weights).sum(axis=1)


def harmonicity(
    template: np.ndarray, f0: float, *, rate: float, n_harmonics: int = 10
) -> float:
    """Share in [0, 1] of the template's energy within a bin of the harmonics of ``f0``."""
    template = np.asarray(template, dtype=np.float64)
    bin_hz = _bin_hz(len(template), rate)
    power = template**2
    total = float(power.sum())
    if total <= 0 or not np.isfinite(f0):
        return 0.0
    near = np.zeros(len(template), dtype=bool)
    for h in range(1, n_harmonics + 1):
        centre = h * f0 / bin_hz
        if centre >= len(template) - 1:
            break
        near[int(np.floor(centre)) - 1 : int(np.ceil(centre)) + 2] = True
    return float(power[near].sum() / total)


def estimate_pitch(
    template: np.ndarray,
    *,
    rate: float,
    fmin: float = 40.0,
    fmax: float = 2000.0,
    n_harmonics: int = 10,
) -> float:
    """Fundamental of a spectral template by subharmonic summation, Hz (NaN if unpitched).

    Parameters
    ----------
    template : np.ndarray, (n_bins,)
        Nonnegative magnitude spectrum, bins from 0 Hz to ``rate / 2``
        (``n_bins = n_fft // 2 + 1``).
    rate : float
        Sample rate of the analysed audio, Hz.
    fmin, fmax : float
        Range of fundamentals considered.
    n_harmonics : int
        Harmonics summed per candidate.

    Returns
    -------
    float
        The fundamental, or NaN when less than :data:`MIN_HARMONICITY` of the
        template's energy lies at the harmonics of the best candidate (noise,
        clicks, an empty template).
    """
    template = np.asarray(template, dtype=np.float64).ravel()
    if template.size < 4 or not np.isfinite(template).all() or template.max() <= 0:
        return float("nan")
    bin_hz = _bin_hz(len(template), rate)
    fmin = max(fmin, bin_hz)  # below one bin the fundamental cannot be resolved
    fmax = min(fmax, rate / 2)
    if fmin >= fmax:
        return float("nan")
    n = int(np.ceil(np.log2(fmax / fmin) * _CANDIDATES_PER_OCTAVE)) + 1
    candidates = fmin * 2.0 ** (np.arange(n) / _CANDIDATES_PER_OCTAVE)
    f0 = float(candidates[np.argmax(_salience(template, candidates, bin_hz, n_harmonics))])
    f0 = _refine(template, f0, bin_hz, n_harmonics)
    if harmonicity(template, f0, rate=rate, n_harmonics=n_harmonics) < MIN_HARMONICITY:
        return float("nan")
    return f0


def _refine(template: np.ndarray, f0: float, bin_hz: float, n_harmonics: int) -> float:
    """f0 from the parabolic-interpolated peaks of its first harmonics, weighted by height."""
    estimates, weights = [], []
    for h in range(1, n_harmonics + 1):
        centre = int(round(h * f0 / bin_hz))
        if centre >= len(template) - 1:
            break
        lo, hi = max(1, centre - 1), min(len(template) - 2, centre + 1)
        peak = lo + int(np.argmax(template[lo : hi + 1]))
        a, b, c = template[peak - 1], template[peak], template[peak + 1]
        if b <= 0 or b < a or b < c:
            continue
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
        estimates.append((peak + offset) * bin_hz / h)
        weights.append(b * _HARMONIC_DECAY ** (h - 1))
    if not estimates:
        return f0
    refined = float(np.average(estimates, weights=weights))
    # A refinement that leaves the candidate's neighbourhood found other peaks: keep the grid's.
    return refined if abs(np.log2(refined / f0)) < 1 / 24 else f0


def spectral_flatness(template: np.ndarray) -> float:
    """Geometric over arithmetic mean of the power spectrum, in [0, 1] (1 = white)."""
    power = np.asarray(template, dtype=np.float64) ** 2
    mean = float(power.mean())
    if mean <= 0:
        return 0.0
    floor = mean * 1e-10  # empty bins would make the geometric mean zero whatever the rest
    return float(np.exp(np.mean(np.log(power + floor))) / (mean + floor))


def transience(activation: np.ndarray) -> float:
    """Share in [0, 1] of an activation's energy in its frame-to-frame changes.

    ``Σ (Δh)² / (2 Σ h²)`` clipped to [0, 1]: a sustained note changes only at
    its ends (near 0), a train of isolated clicks changes every frame it sounds
    (near 1).
    """
    h = np.asarray(activation, dtype=np.float64).ravel()
    energy = float(np.sum(h**2))
    if energy <= 0 or h.size < 2:
        return 0.0
    return float(min(1.0, np.sum(np.diff(h) ** 2) / (2.0 * energy)))


def percussiveness(template: np.ndarray, activation: np.ndarray) -> float:
    """How percussive a component is, in [0, 1]: mean of flatness and transience.

    Parameters
    ----------
    template : np.ndarray, (n_bins,)
        The component's spectrum (a column of W).
    activation : np.ndarray, (n_frames,)
        Its activation (a row of H).
    """
    return 0.5 * (spectral_flatness(template) ** 0.5 + transience(activation))


def component_labels(W: np.ndarray, H: np.ndarray, *, rate: float) -> list[ComponentLabel]:
    """A :class:`ComponentLabel` for every component of the factors.

    Parameters
    ----------
    W : np.ndarray, (n_bins, k)
        Templates.
    H : np.ndarray, (k, n_frames)
        Activations.
    rate : float
        Sample rate of the analysed audio, Hz.
    """
    return [
        ComponentLabel(estimate_pitch(W[:, k], rate=rate), percussiveness(W[:, k], H[k]))
        for k in range(W.shape[1])
    ]
