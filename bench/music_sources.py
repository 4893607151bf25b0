"""Renderers of real recorded and sampled material for :mod:`bench.music_corpus`.

Three kinds of material, all installed locally (nothing is downloaded):

- MIDI parts rendered by fluidsynth with the MuseScore General Lite soundfont
  (reverb and chorus off, so each part is a clean, dry stem),
- CC0 one-shots and loops of Debian's ``sonic-pi-samples``, sequenced in numpy,
- speech from espeak-ng.

Everything returns float64 mono at the requested rate; placing a part in the
stereo field (:func:`pan`, :func:`reverb`) is the mixer's job, so that every
source is panned by one law.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile

SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")
SAMPLES = Path("/usr/share/sonic-pi/samples")
TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # GM percussion is MIDI channel 10, numbered 9 on the wire
# Seconds of silence after the last note, so fluidsynth renders the release tails
# instead of stopping at the last note-off.
TAIL = 2.0


@dataclass(frozen=True)
class Note:
    """One note: start and length in beats, MIDI pitch, velocity 1..127."""

    start: float
    length: float
    pitch: int
    velocity: int


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits a byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@dataclass(frozen=True)
class MidiPart:
    """One instrument's notes and its GM program (0-based); ``drums`` plays the GM kit."""

    notes: tuple[Note, ...]
    program: int = 0
    drums: bool = False


def midi_file(segments: Sequence[tuple[MidiPart, int, float]], bpm: float) -> bytes:
    """A format-0 Standard MIDI File: each part on its channel, shifted by its offset.

    Parameters
    ----------
    segments : sequence of (MidiPart, channel, offset)
        The channel (0..15; 9 plays the GM drum kit) and the offset in beats at
        which the part's beat 0 falls. A part's sound is cut (all sound off) at
        the next part's offset, so a later part never carries an earlier tail.
    bpm : float
        Tempo in quarter notes per minute.

    Returns
    -------
    bytes
        The file's contents.
    """
    # (tick, order, event bytes). At one tick, sound-off and note-offs come before
    # note-ons, so a repeated pitch is re-struck rather than cut short.
    events: list[tuple[int, int, bytes]] = []
    for k, (part, channel, offset) in enumerate(segments):
        events.append((0, 0, bytes([0xC0 | channel, part.program])))
        for note in part.notes:
            on = round((offset + note.start) * TICKS_PER_BEAT)
            off = max(on + 1, round((offset + note.start + note.length) * TICKS_PER_BEAT))
            velocity = int(np.clip(note.velocity, 1, 127))
            events.append((on, 2, bytes([0x90 | channel, note.pitch, velocity])))
            events.append((off, 1, bytes([0x80 | channel, note.pitch, 0])))
        if k + 1 < len(segments):
            cut = round(segments[k + 1][2] * TICKS_PER_BEAT)
            events.append((cut, 0, bytes([0xB0 | channel, 120, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    tempo = round(60_000_000 / bpm)
    track = bytearray(b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big"))
    tick = 0
    for when, _, data in events:
        track += _vlq(when - tick) + data
        tick = when
    track += _vlq(round(TAIL * bpm / 60 * TICKS_PER_BEAT)) + b"\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big")
    header += (1).to_bytes(2, "big") + TICKS_PER_BEAT.to_bytes(2, "big")
    return header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track)


def render_midi(
    parts: Sequence[MidiPart], bpm: float, rate: int, frames: int, tmp: Path
) -> list[np.ndarray]:
    """Render each part dry (no reverb, no chorus) with fluidsynth, float64 mono.

    Loading the soundfont costs about 1.5 s, rendering a minute of audio a
    fraction of that; so the parts play one after another in one file, one run
    of fluidsynth, and are cut apart at their known offsets. The soundfont's own
    stereo image (e.g. a piano's spread) is folded to mono; the corpus pans
    every part itself.

    Returns
    -------
    list of ndarray
        One ``(frames,)`` array per part, beat 0 at sample 0.
    """
    if not parts:
        return []
    # Each slot is the case's length plus the tail, in whole beats.
    slot = np.ceil((frames / rate + TAIL) * bpm / 60.0)
    melodic = iter(c for c in range(16) if c != DRUM_CHANNEL)
    segments = [
        (part, DRUM_CHANNEL if part.drums else next(melodic), k * slot)
        for k, part in enumerate(parts)
    ]
    mid, wav = tmp / "parts.mid", tmp / "parts.wav"
    mid.write_bytes(midi_file(segments, bpm))
    # dynamic-sample-loading decodes only the samples the parts use (faster, same output).
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(rate),
         "-o", "synth.dynamic-sample-loading=1", "-O", "float", "-T", "wav",
         "-F", str(wav), str(SOUNDFONT), str(mid)],
        check=True, capture_output=True,
    )  # fmt: skip
    audio, got = soundfile.read(wav, dtype="float64", always_2d=True)
    if got != rate:
        raise RuntimeError(f"fluidsynth rendered {got} Hz, asked for {rate}")
    mono = np.concatenate([audio.mean(axis=1), np.zeros(frames)])
    starts = [round(offset * 60.0 / bpm * rate) for _, _, offset in segments]
    return [mono[s : s + frames].copy() for s in starts]


def resample(x: np.ndarray, source: int, target: int) -> np.ndarray:
    """Band-limited rational resampling (``resample_poly``) from ``source`` to ``target`` Hz."""
    if source == target:
        return x
    g = gcd(source, target)
    return scipy.signal.resample_poly(x, target // g, source // g)


@functools.cache
def sample(name: str, rate: int) -> np.ndarray:
    """A sonic-pi sample (``name`` without ``.flac``) as float64 mono at ``rate``.

    Cached per process; callers must not modify the array.
    """
    audio, native = soundfile.read(SAMPLES / f"{name}.flac", dtype="float64", always_2d=True)
    out = resample(audio.mean(axis=1), native, rate)
    out.flags.writeable = False
    return out


def transpose(x: np.ndarray, semitones: float) -> np.ndarray:
    """Play ``x`` faster or slower by ``2**(semitones/12)``, as a sampler does (pitch and length).

    Linear interpolation suffices for the small shifts used here (at most a
    fifth), and upward shifts of bass samples alias little.
    """
    ratio = 2.0 ** (semitones / 12.0)
    positions = np.arange(0.0, len(x) - 1, ratio)
    return np.interp(positions, np.arange(len(x)), x)


def place(
    out: np.ndarray, x: np.ndarray, start: int, gain: float, length: int | None = None
) -> None:
    """Add ``gain * x`` into ``out`` at sample ``start``, cut to ``length`` with a 10 ms fade."""
    if length is not None and length < len(x):
        x = x[:length].copy()
        fade = min(len(x), 441)
        x[-fade:] *= np.linspace(1.0, 0.0, fade)
    n = min(len(x), len(out) - start)
    if n > 0:
        out[start : start + n] += gain * x[:n]


def loop(name: str, beats: int, bpm: float, rate: int, frames: int) -> np.ndarray:
    """A sonic-pi loop that lasts ``beats`` beats, resampled to fit ``bpm`` and repeated.

    Fitting the tempo by resampling shifts the pitch a little, as a sampler's
    loop stretched to a song's tempo does.
    """
    x = sample(name, rate)
    target = round(beats * 60.0 / bpm * rate)
    fitted = np.interp(np.linspace(0, len(x) - 1, target), np.arange(len(x)), x)
    reps = -(-frames // target)
    return np.tile(fitted, reps)[:frames]


def speech(voice: str, pitch: int, speed: int, text: str, rate: int, tmp: Path) -> np.ndarray:
    """espeak-ng speech (22050 Hz) resampled to ``rate``, float64 mono.

    Leading and trailing silence (below -50 dB of the peak) is trimmed, so a
    sentence's length is the time it is heard.
    """
    wav = tmp / f"speech{len(list(tmp.iterdir()))}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
        check=True, capture_output=True,
    )  # fmt: skip
    audio, native = soundfile.read(wav, dtype="float64", always_2d=True)
    x = resample(audio.mean(axis=1), native, rate)
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20) * np.max(np.abs(x)))
    return x[loud[0] : loud[-1] + 1]


