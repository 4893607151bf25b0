"""The batch layer in this process: inputs and their folders, the settings hash, resume,
threads, failures and the exit status."""

import pickle
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.batch.engine import DONE, FAILED, SKIPPED, FileTask, run_batch, run_task
from app.batch.inputs import InputError, expand_inputs, plan_tasks, subfolder_names
from app.batch.request import Request
from app.cli.batch_report import outcome_line, report_batch
from app.cli.separate import separate_file
from dsp.nmf.kernels.schedule import PARALLEL_MIN
from dsp.pipeline import Settings
from dsp.stft import frame_count

FAST = Settings(n_components=2, iterations=3, tol=0)


def tasks_for(root: Path, out: Path) -> list[FileTask]:
    return plan_tasks([root], out, recursive=True)


def run(tasks, request, **options):
    work = partial(separate_file, request=request)
    return list(run_batch(tasks, work, settings_hash=request.settings_hash, **options))


def stems_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.wav"))}


# -- inputs and their output folders ---------------------------------------------------------


@pytest.mark.parametrize(
    "labels, names",
    [
        (["song.wav", "song.wav"], ["song", "song_2"]),  # d1/song.wav d2/song.wav given as files
        (["song.wav", "song.flac"], ["song", "song_2"]),
        (["Song.wav", "song.flac"], ["Song", "song_2"]),  # case-insensitive file systems
        (["a/song.wav", "b/song.wav"], ["a/song", "b/song"]),  # found in a folder: its tree
        (["a.wav", "a/x.wav"], ["a_2", "a/x"]),  # a set never lands in a folder holding sets
        (["a/x.wav", "a.wav"], ["a/x", "a_2"]),
        (["song_2.wav", "song.wav", "song.flac"], ["song_2", "song", "song_3"]),
    ],
)
def test_every_input_gets_a_subfolder_of_its_own(labels, names):
    assert subfolder_names(labels) == names


def test_a_folder_gives_its_audio_files_and_with_recursive_its_subfolders_too(song_tree, tmp_path):
    (song_tree / "notes.txt").write_text("not audio")
    (song_tree / ".hidden.wav").write_bytes(b"")
    assert [e.label for e in expand_inputs([song_tree])] == ["c.flac"]
    found = expand_inputs([song_tree], recursive=True)
    assert [e.label for e in found] == ["a/song.wav", "b/song.wav", "c.flac"]
    assert found[0].path == song_tree / "a" / "song.wav"


def test_one_file_writes_into_the_output_and_a_folder_into_subfolders(song_tree, tmp_path):
    [task] = plan_tasks([song_tree / "c.flac"], tmp_path)
    assert task.folder == tmp_path
    [task] = plan_tasks([song_tree / "a"], tmp_path)
    assert (task.label, task.folder) == ("song.wav", tmp_path / "song")
    demo, song = plan_tasks([song_tree / "c.flac"], tmp_path, demo=True)
    assert (demo.path, demo.folder, song.folder) == (None, tmp_path / "demo", tmp_path / "c")


def test_files_in_the_output_folder_are_never_inputs(song_tree):
    found = expand_inputs([song_tree], recursive=True, exclude=song_tree / "a")
    assert [e.label for e in found] == ["b/song.wav", "c.flac"]


def test_a_pattern_is_expanded_below_its_fixed_folder_and_each_file_counts_once(song_tree):
    found = expand_inputs([f"{song_tree}/**/*.wav", song_tree / "a" / "song.wav"])
    assert [e.label for e in found] == ["a/song.wav", "b/song.wav"]


@pytest.mark.parametrize("make, words", [("empty", "'empty' is a directory holding no audio"),
                                         ("pattern", "*.ogg' matches no file")])
def test_an_input_naming_no_audio_is_refused_naming_it(tmp_path, make, words):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not audio")
    item = tmp_path / "empty" if make == "empty" else f"{tmp_path}/*.ogg"
    with pytest.raises(InputError) as error:
        expand_inputs([item])
    assert words in str(error.value)


# -- the settings hash -----------------------------------------------------------------------


def test_the_settings_hash_is_stable_and_travels_with_the_request(tmp_path):
    request = Request(FAST, protect=(tmp_path / "x.wav",))
    again = Request(Settings(n_components=2, iterations=3, tol=0))
    assert request.settings_hash == again.settings_hash  # the protected paths do not count
    assert pickle.loads(pickle.dumps(request)).settings_hash == request.settings_hash
    assert len(request.settings_hash) == 32


