"""dsp.project_file: sessions round-trip exactly; bad files fail clearly."""

import dataclasses
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dsp.pipeline import Settings
from dsp.project_file import (
    MAX_PAINT_BYTES,
    MAX_PAINT_SOURCES,
    ComponentState,
    Project,
    ProjectError,
    SourceState,
    file_sha256,
    load_project,
    save_project,
)


def make_project(tmp_path) -> Project:
    audio = tmp_path / "take.wav"
    audio.write_bytes(b"RIFF-ish bytes")
    rng = np.random.default_rng(0)
    return Project(
        audio_path=str(audio),
        audio_sha256=file_sha256(audio),
        settings=Settings(n_components=3, n_sources=2, loss="is", seed=11, n_fft=1024, hop=256),
        W=rng.random((513, 3), dtype=np.float32),
        H=rng.random((3, 40), dtype=np.float32),
        losses=np.array([3.0, 2.0, 1.5]),
        components=[
            ComponentState("kick", "#ff0000", gain=0.5, mute=True, source=0),
            ComponentState("voice", "#00ff00", solo=True, source=1, locked=True),
            ComponentState("hiss", "#0000ff", source=1),
        ],
        sources=[SourceState("drums", mute=True), SourceState("vocals", solo=True)],
    )


def test_round_trip_is_exact(tmp_path):
    project = make_project(tmp_path)
    path = save_project(project, tmp_path / "s.partwise")
    back = load_project(path)
    assert np.array_equal(back.W, project.W) and back.W.dtype == np.float32
    assert np.array_equal(back.H, project.H) and np.array_equal(back.losses, project.losses)
    assert back.settings == project.settings
    assert back.components == project.components and back.sources == project.sources
    assert back.audio_sha256 == project.audio_sha256 and back.audio_path == project.audio_path


def test_channel_gains_round_trip_and_files_without_them_replay_the_mono_model(tmp_path):
    project = make_project(tmp_path)
    gains = np.array([[1.5, 1.0, 0.2], [0.5, 1.0, 1.8]], np.float32)
    project = dataclasses.replace(project, channel_gains=gains)
    back = load_project(save_project(project, tmp_path / "s.partwise"))
    assert np.array_equal(back.channel_gains, gains) and back.settings.spatial
    path = save_project(make_project(tmp_path), tmp_path / "old.partwise")
    header = json.loads(zipfile.ZipFile(path).read("session.json"))
    del header["settings"]["spatial"]
    rewrite(path, {"version": 3, "settings": header["settings"]})
    old = load_project(path)
    assert old.channel_gains is None and old.settings.spatial is False


def test_channel_gains_that_do_not_fit_the_factors_are_refused(tmp_path):
    project = dataclasses.replace(make_project(tmp_path), channel_gains=np.ones((2, 5)))
    path = save_project(project, tmp_path / "s.partwise")
    with pytest.raises(ProjectError, match="channel gains"):
        load_project(path)


def test_version_1_files_with_source_names_still_open(tmp_path):
    path = save_project(make_project(tmp_path), tmp_path / "s.partwise")
    rewrite(path, {"version": 1, "sources": ["drums", "vocals"]})
    back = load_project(path)
    assert back.sources == [SourceState("drums"), SourceState("vocals")]
    assert [c.source for c in back.components] == [0, 1, 1]


def test_hash_changes_with_content(tmp_path):
    f = tmp_path / "a"
    f.write_bytes(b"one")
    before = file_sha256(f)
    f.write_bytes(b"two")
    assert file_sha256(f) != before


def test_saving_over_a_file_in_an_unwritable_place_keeps_nothing_half_written(tmp_path):
    project = make_project(tmp_path)
    with pytest.raises(ProjectError, match="cannot write"):
        save_project(project, tmp_path / "missing-folder" / "s.partwise")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def rewrite(path, header_change=None, drop=None, add=None):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if header_change:
        header = json.loads(members["session.json"])
        header.update(header_change)
        members["session.json"] = json.dumps(header)
    if drop:
        del members[drop]
    members.update(add or {})
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


@pytest.mark.parametrize(
    "damage, words",
    [
        ("truncate", "corrupt or truncated"),
        ("text", "corrupt or truncated"),
        ("newer", "newer Partwise"),
        ("foreign", "not a Partwise session"),
        ("no-array", "corrupt or truncated"),
        ("wrong-k", "inconsistent"),
    ],
)
def test_damaged_files_fail_with_a_clear_message(tmp_path, damage, words):
    path = save_project(make_project(tmp_path), tmp_path / "s.partwise")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "text":
        path.write_text("hello")
    elif damage == "newer":
        rewrite(path, {"version": 99})
    elif damage == "foreign":
        rewrite(path, {"format": "something-else"})
    elif damage == "no-array":
        rewrite(path, drop="H.npy")
    elif damage == "wrong-k":
        rewrite(
            path,
            {
                "settings": {
                    **json.loads(zipfile.ZipFile(path).read("session.json"))["settings"],
                    "n_components": 4,
                }
            },
        )
    with pytest.raises(ProjectError, match=words) as err:
        load_project(path)
    assert "'s.partwise'" in str(err.value)


def test_missing_session_file(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope.partwise")


# -- paint -------------------------------------------------------------------------------------

#: The grid of make_project's factors: 513 bins (n_fft 1024) x 40 frames.
GRID = (513, 40)


def npy(array, **options) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **options)
    return buffer.getvalue()


