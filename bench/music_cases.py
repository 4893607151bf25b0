"""The score of every case of :mod:`bench.music_corpus`: what plays, where, how loud.

Pure data. Per kind the five cases follow one layout of formats, so that the
split rule of :mod:`bench.music_corpus` (second and fifth case of each kind
held out) puts every format in both sets: 1st stereo 44.1 kHz (some long),
2nd stereo 44.1 kHz, 3rd mono, 4th stereo 48 kHz, 5th varies by kind.

Pan positions run from -1 (left) to +1 (right); kick, bass and lead voice sit
near the centre. Gains are dB relative to the corpus's reference stem level,
spanning at most 6 dB within a case, as in a balanced mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# GM programs (0-based).
PIANO, E_PIANO, VIBES, MARIMBA, ORGAN = 0, 4, 11, 12, 16
NYLON, STEEL, CLEAN_GTR = 24, 25, 27
UPRIGHT, FINGERED, PICKED = 32, 33, 34
VIOLIN, VIOLA, CELLO, PIZZ, HARP, STRINGS, SLOW_STRINGS = 40, 41, 42, 45, 46, 48, 49
TRUMPET, TROMBONE, HORN, BRASS = 56, 57, 60, 61
TENOR_SAX, BASSOON, CLARINET, FLUTE = 66, 70, 71, 73
WARM_PAD, SITAR = 89, 104

# Sonic-pi kits: kit piece -> (sample, gain).
ACOUSTIC_KIT = {
    "kick": ("drum_heavy_kick", 1.0), "snare": ("drum_snare_hard", 0.8),
    "hat": ("drum_cymbal_closed", 0.5), "open": ("drum_cymbal_open", 0.4),
    "crash": ("drum_splash_hard", 0.4), "tom_hi": ("drum_tom_hi_hard", 0.7),
    "tom_mid": ("drum_tom_mid_hard", 0.7), "tom_lo": ("drum_tom_lo_hard", 0.7),
}  # fmt: skip
CLUB_KIT = {
    "kick": ("bd_tek", 1.0), "snare": ("sn_dolf", 0.8), "hat": ("drum_cymbal_pedal", 0.5),
    "open": ("drum_cymbal_open", 0.3), "crash": ("drum_splash_soft", 0.4),
    "tom_hi": ("elec_fuzz_tom", 0.6), "tom_mid": ("elec_fuzz_tom", 0.6),
    "tom_lo": ("drum_tom_lo_soft", 0.7), "rim": ("elec_wood", 0.6), "shaker": ("elec_tick", 0.4),
}  # fmt: skip
HOUSE_KIT = {
    "kick": ("bd_haus", 1.0), "snare": ("sn_generic", 0.7), "hat": ("drum_cymbal_closed", 0.5),
    "open": ("drum_cymbal_open", 0.3), "crash": ("drum_splash_soft", 0.4),
    "tom_hi": ("drum_tom_hi_soft", 0.7), "tom_mid": ("drum_tom_mid_soft", 0.7),
    "tom_lo": ("drum_tom_lo_soft", 0.7),
}  # fmt: skip
ELECTRO_KIT = {
    "kick": ("bd_808", 1.0), "snare": ("elec_hi_snare", 0.7), "hat": ("drum_cymbal_closed", 0.4),
    "open": ("elec_cymbal", 0.3), "crash": ("elec_cymbal", 0.4), "tom_hi": ("elec_hi_snare", 0.5),
    "tom_mid": ("elec_mid_snare", 0.5), "tom_lo": ("elec_lo_snare", 0.5),
}  # fmt: skip
TABLA_KIT = {
    "conga_lo": ("tabla_ghe1", 1.0), "conga_hi": ("tabla_na", 0.8),
    "conga_mute": ("tabla_te1", 0.6), "shaker": ("tabla_ke1", 0.4), "cowbell": ("tabla_tun1", 0.6),
    "claves": ("tabla_re", 0.5),
}  # fmt: skip
SNARE_TOMS = ("snare", "tom_hi", "tom_mid", "tom_lo")
CYMBALS = ("hat", "open", "crash")
KIT_ALL = None


@dataclass(frozen=True)
class Part:
    """One stem: its source, placement and level; ``options`` go to the generator."""

    name: str
    source: str  # "gm" | "kit" | "samples" | "sample_bass" | "loop" | "speech"
    pan: float
    gain_db: float
    program: int = 0
    notes: str = ""  # a generator of bench.music_parts: melody, pad, comp, ...
    options: dict = field(default_factory=dict)


def gm(name, program, notes, pan, gain_db, **options) -> Part:
    """A GM instrument of the soundfont playing a generator's notes."""
    return Part(name, "gm", pan, gain_db, program, notes, options)


