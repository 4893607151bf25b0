"""A realistic, deterministic corpus of music mixtures with known stems.

The old corpus (:mod:`bench.quality_corpus`: mono 16 kHz 3 s synthetic cases)
does not sound like music. Here every case is a short piece in a key, 10 to 30
s long, at 44.1 or 48 kHz, mostly stereo, made of real recorded or sampled
sound, installed locally (nothing is downloaded):

- instruments rendered per part from MIDI written here, by fluidsynth with the
  MuseScore General Lite soundfont (reverb and chorus off),
- CC0 drum hits, loops and bass samples of Debian's ``sonic-pi-samples``,
  sequenced and transposed in numpy,
- speech from espeak-ng.

Mixing follows real mixes: constant-power panning (kick, bass and voice near
the centre), stems at different levels (within 7 dB of each other), a light seeded
stereo room on some cases (so stems are not pure amplitude pans), 16-bit
quantisation of the stems in some. The mixture is exactly the float32 sum of
the stems, its peak at most 0.9. The score of each case is in
:mod:`bench.music_cases`.

Split rule, fixed before any tuning: within each kind, taking the cases in
:data:`CASES` order, every third case starting at the second (positions 1, 4,
7, ... counted from 0) is held out; all others are design cases. With five
cases per kind that holds out two per kind, 10 of 25. The per-kind layout of
formats (see :mod:`bench.music_cases`) puts stereo and mono, 44.1 and 48 kHz in
both sets.

Built cases are cached in ``bench/.cache/music/`` keyed by name and
:data:`GENERATOR_VERSION`; a build from scratch is bit-identical to the cache
(``python bench/music_corpus.py --check``).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import music_parts as mp  # noqa: E402
from bench import music_sources as ms  # noqa: E402
from bench.music_cases import SPECS, Part, Spec  # noqa: E402

GENERATOR_VERSION = 4
CACHE = Path(__file__).resolve().parent / ".cache" / "music"
KINDS: tuple[str, ...] = ("pop", "chamber", "voice", "percussion", "duo")
CASES: tuple[str, ...] = tuple(SPECS)
REFERENCE_DB = -20.0  # a stem at 0 dB gain has this RMS (dBFS) before the peak limit
PEAK = 0.89  # mixtures louder than this are scaled down as a whole
FADE = 0.05  # seconds faded out at the end, so no stem stops with a click

__all__ = ["CASES", "DESIGN", "HELD_OUT", "KINDS", "Case", "build_case", "tools_available"]


def _held_out(cases: tuple[str, ...]) -> tuple[str, ...]:
    """The split rule of the module docstring: every third case of a kind from its second."""
    seen = dict.fromkeys(KINDS, 0)
    out = []
    for name in cases:
        kind = SPECS[name].kind
        if seen[kind] % 3 == 1:
            out.append(name)
        seen[kind] += 1
    return tuple(out)


HELD_OUT: tuple[str, ...] = _held_out(CASES)
DESIGN: tuple[str, ...] = tuple(n for n in CASES if n not in HELD_OUT)


@dataclass(frozen=True)
class Case:
    """A mixture and its stems: float32 ``(frames, channels)`` each, mixture == sum of stems."""

    name: str
    kind: str
    description: str
    rate: int
    mixture: np.ndarray
    stems: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    split: str


def tools_available() -> str | None:
    """None when every tool and data file the corpus needs is installed, else why not."""
    for tool in ("fluidsynth", "espeak-ng"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not ms.SOUNDFONT.is_file():
        return f"soundfont {ms.SOUNDFONT} is missing (package musescore-general-soundfont-small)"
    if not (ms.SAMPLES / "bd_haus.flac").is_file():
        return f"sonic-pi samples are missing in {ms.SAMPLES} (package sonic-pi-samples)"
    return None


def _song(spec: Spec) -> mp.Song:
    # One bar more than the case lasts, so the music runs to the cut.
    bars = int(np.ceil(spec.seconds * spec.bpm / 60.0 / spec.beats)) + 1
    mode = mp.MINOR if spec.minor else mp.MAJOR
    return mp.Song(spec.bpm, spec.key, mode, spec.progression, bars, spec.beats, spec.swing)


def _sampled_drums(part: Part, song: mp.Song, rng, rate: int, frames: int) -> np.ndarray:
    """Sonic-pi one-shots placed at the groove's hits, louder for harder hits."""
    out = np.zeros(frames)
    kit = part.options["kit"]
    for beat, piece, velocity in mp.hits(song, rng, part.options["groove"],
                                         part.options["pieces"]):  # fmt: skip
        name, gain = kit[piece]
        start = round(beat * 60.0 / song.bpm * rate)
        ms.place(out, ms.sample(name, rate), start, gain * (velocity / 127.0) ** 1.5)
    return out