@pytest.mark.parametrize("change", [
    {"settings": replace(FAST, seed=1)},
    {"settings": replace(FAST, mask_power=2.0)},
    {"file_format": "flac"},
    {"sample_format": "pcm16"},
    {"chosen_components": False},
])
def test_the_settings_hash_changes_with_what_makes_the_stems(change):
    assert Request(**{"settings": FAST, **change}).settings_hash != Request(FAST).settings_hash


def test_the_settings_hash_follows_the_guide_files_content(tmp_path):
    guide = tmp_path / "guide.npz"
    np.savez(guide, paint=np.zeros((2, 3, 4), np.float32))
    first = Request(FAST, guide=guide).settings_hash
    np.savez(guide, paint=np.ones((2, 3, 4), np.float32))
    assert Request(FAST, guide=guide).settings_hash != first


# -- running -----------------------------------------------------------------------------------


def test_resume_skips_complete_sets_made_with_the_same_settings(song_tree, tmp_path):
    tasks = tasks_for(song_tree, tmp_path / "out")
    request = Request(FAST)
    assert [o.status for o in run(tasks, request)] == [DONE] * 3
    manifest = (tasks[0].folder / "manifest.json").read_text()
    assert request.settings_hash in manifest
    assert [o.status for o in run(tasks, request, resume=True)] == [SKIPPED] * 3
    (tasks[1].folder / "component_02.wav").unlink()  # an incomplete set is made again
    again = run(tasks, request, resume=True)
    assert [o.status for o in again] == [SKIPPED, SKIPPED, DONE]  # skipped ones come first
    assert again[-1].task == tasks[1]
    changed = run(tasks, Request(replace(FAST, seed=5)), resume=True)
    assert [o.status for o in changed] == [DONE] * 3


def test_stems_are_bit_identical_on_one_thread_and_on_every_core(song_tree, tmp_path):
    [task] = [t for t in tasks_for(song_tree, tmp_path) if t.label == "c.flac"]
    # The fused KL pass (not the multichannel model), on a spectrogram large enough
    # for it to run on several threads when it may.
    settings = replace(FAST, iterations=20, hop=128, spatial=False)
    assert 1025 * frame_count(2 * 22_050, settings.hop) >= PARALLEL_MIN
    work = partial(separate_file, request=Request(settings))
    one = run_task(work, replace(task, folder=tmp_path / "one"), threads=1)
    every = run_task(work, replace(task, folder=tmp_path / "every"))
    assert one.status == every.status == DONE
    assert stems_of(tmp_path / "one") == stems_of(tmp_path / "every")
    assert len(stems_of(tmp_path / "one")) == 2


def test_a_failing_file_is_reported_with_its_reason_and_the_others_finish(song_tree, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros((10, 2), np.float32), 22_050)
    tasks = [FileTask("bad.wav", bad, tmp_path / "bad"),
             *tasks_for(song_tree, tmp_path / "out"),
             FileTask("short.wav", short, tmp_path / "short")]
    outcomes = run(tasks, Request(FAST))
    assert [o.status for o in outcomes] == [FAILED, DONE, DONE, DONE, FAILED]
    assert outcomes[0].reason.startswith("'bad.wav'") and "not a readable" in outcomes[0].reason
    assert outcomes[-1].reason.startswith("'short.wav'")
    assert "\n" not in outcomes[-1].reason
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    assert outcome_line(outcomes[0]) == outcomes[0].reason
    assert outcome_line(outcomes[1]).startswith("a/song.wav: done in ")


def test_the_exit_status_is_nonzero_when_any_file_failed(song_tree, tmp_path):
    tasks = tasks_for(song_tree, tmp_path / "out")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    good = run(tasks[:1], Request(FAST))
    failed = run([FileTask("bad.wav", bad, tmp_path / "bad")], Request(FAST))
    assert report_batch(good, 1, quiet=True) == 0
    assert report_batch(good + failed, 2, quiet=True) == 1


def test_a_done_file_reports_its_time_and_peak_memory(song_tree, tmp_path):
    [outcome] = run(tasks_for(song_tree, tmp_path)[:1], Request(FAST))
    assert outcome.seconds > 0
    assert outcome.peak_memory > 10 * 2**20  # numpy and numba alone take more
    assert outcome.report.notes[0].startswith("a/song.wav: wrote 2 stems to ")
