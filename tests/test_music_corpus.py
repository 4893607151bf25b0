"""The music corpus keeps its promises: exact stems, real-mix levels and panning, a fixed split.

Two short cases are built from scratch into a private cache: a stereo 48 kHz
one with a room, a loop, a sampled bass and a fluidsynth part, and a mono
44.1 kHz one with 16-bit stems.
"""

import functools

import numpy as np
import pytest

from bench import music_corpus
from bench.music_cases import SPECS
from bench.music_corpus import CASES, DESIGN, HELD_OUT, KINDS, build_case, tools_available

STEREO, MONO = "pop_breakbeat_48k", "duo_trumpet_organ_mono_44k"


def level_db(x):
    return 10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (first build, second build from scratch, load from the cache)."""
    assert tools_available() is None, tools_available()
    patch = pytest.MonkeyPatch()
    patch.setattr(music_corpus, "CACHE", tmp_path_factory.mktemp("music"))
    try:
        yield {
            name: (build_case(name), build_case(name, cache=False), build_case(name))
            for name in (STEREO, MONO)
        }
    finally:
        patch.undo()


@pytest.mark.parametrize("name", [STEREO, MONO])
def test_a_case_has_the_promised_shape(built, name):
    case = built[name][0]
    spec = SPECS[name]
    assert case.name == name and case.kind == spec.kind and case.rate == spec.rate
    assert case.split == ("held-out" if name in HELD_OUT else "design")
    assert case.mixture.dtype == np.float32
    assert case.mixture.shape == (int(spec.seconds * spec.rate), spec.channels)
    assert len(case.names) == len(case.stems) == len(spec.parts)
    for stem in case.stems:
        assert stem.dtype == np.float32 and stem.shape == case.mixture.shape


@pytest.mark.parametrize("name", [STEREO, MONO])
def test_the_mixture_is_exactly_the_sum_of_the_stems_and_peaks_below_0_9(built, name):
    case = built[name][0]
    assert np.array_equal(case.mixture, functools.reduce(np.add, case.stems))
    assert 0.1 < np.max(np.abs(case.mixture)) <= 0.9


@pytest.mark.parametrize("name", [STEREO, MONO])
def test_stems_sit_at_different_levels_and_are_heard_throughout(built, name):
    case = built[name][0]
    levels = [level_db(s) for s in case.stems]
    assert max(levels) - min(levels) > 2.0
    assert max(levels) - min(levels) < 7.5
    quarter = case.rate // 4
    for stem in case.stems:
        n = len(stem) // quarter
        windows = [level_db(w) for w in np.array_split(stem[: n * quarter], n)]
        assert np.mean(np.array(windows) > max(windows) - 30.0) > 0.8


def test_stereo_stems_are_panned_as_scored(built):
    case = built[STEREO][0]
    for part, stem in zip(SPECS[STEREO].parts, case.stems):
        left, right = np.sum(np.square(stem, dtype=np.float64), axis=0)
        ratio_db = 10.0 * np.log10(left / right)
        if abs(part.pan) >= 0.3:  # off-centre: louder on its side by several dB
            assert -np.sign(part.pan) * ratio_db > 3.0, (part.name, ratio_db)
        else:
            assert abs(ratio_db) < 1.0, (part.name, ratio_db)
    assert any(abs(p.pan) >= 0.3 for p in SPECS[STEREO].parts)


def test_the_room_decorrelates_left_and_right(built):
    # Pure amplitude panning would give a correlation of exactly 1.
    stem = built[STEREO][0].stems[0].astype(np.float64)
    assert np.corrcoef(stem[:, 0], stem[:, 1])[0, 1] < 0.999


@pytest.mark.parametrize("name", [STEREO, MONO])
def test_a_rebuild_and_the_cache_are_bit_identical(built, name):
    first, fresh, cached = built[name]
    assert list(music_corpus.CACHE.glob(f"{name}-g*.npz"))
    for other in (fresh, cached):
        assert np.array_equal(first.mixture, other.mixture)
        assert all(np.array_equal(a, b) for a, b in zip(first.stems, other.stems))


def test_sixteen_bit_cases_hold_only_sixteen_bit_values(built):
    assert SPECS[MONO].pcm16
    for stem in built[MONO][0].stems:
        scaled = stem.astype(np.float64) * 32768.0
        assert np.array_equal(scaled, np.round(scaled))


def test_the_split_rule_holds():
    assert set(DESIGN).isdisjoint(HELD_OUT)
    assert set(DESIGN) | set(HELD_OUT) == set(CASES) and len(set(CASES)) == len(CASES)
    assert len(HELD_OUT) * 3 >= len(CASES)
    for kind in KINDS:
        of_kind = [n for n in CASES if SPECS[n].kind == kind]
        assert len(of_kind) >= 4
        assert [n for n in of_kind if n in HELD_OUT] == of_kind[1::3]


def test_the_corpus_covers_the_promised_formats():
    specs = [SPECS[n] for n in CASES]
    assert len(specs) >= 24
    assert all(s.kind in KINDS and 2 <= len(s.parts) <= 4 for s in specs)
    assert all(10 <= s.seconds <= 30 for s in specs)
    assert all(np.ptp([p.gain_db for p in s.parts]) <= 6 for s in specs)
    assert sum(s.channels == 1 for s in specs) >= 5
    assert sum(s.rate == 44100 for s in specs) > sum(s.rate == 48000 for s in specs) > 0
    for names in (DESIGN, HELD_OUT):
        formats = {(SPECS[n].channels, SPECS[n].rate) for n in names}
        assert {(1, 44100), (2, 44100), (1, 48000), (2, 48000)} <= formats
