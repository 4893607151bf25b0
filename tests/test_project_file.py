"""dsp.project_file: sessions round-trip exactly; bad files fail clearly."""

import dataclasses
import json
import zipfile

import numpy as np
import pytest

from dsp.pipeline import Settings
from dsp.project_file import (
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


def rewrite(path, header_change=None, drop=None):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if header_change:
        header = json.loads(members["session.json"])
        header.update(header_change)
        members["session.json"] = json.dumps(header)
    if drop:
        del members[drop]
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
