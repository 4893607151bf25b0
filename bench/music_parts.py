"""Musical content for :mod:`bench.music_corpus`: chords in a key and parts that follow them.

A :class:`Song` fixes tempo, metre, key and a chord progression (one chord a
bar, repeated); every generator turns it into notes (:class:`Note`) or drum
hits, seeded, so that a case is the same music on every build. Timings are
humanised by a few milliseconds and velocities by a few steps, as players are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.music_sources import Note

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

# GM percussion keys (channel 10) of the kit pieces the patterns use.
GM_DRUMS = {
    "kick": 36, "snare": 38, "rim": 37, "clap": 39, "hat": 42, "pedal": 44, "open": 46,
    "tom_lo": 45, "tom_mid": 47, "tom_hi": 50, "crash": 49, "ride": 51, "tambourine": 54,
    "cowbell": 56, "bongo_hi": 60, "bongo_lo": 61, "conga_mute": 62, "conga_hi": 63,
    "conga_lo": 64, "shaker": 70, "claves": 75,
}  # fmt: skip

# Drum patterns: piece -> (onsets in beats within one bar, accent velocity).
GROOVES: dict[str, dict[str, tuple[tuple[float, ...], int]]] = {
    "rock": {
        "kick": ((0, 2, 2.5), 110), "snare": ((1, 3), 105),
        "hat": (tuple(np.arange(0, 4, 0.5)), 80),
    },
    "funk": {
        "kick": ((0, 0.75, 2.5, 3.25), 110), "snare": ((1, 3, 3.75), 100),
        "hat": (tuple(np.arange(0, 4, 0.25)), 70),
    },
    "halftime": {
        "kick": ((0, 1.5, 3.5), 110), "snare": ((2,), 110),
        "hat": (tuple(np.arange(0, 4, 0.5)), 75), "open": ((3.5,), 70),
    },
    "waltz": {"kick": ((0,), 100), "snare": ((1, 2), 70), "hat": ((0, 1, 2), 70)},
    "bossa": {
        "kick": ((0, 1.5, 2, 3.5), 90), "rim": ((0.5, 1.5, 2.5, 3), 80),
        "shaker": (tuple(np.arange(0, 4, 0.5)), 60),
    },
    "latin": {
        "conga_hi": ((1, 1.5, 3, 3.5), 95), "conga_lo": ((0, 2.5), 100),
        "conga_mute": ((0.5, 2), 80), "shaker": (tuple(np.arange(0, 4, 0.25)), 55),
        "cowbell": ((0, 1, 2, 3), 85), "claves": ((0, 0.75, 1.5, 2.5, 3), 90),
    },
    "toms": {
        "kick": ((0, 2), 110), "tom_lo": ((1.5, 3.5), 100), "tom_mid": ((1, 3.25), 95),
        "tom_hi": ((0.5, 2.75), 90), "tambourine": ((1, 3), 70),
    },
}  # fmt: skip


@dataclass(frozen=True)
class Song:
    """The musical frame shared by a case's parts.

    ``progression`` holds scale degrees (0 = tonic), one chord a bar, repeated;
    ``key`` is the tonic's MIDI pitch class (0 = C).
    """

    bpm: float
    key: int
    mode: tuple[int, ...]
    progression: tuple[int, ...]
    bars: int
    beats: int = 4
    swing: float = 0.0

    def chord(self, bar: int, size: int = 3) -> list[int]:
        """Pitch classes of the bar's chord: stacked thirds on its degree (root first)."""
        degree = self.progression[bar % len(self.progression)]
        return [
            (self.key + self.mode[(degree + 2 * i) % 7] + 12 * ((degree + 2 * i) // 7)) % 12
            for i in range(size)
        ]

    def scale(self, low: int, high: int) -> list[int]:
        """MIDI pitches of the key's scale between ``low`` and ``high`` inclusive."""
        pcs = {(self.key + step) % 12 for step in self.mode}
        return [p for p in range(low, high + 1) if p % 12 in pcs]


def _nearest(pitch_class: int, target: int) -> int:
    """The pitch of class ``pitch_class`` closest to ``target``."""
    return target + ((pitch_class - target + 6) % 12) - 6


def humanise(notes: list[Note], song: Song, rng: np.random.Generator) -> tuple[Note, ...]:
    """Shift onsets by ~6 ms and velocities by ~5 steps, and swing off-beat eighths."""
    sd_beats = 0.006 * song.bpm / 60.0
    out = []
    for note in notes:
        start = note.start
        if song.swing and abs(start % 1.0 - 0.5) < 1e-6:
            start += song.swing / 2.0
        start = max(0.0, start + rng.normal(0.0, sd_beats))
        velocity = int(np.clip(note.velocity + rng.normal(0.0, 5.0), 20, 127))
        out.append(Note(start, note.length, note.pitch, velocity))
    return tuple(out)


def pad(song: Song, rng: np.random.Generator, centre: int = 60, velocity: int = 70,
        size: int = 4) -> tuple:  # fmt: skip
    """Sustained chords of ``size`` notes (4: sevenths), voice-led to the nearest chord tone."""
    voices = [_nearest(pc, centre + 4 * i - 6) for i, pc in enumerate(song.chord(0, size))]
    notes = []
    for bar in range(song.bars):
        chord = song.chord(bar, size)
        voices = [_nearest(min(chord, key=lambda pc, v=v: abs(_nearest(pc, v) - v)), v)
                  for v in voices]  # fmt: skip
        notes += [Note(bar * song.beats, song.beats, v, velocity) for v in sorted(set(voices))]
    return humanise(notes, song, rng)


def comp(song: Song, rng: np.random.Generator, centre: int = 62, velocity: int = 75) -> tuple:
    """Chords struck on a syncopated rhythm (piano, guitar or electric-piano comping)."""
    rhythms = ((0, 1.5, 2.5), (0, 1, 2, 3), (0.5, 1.5, 2.5, 3.5), (0, 2, 2.5))
    rhythm = rhythms[rng.integers(len(rhythms))]
    notes = []
    for bar in range(song.bars):
        chord = [_nearest(pc, centre) for pc in song.chord(bar)]
        for i, onset in enumerate(r for r in rhythm if r < song.beats):
            accent = velocity + (8 if i == 0 else 0)
            notes += [Note(bar * song.beats + onset, 0.45, p, accent) for p in chord]
    return humanise(notes, song, rng)


def arpeggio(song: Song, rng: np.random.Generator, centre: int = 60, step: float = 0.5,
             velocity: int = 72) -> tuple:  # fmt: skip
    """Broken chords in even notes of ``step`` beats, up then down across two octaves."""
    notes = []
    per_bar = int(song.beats / step)
    for bar in range(song.bars):
        chord = sorted(_nearest(pc, centre) for pc in song.chord(bar))
        tones = chord + [p + 12 for p in chord]
        order = tones + tones[-2:0:-1]
        for i in range(per_bar):
            notes.append(Note(bar * song.beats + i * step, step * 1.8, order[i % len(order)],
                              velocity + (10 if i == 0 else 0)))  # fmt: skip
    return humanise(notes, song, rng)


def bass(song: Song, rng: np.random.Generator, octave: int = 2, style: str = "root") -> tuple:
    """A bass line on the chord roots: ``root`` (roots and fifths), ``eighths`` or ``walk``."""
    notes = []
    base = 12 * (octave + 1)
    for bar in range(song.bars):
        root, _, fifth = song.chord(bar)
        r = base + (root - song.key) % 12 + song.key
        f = r + (fifth - root) % 12
        start = bar * song.beats
        if style == "eighths":
            notes += [Note(start + i * 0.5, 0.4, r if i != 6 else f, 95 if i % 2 == 0 else 80)
                      for i in range(2 * song.beats)]  # fmt: skip
        elif style == "walk":
            scale = song.scale(r - 5, r + 9)
            nxt = base + (song.chord(bar + 1)[0] - song.key) % 12 + song.key
            line = [r, scale[min(scale.index(r) + 2, len(scale) - 1)], f, nxt + 1 if
                    rng.random() < 0.5 else nxt - 1][: song.beats]  # fmt: skip
            notes += [Note(start + i, 0.9, p, 90) for i, p in enumerate(line)]
        else:
            notes += [Note(start, 1.4, r, 100), Note(start + 1.5, 0.4, r, 80)]
            if song.beats == 4:
                notes += [Note(start + 2, 1.0, f, 90), Note(start + 3.5, 0.4, r + 12, 75)]
    return humanise(notes, song, rng)


def melody(song: Song, rng: np.random.Generator, low: int = 62, high: int = 81,
           velocity: int = 88, density: float = 1.0) -> tuple:  # fmt: skip
    """A tune: a two-bar motif of scale steps, restated with variations over the chords.

    Strong beats land on chord tones; the motif's rhythm repeats so the line
    has phrases rather than a random walk's aimlessness.
    """
    scale = song.scale(low, high)
    rhythms = ((1, 1, 1, 1), (1.5, 0.5, 1, 1), (0.5, 0.5, 1, 2), (2, 1, 1), (1, 0.5, 0.5, 2),
               (3, 1), (1, 1, 2))  # fmt: skip
    if density < 1.0:
        rhythms = ((2, 2), (3, 1), (2, 1, 1), (4,))
    motif = [rhythms[rng.integers(len(rhythms))] for _ in range(2)]
    steps = rng.choice([-2, -1, -1, 1, 1, 2, 0, 3], size=16)
    index = len(scale) // 2
    notes = []
    for bar in range(song.bars):
        rhythm = motif[bar % 2] if rng.random() < 0.75 else rhythms[rng.integers(len(rhythms))]
        chord = song.chord(bar)
        t = 0.0
        for i, length in enumerate(rhythm):
            if t >= song.beats:
                break
            length = min(length, song.beats - t)
            index = int(np.clip(index + steps[(bar % 2) * 4 + i], 0, len(scale) - 1))
            if i == 0:  # land on the chord tone nearest the line
                tones = [j for j, p in enumerate(scale) if p % 12 in chord]
                index = min(tones, key=lambda j: abs(j - index))
            if bar % 4 == 3 and i == len(rhythm) - 1:
                length = min(length, 0.5)  # breathe at the end of a phrase
            notes.append(Note(bar * song.beats + t, length * 0.92, scale[index],
                              velocity + (6 if i == 0 else 0)))  # fmt: skip
            t += length
    return humanise(notes, song, rng)


def inner(song: Song, rng: np.random.Generator, centre: int, chord_index: int,
          step: float = 2.0, velocity: int = 70) -> tuple:  # fmt: skip
    """An inner voice holding one chord member (0 root, 1 third, 2 fifth) near ``centre``.

    Notes of ``step`` beats; with ``chord_index`` different per voice, two inner
    voices and a bass make four-part harmony.
    """
    notes = []
    for bar in range(song.bars):
        pc = song.chord(bar)[chord_index]
        t = 0.0
        while t < song.beats:
            length = min(step, song.beats - t)
            notes.append(Note(bar * song.beats + t, length * 0.95, _nearest(pc, centre), velocity))
            t += length
    return humanise(notes, song, rng)


def hits(song: Song, rng: np.random.Generator, groove: str,
         pieces: tuple[str, ...] | None = None) -> list[tuple[float, str, int]]:  # fmt: skip
    """Drum hits ``(beat, piece, velocity)`` of ``groove`` over the song, with fills.

    ``pieces`` keeps only those kit pieces (a stem per piece). Every fourth bar
    ends with a fill on the snare or toms, the first beat of every eighth bar
    has a crash, and off-beat hits are softer, as a drummer plays them.
    """
    pattern = GROOVES[groove]
    out = []
    for bar in range(song.bars):
        start = bar * song.beats
        for piece, (onsets, velocity) in pattern.items():
            for onset in onsets:
                if onset >= song.beats or (bar % 4 == 3 and onset >= song.beats - 1 and
                                           piece in ("snare", "hat")):  # fmt: skip
                    continue
                soft = 0 if onset % 1.0 == 0 else 12
                out.append((start + onset, piece, velocity - soft))
        if bar % 4 == 3 and "snare" in pattern:
            fill = ("snare", "tom_hi", "tom_mid", "tom_lo")[: 1 + int(rng.integers(4))]
            for i in range(4):
                out.append((start + song.beats - 1 + i * 0.25, fill[i % len(fill)], 90 + 5 * i))
        if bar % 8 == 0 and bar > 0 and "kick" in pattern:
            out.append((start, "crash", 100))
    if pieces is not None:
        out = [h for h in out if h[1] in pieces]
    sd = 0.004 * song.bpm / 60.0
    return sorted(
        (max(0.0, b + rng.normal(0.0, sd)), p, int(np.clip(v + rng.normal(0, 6), 20, 127)))
        for b, p, v in out
    )


def drum_notes(drum_hits: list[tuple[float, str, int]]) -> tuple[Note, ...]:
    """The hits as GM drum-kit notes (channel 10)."""
    return tuple(Note(b, 0.25, GM_DRUMS[p], v) for b, p, v in drum_hits)