def pan(x: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of mono ``x``: position -1 (left) .. 0 (centre) .. +1 (right).

    Returns ``(frames, 2)``; left² + right² gains sum to 1 at every position, so
    a source keeps its loudness wherever it is placed.
    """
    angle = (position + 1.0) * np.pi / 4.0
    return np.stack([np.cos(angle) * x, np.sin(angle) * x], axis=1)


def reverb(
    dry: np.ndarray, rate: int, seed: Sequence[int], seconds: float, wet: float
) -> np.ndarray:
    """Add a light room to a ``(frames, channels)`` stem: exponentially decaying noise.

    Each channel gets its own noise (decorrelated left and right), so a
    reverberated stem is no longer a pure amplitude pan of one signal. The
    impulse response has unit energy, a 15 ms pre-delay and a 60 dB decay over
    ``seconds``; ``wet`` scales it against the dry signal.
    """
    rng = np.random.default_rng(list(seed))
    n = int(seconds * rate)
    t = np.arange(n) / rate
    envelope = 10.0 ** (-3.0 * t / seconds)  # -60 dB at t = seconds
    source = dry.mean(axis=1)
    out = dry.copy()
    for ch in range(dry.shape[1]):
        ir = rng.standard_normal(n) * envelope
        ir[: int(0.015 * rate)] = 0.0
        ir *= wet / np.sqrt(np.sum(ir**2))
        out[:, ch] += scipy.signal.fftconvolve(source, ir)[: len(dry)]
    return out
