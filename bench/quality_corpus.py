"""Deterministic corpus of short mixtures with known stems, for the quality benchmark.

Material that installs here and needs no download:

- speech from espeak-ng (different voices and pitches, talking over each other),
- plucked notes from sox's Karplus–Strong ``synth pluck`` (run with ``-R`` so
  its noise excitation is repeatable),
- bowed notes: sox sawtooth with vibrato-like tremolo, low-passed, slow attack,
- drums synthesised in numpy (kick, snare, hi-hat; seeded noise),
- harmonic tones from :mod:`dsp.demo`.

Every stem is scaled to the same RMS before mixing, so each case is a fair
0 dB mixture; the mixture is exactly the sum of the stems. Cases are mono,
16 kHz, 3 s long: long enough for NMF to learn, short enough for BSS Eval.

The module has the interface of :mod:`bench.music_corpus` (``Case``, ``CASES``,
``DESIGN``, ``HELD_OUT``, ``KINDS``, ``build_case``, ``tools_available``), so
``bench/separation_quality.py --corpus synthetic`` scores it the same way.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

from dsp.demo import ToneSpec, render_source

RATE = 16_000
DURATION = 3.0
LENGTH = int(RATE * DURATION)
STEM_RMS = 0.05

__all__ = [
    "Case",
    "CASES",
    "DESIGN",
    "HELD_OUT",
    "KINDS",
    "RATE",
    "build_case",
    "build_corpus",
    "tools_available",
]


@dataclass(frozen=True)
class Case:
    """A mixture and its stems, float32 mono ``(LENGTH, 1)`` each (stems sum to the mixture).

    ``kind`` is one of :data:`KINDS`, ``split`` is ``"design"`` or ``"held-out"``.
    """

    name: str
    kind: str
    description: str
    rate: int
    mixture: np.ndarray
    stems: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    split: str


def tools_available() -> str | None:
    """None when the corpus can be built, else what is missing (espeak-ng, sox)."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    return f"needs {' and '.join(missing)} on PATH" if missing else None


def _read(path: Path) -> np.ndarray:
    rate, x = scipy.io.wavfile.read(path)
    if rate != RATE:
        raise RuntimeError(f"{path}: expected {RATE} Hz, got {rate}")
    x = x.astype(np.float64)
    if np.issubdtype(x.dtype, np.integer) or np.max(np.abs(x)) > 2:
        x /= 32768.0
    return x.reshape(len(x), -1).mean(axis=1)


def _fit(x: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Place ``x`` at ``offset`` seconds in a LENGTH-sample buffer (cut or zero-padded)."""
    out = np.zeros(LENGTH)
    start = int(offset * RATE)
    n = max(0, min(len(x), LENGTH - start))
    out[start : start + n] = x[:n]
    return out


@functools.cache
def speech(voice: str, pitch: int, speed: int, text: str) -> np.ndarray:
    """espeak-ng speech resampled by sox to RATE, float64 mono."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = Path(tmp, "raw.wav"), Path(tmp, "out.wav")
        subprocess.run(
            ["espeak-ng", "-w", str(raw), "-v", voice, "-p", str(pitch), "-s", str(speed), text],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav)],
            check=True,
            capture_output=True,
        )
        return _read(wav)