def npy_header_only(shape, descr="<f4") -> bytes:
    """A .npy file whose header declares ``shape`` but holds only a few bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + b"\0" * 64


def test_paint_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(2)
    paint = rng.random((3, *GRID), dtype=np.float32)
    paint[0, :100] = 0.0
    paint[2, -1, -1] = 1.0
    project = dataclasses.replace(make_project(tmp_path), paint=paint)
    back = load_project(save_project(project, tmp_path / "s.partwise"))
    assert back.paint.dtype == np.float32 and np.array_equal(back.paint, paint)
    with zipfile.ZipFile(tmp_path / "s.partwise") as zf:
        assert json.loads(zf.read("session.json"))["version"] == 5


@settings(max_examples=25, deadline=None)
@given(
    paint=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.just(33), st.integers(0, 6)),
        elements=st.floats(0, 1, width=32),
    )
)
def test_any_valid_paint_round_trips_bit_for_bit(paint):
    frames = paint.shape[2]
    project = Project(
        audio_path="take.wav",
        audio_sha256="0" * 64,
        settings=Settings(n_components=2, n_fft=64, hop=16),
        W=np.ones((33, 2), np.float32),
        H=np.ones((2, frames), np.float32),
        components=[ComponentState("a"), ComponentState("b")],
        paint=paint,
    )
    with tempfile.TemporaryDirectory() as folder:
        back = load_project(save_project(project, Path(folder) / "s.partwise"))
    assert back.paint.shape == paint.shape
    assert back.paint.tobytes() == paint.tobytes()


def test_a_session_without_factors_keeps_paint_of_any_length(tmp_path):
    project = dataclasses.replace(
        make_project(tmp_path), W=np.zeros((0, 3), np.float32), H=np.zeros((3, 0), np.float32),
        paint=np.full((2, 513, 77), 0.5, np.float32))
    back = load_project(save_project(project, tmp_path / "s.partwise"))
    assert back.paint.shape == (2, 513, 77) and (back.paint == 0.5).all()


@pytest.mark.parametrize("version", [3, 4])
def test_older_files_without_paint_still_open_without_paint(tmp_path, version):
    project = make_project(tmp_path)
    path = save_project(project, tmp_path / "s.partwise")
    rewrite(path, {"version": version})
    back = load_project(path)
    assert back.paint is None
    assert np.array_equal(back.W, project.W) and back.components == project.components


def damaged_paint(kind: str) -> tuple[bytes, str]:
    """A paint.npy member damaged as ``kind`` for make_project, and words its error has."""
    good = np.zeros((2, *GRID), np.float32)
    if kind == "nan":
        good[1, 3, 4] = np.nan
        return npy(good), "NaN"
    if kind == "above one":
        good[0, 0, 0] = 1.5
        return npy(good), r"\[0, 1\]"
    if kind == "negative":
        good[1, -1, -1] = -0.25
        return npy(good), r"\[0, 1\]"
    if kind == "infinite":
        good[0, 7, 7] = np.inf
        return npy(good), r"\[0, 1\]"
    if kind == "2-D":
        return npy(good[0]), "sources, bins, frames"
    if kind == "complex":
        return npy(good.astype(np.complex64)), "real numbers"
    if kind == "text":
        return npy(np.full((2, *GRID), "x")), "real numbers"
    if kind == "other frames":
        return npy(np.zeros((2, 513, 41), np.float32)), "41 frames"
    if kind == "other bins":
        return npy(np.zeros((2, 257, 40), np.float32)), "257 frequency bins"
    if kind == "pickled":
        return npy(np.array([[[{"a": 1}]]], dtype=object), allow_pickle=True), "Python objects"
    if kind == "too many sources":
        return npy_header_only((10**6, *GRID)), f"1 to {MAX_PAINT_SOURCES}"
    if kind == "truncated":
        return npy_header_only((2, *GRID)), "truncated"
    if kind == "not npy":
        return b"PK\x03\x04 not an array", "unreadable"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    ["nan", "above one", "negative", "infinite", "2-D", "complex", "text", "other frames",
     "other bins", "pickled", "too many sources", "truncated", "not npy"],
)
def test_damaged_paint_fails_naming_the_file_and_the_paint(tmp_path, kind):
    member, words = damaged_paint(kind)
    path = save_project(make_project(tmp_path), tmp_path / "s.partwise")
    rewrite(path, add={"paint.npy": member})
    with pytest.raises(ProjectError, match=words) as err:
        load_project(path)
    message = str(err.value)
    assert "'s.partwise'" in message and "paint" in message and "\n" not in message


def test_oversized_paint_is_refused_from_its_header_before_it_is_read(tmp_path):
    # Without factors the frame count is unknown: the declared size is what is capped.
    project = dataclasses.replace(
        make_project(tmp_path), W=np.zeros((0, 3), np.float32), H=np.zeros((3, 0), np.float32))
    path = save_project(project, tmp_path / "s.partwise")
    frames = MAX_PAINT_BYTES // (MAX_PAINT_SOURCES * 513 * 4) + 1
    rewrite(path, add={"paint.npy": npy_header_only((MAX_PAINT_SOURCES, 513, frames))})
    with pytest.raises(ProjectError, match="paint .* too large") as err:
        load_project(path)
    assert "'s.partwise'" in str(err.value)
    # One frame fewer fits the cap and is then read (and found truncated), so the cap is the limit.
    rewrite(path, add={"paint.npy": npy_header_only((MAX_PAINT_SOURCES, 513, frames - 1))})
    with pytest.raises(ProjectError, match="paint is truncated"):
        load_project(path)