def _sampled_bass(part: Part, song: mp.Song, rng, rate: int, frames: int) -> np.ndarray:
    """A bass sample transposed note by note (within ±6 semitones of its own pitch)."""
    out = np.zeros(frames)
    source = ms.sample(part.options["sample"], rate)
    for note in mp.bass(song, rng, style=part.options["style"]):
        shift = (note.pitch - part.options["root"] + 6) % 12 - 6
        start = round(note.start * 60.0 / song.bpm * rate)
        length = round(note.length * 60.0 / song.bpm * rate)
        ms.place(out, ms.transpose(source, shift), start, note.velocity / 127.0, length)
    return out


def _speech(part: Part, song: mp.Song, rate: int, frames: int, tmp: Path) -> np.ndarray:
    """Sentences one after another, each starting on the first half-bar line after a pause."""
    out = np.zeros(frames)
    half_bar = song.beats * 30.0 / song.bpm
    start = half_bar  # the band plays half a bar before the voice comes in
    for text in part.options["sentences"]:
        x = ms.speech(part.options["voice"], part.options["pitch"], part.options["speed"],
                      text, rate, tmp)  # fmt: skip
        ms.place(out, x, round(start * rate), 1.0)
        start = np.ceil((start + len(x) / rate + 0.3) / half_bar) * half_bar
    return out


def _render(spec: Spec, seed: int, tmp: Path) -> list[np.ndarray]:
    """Every part of ``spec`` as float64 mono, ``(frames,)``, dry and unscaled."""
    frames = int(spec.seconds * spec.rate)
    song = _song(spec)
    rngs = [np.random.default_rng([seed, k]) for k in range(len(spec.parts))]
    out: list[np.ndarray | None] = [None] * len(spec.parts)
    midi: list[tuple[int, ms.MidiPart]] = []
    for k, (part, rng) in enumerate(zip(spec.parts, rngs)):
        if part.source == "gm":
            notes = getattr(mp, part.notes)(song, rng, **part.options)
            midi.append((k, ms.MidiPart(notes, part.program)))
        elif part.source == "kit":
            hits = mp.hits(song, rng, part.options["groove"], part.options["pieces"])
            midi.append((k, ms.MidiPart(mp.drum_notes(hits), drums=True)))
        elif part.source == "samples":
            out[k] = _sampled_drums(part, song, rng, spec.rate, frames)
        elif part.source == "sample_bass":
            out[k] = _sampled_bass(part, song, rng, spec.rate, frames)
        elif part.source == "loop":
            out[k] = ms.loop(part.options["sample"], part.options["beats"], spec.bpm,
                             spec.rate, frames)  # fmt: skip
        elif part.source == "speech":
            out[k] = _speech(part, song, spec.rate, frames, tmp)
        else:
            raise ValueError(f"unknown source {part.source!r}")
    rendered = ms.render_midi([p for _, p in midi], spec.bpm, spec.rate, frames, tmp)
    for (k, _), x in zip(midi, rendered):
        out[k] = x
    return out