@functools.cache
def sox_note(kind: str, note: str, seconds: float) -> np.ndarray:
    """One sox-synthesised note: ``pluck`` (Karplus–Strong) or ``bowed`` (sawtooth)."""
    if kind == "pluck":
        effects = ["synth", f"{seconds}", "pluck", note, "fade", "0", f"{seconds}", "0.05"]
    elif kind == "bowed":
        effects = [
            "synth", f"{seconds}", "sawtooth", note,
            "lowpass", "2500", "tremolo", "5.5", "20",
            "fade", "q", "0.12", f"{seconds}", "0.15",
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown note kind {kind!r}")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp, "note.wav")
        subprocess.run(
            ["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(wav), *effects],
            check=True,
            capture_output=True,
        )
        return _read(wav)


def melody(kind: str, notes: list[tuple[float, str, float]]) -> np.ndarray:
    """Sum of notes ``(onset s, note name, length s)`` of one instrument."""
    out = np.zeros(LENGTH)
    for onset, note, seconds in notes:
        out += _fit(sox_note(kind, note, seconds), onset)
    return out


def drums(seed: int, *, bpm: float = 120.0, pattern: str = "K.H.S.H.K.KHS.H.") -> np.ndarray:
    """Kick (K), snare (S) and hi-hat (H) on a sixteenth-note grid, seeded."""
    rng = np.random.default_rng(seed)
    step = 60.0 / bpm / 4
    t = np.arange(int(0.4 * RATE)) / RATE
    sweep = 2 * np.pi * np.cumsum(50 + 90 * np.exp(-t * 30)) / RATE
    kick = np.sin(sweep) * np.exp(-t * 9)
    b, a = scipy.signal.butter(2, [1200, 5000], btype="band", fs=RATE)
    snare_noise = scipy.signal.lfilter(b, a, rng.standard_normal(len(t)))
    snare = (0.6 * np.sin(2 * np.pi * 185 * t) + 2.0 * snare_noise) * np.exp(-t * 18)
    b, a = scipy.signal.butter(4, 6000, btype="high", fs=RATE)
    hat = scipy.signal.lfilter(b, a, rng.standard_normal(len(t))) * np.exp(-t * 60)
    hits = {"K": kick, "S": snare, "H": 0.5 * hat}
    out = np.zeros(LENGTH)
    n_steps = int(DURATION / step)
    for i in range(n_steps):
        symbol = pattern[i % len(pattern)]
        if symbol in hits:
            out += _fit(hits[symbol] * rng.uniform(0.8, 1.0), i * step)
    return out


def tone(spec: ToneSpec) -> np.ndarray:
    """A :mod:`dsp.demo` harmonic source, mono float64."""
    return render_source(spec, duration=DURATION, rate=RATE, channels=1)[:, 0].astype(np.float64)


_TEXT_A = "Please bring the blue book from the kitchen table before noon."
_TEXT_B = "Seven quiet horses walked slowly along the sandy river shore."
_TEXT_C = "Nobody expected the weather to change so quickly today."

_PLUCKS = [(0.0, "C3", 0.6), (0.5, "E3", 0.6), (1.0, "G3", 0.6), (1.5, "C4", 0.6),
           (2.0, "G3", 0.5), (2.5, "E3", 0.5)]  # fmt: skip
_BASS = [(0.0, "A1", 0.75), (0.75, "A1", 0.75), (1.5, "D2", 0.75), (2.25, "E2", 0.75)]
_BOWED = [(0.0, "D4", 1.1), (1.0, "F4", 1.1), (2.0, "A4", 1.0)]
_BOWED_LOW = [(0.0, "G3", 1.6), (1.5, "D3", 1.5)]
_LEAD = [(0.0, "E5", 0.4), (0.4, "G5", 0.4), (0.8, "A5", 0.8), (1.6, "G5", 0.4), (2.0, "E5", 0.5),
         (2.5, "D5", 0.5)]  # fmt: skip
_BOWED_MID = [(0.2, "B3", 1.3), (1.4, "E4", 1.6)]


def _sources(name: str) -> tuple[str, tuple[tuple[str, np.ndarray], ...]]:
    """Description and named stems of the case ``name``."""
    male = functools.partial(speech, "en+m3", 35, 165)
    female = functools.partial(speech, "en-us+f3", 75, 175)
    if name == "two_voices":
        return "male + female voice talking over each other", (
            ("male", _fit(male(_TEXT_A))),
            ("female", _fit(female(_TEXT_B), 0.3)),
        )
    if name == "voice_plucks":
        return "voice + plucked arpeggio", (
            ("voice", _fit(male(_TEXT_C))),
            ("pluck", melody("pluck", _PLUCKS)),
        )
    if name == "voice_drums":
        return "voice + drum loop", (
            ("voice", _fit(female(_TEXT_A))),
            ("drums", drums(1)),
        )
    if name == "pluck_bowed":
        return "plucked arpeggio + bowed melody", (
            ("pluck", melody("pluck", _PLUCKS)),
            ("bowed", melody("bowed", _BOWED)),
        )
    if name == "bass_drums":
        return "plucked bass line + drum loop", (
            ("bass", melody("pluck", _BASS)),
            ("drums", drums(2, pattern="K.H.S.HKK.H.S.HH")),
        )
    if name == "three_tones":
        return "three dsp.demo harmonic tones (bass, lead, decaying pluck)", (
            ("bass", tone(ToneSpec("bass", 98.0, n_harmonics=10, rolloff=1.2, duty=0.6))),
            ("lead", tone(ToneSpec("lead", 392.0, 6, 0.8, period=0.75, duty=0.4, onset=0.5))),
            ("pluck", tone(ToneSpec("pluck", 233.1, 12, period=1.5, duty=0.9, decay=3.0))),
        )
    if name == "voices_drums":
        return "male + female voice + drum loop", (
            ("male", _fit(male(_TEXT_B))),
            ("female", _fit(female(_TEXT_C), 0.2)),
            ("drums", drums(3, bpm=100)),
        )
    if name == "bowed_tone_drums":
        return "low bowed line + harmonic tone + drum loop", (
            ("bowed", melody("bowed", _BOWED_LOW)),
            ("tone", tone(ToneSpec("tone", 523.3, 5, 1.0, period=0.5, duty=0.5, onset=0.25))),
            ("drums", drums(4, bpm=110, pattern="K...S.H.K.K.S.H.")),
        )
    # Held-out cases: added after the grouping method was chosen on the eight above.
    if name == "two_men":
        return "two male voices (different accents and pitches) talking over each other", (
            ("male", _fit(male(_TEXT_C))),
            ("scot", _fit(speech("en-gb-scotland+m1", 55, 160, _TEXT_A), 0.25)),
        )
    if name == "voice_bowed":
        return "female voice + low bowed line", (
            ("voice", _fit(female(_TEXT_B))),
            ("bowed", melody("bowed", _BOWED_LOW)),
        )
    if name == "bass_lead_plucks":
        return "plucked bass line + plucked high melody (one instrument, two registers)", (
            ("bass", melody("pluck", _BASS)),
            ("lead", melody("pluck", _LEAD)),
        )
    if name == "voice_tone":
        return "male voice + sustained harmonic tone", (
            ("voice", _fit(male(_TEXT_A))),
            ("tone", tone(ToneSpec("tone", 330.0, 8, 1.0, period=1.0, duty=0.7, onset=0.1))),
        )
    if name == "pluck_bowed_drums":
        return "plucked arpeggio + bowed line + drum loop", (
            ("pluck", melody("pluck", _PLUCKS)),
            ("bowed", melody("bowed", _BOWED_MID)),
            ("drums", drums(5, bpm=90, pattern="K.H.S.H.KKH.S.H.")),
        )
    raise KeyError(name)


CASES = (
    "two_voices",
    "voice_plucks",
    "voice_drums",
    "pluck_bowed",
    "bass_drums",
    "three_tones",
    "voices_drums",
    "bowed_tone_drums",
    "two_men",
    "voice_bowed",
    "bass_lead_plucks",
    "voice_tone",
    "pluck_bowed_drums",
)
#: The first eight cases: every method was chosen on these (the rest are held out).
DESIGN = CASES[:8]
HELD_OUT = CASES[8:]
KINDS = ("voice", "duo", "chamber", "percussion")
# voice: voices only; duo: two pitched sources (voices count); chamber: three
# pitched sources; percussion: drums among the sources.
_KIND = {
    "two_voices": "voice",
    "voice_plucks": "duo",
    "voice_drums": "percussion",
    "pluck_bowed": "duo",
    "bass_drums": "percussion",
    "three_tones": "chamber",
    "voices_drums": "percussion",
    "bowed_tone_drums": "percussion",
    "two_men": "voice",
    "voice_bowed": "duo",
    "bass_lead_plucks": "duo",
    "voice_tone": "duo",
    "pluck_bowed_drums": "percussion",
}


def build_case(name: str) -> Case:
    """Render one case: stems at equal RMS, mixture their exact float32 sum."""
    description, named = _sources(name)
    stems = []
    for _, x in named:
        rms = float(np.sqrt(np.mean(x**2)))
        stems.append((x * (STEM_RMS / max(rms, 1e-12))).astype(np.float32)[:, None])
    mixture = np.sum(stems, axis=0, dtype=np.float32)
    split = "design" if name in DESIGN else "held-out"
    return Case(name, _KIND[name], description, RATE, mixture, tuple(stems),
                tuple(n for n, _ in named), split)


def build_corpus(names: tuple[str, ...] = CASES) -> list[Case]:
    """Every case of the corpus, in order."""
    return [build_case(n) for n in names]