def kit(name, groove, pieces, pan, gain_db) -> Part:
    """GM drum-kit pieces (all when ``pieces`` is None) rendered from MIDI."""
    return Part(name, "kit", pan, gain_db, options={"groove": groove, "pieces": pieces})


def samples(name, groove, sample_kit, pieces, pan, gain_db) -> Part:
    """Sonic-pi drum samples sequenced in numpy."""
    return Part(name, "samples", pan, gain_db,
                options={"groove": groove, "kit": sample_kit, "pieces": pieces})  # fmt: skip


def sample_bass(name, sample, root, style, pan, gain_db) -> Part:
    """A sonic-pi bass sample (pitch class ``root``) transposed to play a bass line."""
    return Part(name, "sample_bass", pan, gain_db, notes="bass",
                options={"sample": sample, "root": root, "style": style})  # fmt: skip


def loop(name, sample, beats, pan, gain_db) -> Part:
    """A sonic-pi loop of ``beats`` beats fitted to the tempo."""
    return Part(name, "loop", pan, gain_db, options={"sample": sample, "beats": beats})


def voice(name, espeak_voice, pitch, speed, sentences, pan, gain_db) -> Part:
    """espeak-ng sentences, each starting on a half-bar line."""
    return Part(name, "speech", pan, gain_db,
                options={"voice": espeak_voice, "pitch": pitch, "speed": speed,
                         "sentences": sentences})  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """A case's score. ``key`` is the tonic's pitch class; ``room`` the reverb's wet level."""

    kind: str
    rate: int
    channels: int
    seconds: float
    bpm: float
    key: int
    minor: bool
    progression: tuple[int, ...]
    parts: tuple[Part, ...]
    description: str
    beats: int = 4
    swing: float = 0.0
    room: float = 0.0
    pcm16: bool = False


TALK = (
    ("The river was low that summer, and the boats stayed in the harbour.",
     "Nobody in the village could remember a drier year.",
     "In the evening we walked along the empty banks and counted the stones."),
    ("Please keep your ticket until the end of the journey.",
     "The next station is the central square.",
     "Change here for the airport and the northern lines."),
    ("Tonight I want to tell you about a small idea that changed my work.",
     "It began with a notebook and a single question.",
     "What would happen if we listened more carefully?"),
    ("First, cut the onions and fry them slowly in a little oil.",
     "Add the tomatoes, a pinch of salt, and let it simmer.",
     "Serve it warm with fresh bread."),
    ("The weather tomorrow will be cloudy in the morning.",
     "In the afternoon the sun returns, with light winds from the west.",
     "Temperatures stay mild through the weekend."),
)  # fmt: skip