def _mix(spec: Spec, parts: list[np.ndarray], seed: int) -> tuple[np.ndarray, ...]:
    """Pan, room, level, peak limit and (maybe) 16-bit quantisation: the final float32 stems."""
    rng = np.random.default_rng([seed, 1000])
    fade = np.ones(len(parts[0]))
    n = int(FADE * spec.rate)
    fade[-n:] = np.linspace(1.0, 0.0, n)
    stems = []
    for k, (part, x) in enumerate(zip(spec.parts, parts)):
        x = x * fade
        y = ms.pan(x, part.pan) if spec.channels == 2 else x[:, None]
        if spec.room:
            y = ms.reverb(y, spec.rate, (seed, k), seconds=1.2, wet=spec.room)
        # Level: the score's gain (a span of at most 6 dB per case) plus up to
        # ±0.5 dB, so cases with alike scores are not mixed identically.
        gain_db = REFERENCE_DB + part.gain_db + rng.uniform(-0.5, 0.5)
        y *= 10.0 ** (gain_db / 20.0) / np.sqrt(np.mean(y**2))
        stems.append(y)
    peak = np.max(np.abs(sum(stems)))
    if peak > PEAK:
        stems = [s * (PEAK / peak) for s in stems]
    if spec.pcm16:
        # k / 32768 is exact in float32, so quantised stems stay exact.
        stems = [np.clip(np.round(s * 32768.0), -32768, 32767) / 32768.0 for s in stems]
    return tuple(s.astype(np.float32) for s in stems)


def _cache_path(name: str) -> Path:
    return CACHE / f"{name}-g{GENERATOR_VERSION}.npz"


def _case(name: str, stems: tuple[np.ndarray, ...], mixture: np.ndarray) -> Case:
    spec = SPECS[name]
    split = "held-out" if name in HELD_OUT else "design"
    return Case(name, spec.kind, spec.description, spec.rate, mixture, stems,
                tuple(p.name for p in spec.parts), split)  # fmt: skip


def build_case(name: str, cache: bool = True) -> Case:
    """The case ``name``: from the disk cache, or rendered (and then cached).

    Parameters
    ----------
    name : str
        One of :data:`CASES`.
    cache : bool
        False renders from scratch and neither reads nor writes the cache
        (to check that a rebuild is bit-identical).
    """
    spec = SPECS[name]
    path = _cache_path(name)
    if cache and path.is_file():
        with np.load(path) as data:
            stems = tuple(data[f"stem{k}"] for k in range(len(spec.parts)))
            return _case(name, stems, data["mixture"])
    seed = zlib.crc32(name.encode())
    with tempfile.TemporaryDirectory() as tmp:
        stems = _mix(spec, _render(spec, seed, Path(tmp)), seed)
    mixture = functools.reduce(np.add, stems)
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp.npz")
        np.savez(partial, mixture=mixture, **{f"stem{k}": s for k, s in enumerate(stems)})
        partial.replace(path)  # atomic: a killed build leaves no half-written case
    return _case(name, stems, mixture)


def _db(x: np.ndarray) -> float:
    return 20.0 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def main(argv: list[str] | None = None) -> int:
    """Build every case (cached) and print a table; ``--write`` WAVs, ``--check`` rebuilds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="write mixture and stems as WAV files here")
    parser.add_argument(
        "--check", action="store_true", help="rebuild every case and compare with the cache"
    )
    args = parser.parse_args(argv)
    reason = tools_available()
    if reason:
        print(f"cannot build the corpus: {reason}")
        return 1
    print(f"{'case':28} {'kind':10} {'split':8} {'rate':>5} ch {'sec':>4}  stems (RMS dBFS)")
    failures, started = [], time.perf_counter()
    for name in CASES:
        case = build_case(name)
        frames, channels = case.mixture.shape
        levels = ", ".join(f"{n} {_db(s):.1f}" for n, s in zip(case.names, case.stems))
        print(f"{name:28} {case.kind:10} {case.split:8} {case.rate:5} {channels:2} "
              f"{frames / case.rate:4.0f}  {levels}")  # fmt: skip
        if args.check:
            fresh = build_case(name, cache=False)
            same = np.array_equal(fresh.mixture, case.mixture) and all(
                np.array_equal(a, b) for a, b in zip(fresh.stems, case.stems))  # fmt: skip
            if not same:
                failures.append(name)
        if args.write:
            folder = args.write / name
            folder.mkdir(parents=True, exist_ok=True)
            soundfile.write(folder / "mixture.wav", case.mixture, case.rate, subtype="FLOAT")
            for n, s in zip(case.names, case.stems):
                soundfile.write(folder / f"{n}.wav", s, case.rate, subtype="FLOAT")
    print(f"{len(CASES)} cases ({len(HELD_OUT)} held out) in {time.perf_counter() - started:.1f} s")
    if args.check:
        print("rebuild bit-identical" if not failures else f"rebuild DIFFERS: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
