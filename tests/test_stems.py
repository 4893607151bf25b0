"""dsp.stems: a set of stems is published whole or not at all."""

import errno
import json
import os
import signal
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest
import soundfile as sf

from dsp.audio import Audio, AudioError, load
from dsp.stems import StemSet, check_writable_folder

from .test_cli_output import process_start

DiskUsage = namedtuple("DiskUsage", "total used free")


def stem(value: float) -> Audio:
    return Audio(np.full((1000, 2), value, np.float32), 8000)


def test_commit_publishes_every_stem_and_the_manifest(tmp_path):
    with StemSet(tmp_path / "out", subtype="float") as stems:
        stems.add("a", stem(0.1))
        stems.add("b", stem(0.2))
        assert (
            sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == []
        )
        written = stems.commit({"stems": ["a.wav", "b.wav"]})
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a.wav", "b.wav", "manifest.json"]
    assert [p.name for p in written] == ["a.wav", "b.wav", "manifest.json"]
    assert np.allclose(load(tmp_path / "out" / "b.wav").samples, 0.2)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == {
        "stems": ["a.wav", "b.wav"]
    }


def test_failure_midway_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"an older take")

    def rendered():
        yield "a", stem(0.1)
        yield "b", stem(0.2)
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError), StemSet(tmp_path) as stems:
        stems.add_all(rendered())
        stems.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
    assert (tmp_path / "a.wav").read_bytes() == b"an older take"


def test_extra_files_are_published_with_the_stems_and_the_manifest_last(tmp_path):
    with StemSet(tmp_path, subtype="float") as stems:
        stems.add("a", stem(0.1))
        stems.add_file("notes.csv", lambda path: path.write_text("x,y\n"))
        assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
        written = stems.commit({"files": ["notes.csv"]})
    assert [p.name for p in written] == ["a.wav", "notes.csv", "manifest.json"]
    assert (tmp_path / "notes.csv").read_text() == "x,y\n"


def test_a_manifest_that_cannot_be_written_leaves_no_stem_and_no_extra_file(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"an older take")
    with pytest.raises(ValueError), StemSet(tmp_path) as stems:
        stems.add("a", stem(0.1))
        stems.add_file("notes.csv", lambda path: path.write_text("x,y\n"))
        stems.commit({"final_loss": float("nan")})  # JSON cannot store NaN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
    assert (tmp_path / "a.wav").read_bytes() == b"an older take"


def test_the_manifest_is_not_an_extra_file(tmp_path):
    with StemSet(tmp_path) as stems, pytest.raises(AudioError, match="commit"):
        stems.add_file("manifest.json", lambda path: path.write_text("{}"))


def test_two_stems_with_one_name_are_refused(tmp_path):
    with StemSet(tmp_path) as stems:
        stems.add("a", stem(0.1))
        with pytest.raises(AudioError, match="both be written to 'a.wav'"):
            stems.add("a", stem(0.2))


@pytest.mark.parametrize("file_format, subtype", [("mp3", "pcm16"), ("flac", "float")])
def test_unsupported_output_is_refused_before_writing(tmp_path, file_format, subtype):
    with pytest.raises(AudioError):
        StemSet(tmp_path / "new", file_format=file_format, subtype=subtype)
    assert not (tmp_path / "new").exists()


def test_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(AudioError, match="not a folder"):
        check_writable_folder(tmp_path / "taken")
    with pytest.raises(AudioError, match="cannot write to folder"):
        check_writable_folder(tmp_path / "taken" / "sub")


def test_a_full_disk_names_the_stem_and_says_so_in_plain_words(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with StemSet(tmp_path, subtype="float") as stems:
        stems.add("component_01", stem(0.1))
        monkeypatch.setattr("dsp.audio.sf.write", no_space)
        with pytest.raises(AudioError) as err:
            stems.add("component_02", stem(0.2))
    assert str(err.value) == "could not write 'component_02.wav' (no space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_libsndfiles_system_error_on_a_full_disk_is_said_in_plain_words(tmp_path, monkeypatch):
    def system_error(*args, **kwargs):
        raise sf.LibsndfileError(2, "Error writing: ")

    monkeypatch.setattr("dsp.audio.sf.write", system_error)
    monkeypatch.setattr("dsp.audio.shutil.disk_usage", lambda folder: DiskUsage(10**9, 10**9, 0))
    with pytest.raises(AudioError) as err, StemSet(tmp_path) as stems:
        stems.add("component_02", stem(0.2))
    assert str(err.value) == "could not write 'component_02.wav' (no space left on device)"


def test_a_full_disk_at_the_manifest_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    (tmp_path / "manifest.json").write_text("{}")

    def no_space(data, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("dsp.stems._write_json", no_space)
    with pytest.raises(AudioError, match="'manifest.json' .no space left on device"):
        with StemSet(tmp_path) as stems:
            stems.add("a", stem(0.1))
            stems.commit({"stems": []})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_a_signal_during_the_commit_waits_until_the_set_is_in_place(tmp_path, monkeypatch):
    import dsp.stems

    moved = []

    def move_and_signal(source, target, moves):
        moved.append(target.name)
        os.replace(source, target)
        moves.append((source, target))
        if len(moved) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(dsp.stems, "_move", move_and_signal)
    with pytest.raises(KeyboardInterrupt), StemSet(tmp_path, subtype="float") as stems:
        stems.add("a", stem(0.1))
        stems.add("b", stem(0.2))
        stems.add("c", stem(0.3))
        stems.commit({"stems": ["a.wav", "b.wav", "c.wav"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "c.wav",
                                                          "manifest.json"]


def test_staging_of_a_process_that_is_gone_is_removed_by_the_next_set(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start(child.pid)
    child.wait()
    dead = tmp_path / f".partwise-{child.pid}-{start}-00aa11bb.stage"
    live = tmp_path / f".partwise-{os.getpid()}-{process_start(os.getpid())}-22cc33dd.stage"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "a.wav").write_bytes(b"x")
    with StemSet(tmp_path, subtype="float") as stems:
        stems.add("a", stem(0.1))
        stems.commit({"stems": ["a.wav"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "a.wav", "manifest.json"]