SPECS: dict[str, Spec] = {
    # --- pop: drums, bass, keys (+ guitar or voice) ---
    "pop_rock_44k": Spec("pop", 44100, 2, 24, 112, 7, False, (0, 4, 5, 3), (
        samples("drums", "rock", ACOUSTIC_KIT, KIT_ALL, 0.0, 1),
        gm("bass", FINGERED, "bass", 0.05, -1, style="root"),
        gm("piano", PIANO, "comp", -0.4, -4, centre=64),
        gm("guitar", CLEAN_GTR, "arpeggio", 0.55, -5, centre=60)),
        "rock in G, I-V-vi-IV: sampled acoustic kit, fingered bass, piano, clean guitar",
        room=0.18),
    "pop_funk_44k": Spec("pop", 44100, 2, 12, 100, 4, True, (0, 3, 6, 2), (
        samples("drums", "funk", CLUB_KIT, KIT_ALL, 0.0, 2),
        sample_bass("bass", "bass_hard_c", 0, "eighths", -0.05, 0),
        gm("electric piano", E_PIANO, "comp", 0.45, -4, centre=64)),
        "funk in E minor: sampled club kit, sampled bass eighths, electric piano", pcm16=True),
    "pop_ballad_mono_44k": Spec("pop", 44100, 1, 14, 76, 2, False, (0, 5, 3, 4), (
        kit("drums", "halftime", KIT_ALL, 0.0, -2),
        gm("bass", FINGERED, "bass", 0.0, 0, style="root"),
        gm("piano", PIANO, "arpeggio", 0.0, 2, centre=62),
        gm("strings", STRINGS, "pad", 0.0, -4, centre=67)),
        "ballad in D, mono: GM drum kit, fingered bass, piano arpeggios, string pad"),
    "pop_breakbeat_48k": Spec("pop", 48000, 2, 12, 132, 0, True, (0, 5, 2, 6), (
        loop("drums", "loop_amen", 4, 0.0, 2),
        sample_bass("bass", "bass_thick_c", 0, "root", 0.0, -1),
        gm("organ", ORGAN, "pad", -0.45, -4, centre=64)),
        "breakbeat in C minor: amen loop, sampled bass, drawbar organ", room=0.15),
    "pop_voice_mono_44k": Spec("pop", 44100, 1, 13, 96, 9, True, (0, 5, 2, 6), (
        kit("drums", "rock", KIT_ALL, 0.0, 0),
        gm("bass", PICKED, "bass", 0.0, -2, style="eighths"),
        gm("electric piano", E_PIANO, "comp", 0.0, -3, centre=62),
        voice("voice", "en-us", 45, 155, TALK[2], 0.0, 3)),
        "pop in A minor, mono: GM kit, picked bass, electric piano, speaking voice"),
    # --- chamber: three or four pitched instruments ---
    "chamber_quartet_44k": Spec("chamber", 44100, 2, 20, 84, 5, False,
        (0, 3, 4, 0, 5, 1, 4, 0), (
        gm("violin I", VIOLIN, "melody", -0.5, 2, low=67, high=86),
        gm("violin II", VIOLIN, "inner", -0.2, -3, centre=67, chord_index=1),
        gm("viola", VIOLA, "inner", 0.25, -4, centre=60, chord_index=2, step=1.0),
        gm("cello", CELLO, "bass", 0.5, 0, octave=2, style="root")),
        "string quartet in F: melody, two inner voices, cello", room=0.3),
    "chamber_wind_trio_44k": Spec("chamber", 44100, 2, 12, 96, 10, False, (0, 3, 4, 0), (
        gm("flute", FLUTE, "melody", -0.35, 0, low=72, high=91),
        gm("clarinet", CLARINET, "inner", 0.3, -3, centre=62, chord_index=1, step=1.0),
        gm("bassoon", BASSOON, "bass", 0.1, -1, octave=2, style="root")),
        "wind trio in Bb, 3/4: flute, clarinet, bassoon", beats=3, room=0.22),
    "chamber_brass_mono_44k": Spec("chamber", 44100, 1, 12, 100, 0, False, (0, 5, 1, 4), (
        gm("trumpet", TRUMPET, "melody", 0.0, 0, low=65, high=84),
        gm("horn", HORN, "inner", 0.0, -4, centre=60, chord_index=1),
        gm("trombone", TROMBONE, "bass", 0.0, -2, octave=2, style="root")),
        "brass trio in C, mono: trumpet, horn, trombone", pcm16=True),
    "chamber_piano_trio_48k": Spec("chamber", 48000, 2, 14, 90, 9, True, (0, 3, 5, 4), (
        gm("violin", VIOLIN, "melody", 0.4, 1, low=69, high=88),
        gm("cello", CELLO, "inner", -0.4, -2, centre=50, chord_index=0, step=1.0),
        gm("piano", PIANO, "arpeggio", 0.1, -3, centre=60)),
        "piano trio in A minor: violin melody, cello line, piano arpeggios", room=0.25),
    "chamber_mallets_48k": Spec("chamber", 48000, 2, 12, 108, 3, False, (0, 4, 5, 3), (
        gm("marimba", MARIMBA, "arpeggio", -0.45, 0, centre=60),
        gm("vibraphone", VIBES, "melody", 0.35, -1, low=67, high=86, density=0.5),
        gm("pizzicato", PIZZ, "bass", 0.1, -4, octave=2, style="root"),
        gm("clarinet", CLARINET, "inner", 0.6, -6, centre=64, chord_index=1)),
        "mallet quartet in Eb: marimba, vibraphone, pizzicato bass, clarinet", pcm16=True),
    # --- voice: speech over accompaniment ---
    "voice_piano_44k": Spec("voice", 44100, 2, 15, 80, 2, False, (0, 4, 5, 3), (
        voice("voice", "en-us", 50, 150, TALK[0], 0.0, 3),
        gm("piano", PIANO, "arpeggio", -0.3, -2, centre=57),
        gm("strings", SLOW_STRINGS, "pad", 0.4, -3, centre=64)),
        "narration over piano and slow strings in D", room=0.2),
    "voice_guitar_44k": Spec("voice", 44100, 2, 12, 92, 7, False, (0, 3, 0, 4), (
        voice("voice", "en-gb+f3", 62, 160, TALK[1], 0.05, 2),
        gm("guitar", NYLON, "arpeggio", 0.4, -2, centre=60),
        gm("bass", FINGERED, "bass", -0.1, -4, style="root")),
        "announcement (female voice) over nylon guitar and bass in G"),
    "voice_band_mono_48k": Spec("voice", 48000, 1, 12, 104, 5, False, (0, 3, 4, 3), (
        voice("voice", "en-us+m3", 38, 165, TALK[3], 0.0, 2),
        samples("drums", "bossa", CLUB_KIT, KIT_ALL, 0.0, -1),
        sample_bass("bass", "bass_woodsy_c", 0, "root", 0.0, -2),
        gm("organ", ORGAN, "pad", 0.0, -4, centre=62)),
        "recipe talk over a band in F, mono: sampled drums and bass, organ", pcm16=True),
    "voice_pad_48k": Spec("voice", 48000, 2, 14, 70, 1, True, (0, 5, 3, 6), (
        voice("voice", "en-gb-scotland", 45, 140, TALK[2], 0.0, 2),
        gm("pad", WARM_PAD, "pad", -0.5, -3, centre=60),
        gm("electric piano", E_PIANO, "comp", 0.45, -4, centre=64)),
        "talk over a warm pad and electric piano in C# minor", room=0.2),
    "voice_strings_mono_48k": Spec("voice", 48000, 1, 12, 84, 4, False, (0, 5, 3, 4), (
        voice("voice", "en-us+f2", 70, 150, TALK[4], 0.0, 2),
        gm("strings", STRINGS, "pad", 0.0, -4, centre=64),
        gm("harp", HARP, "arpeggio", 0.0, -2, centre=55)),
        "weather report (female voice) over strings and harp in E, mono"),
    # --- percussion: kit pieces as separate stems, with a bass or melody ---
    "perc_kit_split_44k": Spec("percussion", 44100, 2, 14, 120, 9, True, (0, 6, 5, 4), (
        samples("kick", "rock", HOUSE_KIT, ("kick",), 0.0, 1),
        samples("snare", "rock", HOUSE_KIT, SNARE_TOMS, -0.15, -1),
        samples("hats", "rock", HOUSE_KIT, CYMBALS, 0.4, -5),
        gm("bass", FINGERED, "bass", 0.0, -2, style="eighths")),
        "sampled kit split into kick, snare/toms and cymbals, with bass in A minor", room=0.12),
    "perc_latin_44k": Spec("percussion", 44100, 2, 12, 104, 7, False, (0, 4, 0, 4), (
        kit("congas", "latin", ("conga_hi", "conga_lo", "conga_mute"), -0.35, 0),
        kit("shaker", "latin", ("shaker",), 0.55, -6),
        kit("bell", "latin", ("cowbell", "claves"), 0.25, -3),
        gm("marimba", MARIMBA, "comp", -0.1, -1, centre=64)),
        "latin percussion from the GM kit (congas, shaker, cowbell/claves) with marimba"),
    "perc_tabla_mono_44k": Spec("percussion", 44100, 1, 12, 90, 2, False, (0,), (
        samples("tabla", "latin", TABLA_KIT, KIT_ALL, 0.0, 1),
        gm("sitar", SITAR, "melody", 0.0, -1, low=62, high=81),
        gm("drone", SLOW_STRINGS, "pad", 0.0, -5, centre=50, size=3)),
        "sampled tabla, sitar melody and a string drone on D, mono"),
    "perc_toms_48k": Spec("percussion", 48000, 2, 12, 96, 5, True, (0, 3, 0, 6), (
        kit("kick", "toms", ("kick",), 0.0, 0),
        kit("toms", "toms", ("tom_lo", "tom_mid", "tom_hi"), -0.3, -1),
        kit("tambourine", "toms", ("tambourine",), 0.6, -6),
        sample_bass("bass", "bass_thick_c", 0, "root", 0.05, -2)),
        "tom groove from the GM kit (kick, toms, tambourine) with sampled bass in F minor",
        room=0.15),
    "perc_electro_48k": Spec("percussion", 48000, 2, 10, 124, 0, True, (0, 5, 6, 4), (
        samples("kick", "funk", ELECTRO_KIT, ("kick",), 0.0, 2),
        samples("snare", "funk", ELECTRO_KIT, SNARE_TOMS, -0.2, -1),
        samples("hats", "funk", ELECTRO_KIT, CYMBALS, 0.45, -4),
        sample_bass("bass", "bass_trance_c", 0, "eighths", 0.0, -1)),
        "electro: 808 kick, electronic snares, hats and a trance bass in C minor", pcm16=True),
    # --- duo: two instruments ---
    "duo_violin_piano_44k": Spec("duo", 44100, 2, 28, 72, 3, False,
        (0, 5, 1, 4, 0, 3, 4, 0), (
        gm("violin", VIOLIN, "melody", 0.3, 1, low=67, high=88),
        gm("piano", PIANO, "arpeggio", -0.25, -2, centre=57)),
        "violin and piano in Eb, 8-bar phrases", room=0.25),
    "duo_flute_guitar_44k": Spec("duo", 44100, 2, 12, 88, 9, False, (0, 3, 4, 0), (
        gm("flute", FLUTE, "melody", -0.35, 0, low=72, high=91),
        gm("guitar", NYLON, "arpeggio", 0.35, -3, centre=57)),
        "flute and nylon guitar in A, 3/4", beats=3),
    "duo_cello_piano_mono_44k": Spec("duo", 44100, 1, 14, 66, 7, True, (0, 3, 5, 4), (
        gm("cello", CELLO, "melody", 0.0, 0, low=45, high=64, density=0.5),
        gm("piano", PIANO, "comp", 0.0, -3, centre=64)),
        "cello and piano in G minor, mono", room=0.2),
    "duo_sax_bass_48k": Spec("duo", 48000, 2, 12, 132, 10, False, (1, 4, 0, 5), (
        gm("sax", TENOR_SAX, "melody", 0.25, 0, low=55, high=74),
        gm("bass", UPRIGHT, "bass", -0.1, -3, style="walk")),
        "tenor sax and walking upright bass in Bb, swung ii-V-I", swing=0.33),
    "duo_trumpet_organ_mono_44k": Spec("duo", 44100, 1, 10, 100, 0, False, (0, 3, 4, 0), (
        gm("trumpet", TRUMPET, "melody", 0.0, 0, low=65, high=84),
        gm("organ", ORGAN, "pad", 0.0, -4, centre=60)),
        "trumpet and organ in C, mono", pcm16=True),
}  # fmt: skip
