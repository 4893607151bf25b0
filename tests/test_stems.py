"""dsp.stems: a set of stems is published whole or not at all."""

import json

import numpy as np
import pytest

from dsp.audio import Audio, AudioError, load
from dsp.stems import StemSet, check_writable_folder


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
