"""Output folders of `main.py separate` and `sweep`: never destroy or mix results (issue 18).

Real subprocesses on real files, as tests/test_cli.py runs them.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .test_cli import MAIN, ROOT, run
from .test_cli_inputs import start

FAST = ("--iterations", "2", "--quiet")
#: The lock file a run holds in the folder it writes (dsp.stems.LOCK).
LOCK = ".partwise.lock"


def process_start(pid: int) -> int:
    """A process's start time as /proc gives it (clock ticks since boot)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_stem_never_replaces_an_input_file(mix_wav, tmp_path):
    out = tmp_path / "so"
    out.mkdir()
    source = out / "component_01.wav"
    shutil.copy(mix_wav, source)
    before = source.read_bytes()
    proc = run("separate", str(source), "-k", "2", *FAST, "--out", str(out))
    assert proc.returncode == 1
    assert "would replace the input" in one_line(proc)
    assert source.read_bytes() == before
    assert visible(out) == ["component_01.wav"]


def test_an_old_set_listing_the_input_is_not_removed_with_it(mix_wav, tmp_path):
    out = tmp_path / "so"
    assert run("separate", str(mix_wav), "-k", "6", *FAST, "--out", str(out)).returncode == 0
    source = out / "component_05.wav"
    before = source.read_bytes()
    proc = run("separate", str(source), "-k", "3", *FAST, "--out", str(out))
    assert proc.returncode == 1
    assert "would replace the input" in one_line(proc)
    assert source.read_bytes() == before


@pytest.mark.parametrize("names", [("d1/song.wav", "d2/song.wav"), ("song.wav", "song.flac")])
def test_inputs_with_one_file_stem_get_their_own_folders(mix_wav, tmp_path, names):
    inputs = []
    for name in names:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        samples, rate = sf.read(mix_wav)
        sf.write(path, samples, rate)
        inputs.append(str(path))
    out = tmp_path / "out"
    proc = run("separate", *inputs, "-k", "2", *FAST, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert visible(out) == ["song", "song_2"]
    for folder, source in zip(["song", "song_2"], inputs):
        manifest = json.loads((out / folder / "manifest.json").read_text())
        assert manifest["input"] == source


def test_a_new_set_replaces_the_old_one_whole(mix_wav, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "notes.txt").write_text("mine")  # not part of any set: kept
    assert run("separate", str(mix_wav), "-k", "6", *FAST, "--out", str(out)).returncode == 0
    proc = run("separate", str(mix_wav), "-k", "3", *FAST, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    stems = [f"component_0{i}.wav" for i in range(1, 4)]
    assert visible(out) == [*stems, "manifest.json", "notes.txt"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["file"] for s in manifest["stems"]] == stems


def test_a_folder_named_manifest_json_is_refused_and_the_demo_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    (out / "manifest.json").mkdir(parents=True)
    proc = run("separate", "--demo", "-k", "3", *FAST, "--out", str(out))
    assert proc.returncode == 1
    assert "manifest.json" in one_line(proc)
    assert visible(out) == ["manifest.json"]
    assert (out / "manifest.json").is_dir()


def test_a_folder_a_live_run_holds_is_refused_with_one_line(mix_wav, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(f"{os.getpid()} {process_start(os.getpid())}\n")
    proc = run("separate", str(mix_wav), "-k", "2", *FAST, "--out", str(out))
    assert proc.returncode == 1
    line = one_line(proc)
    assert "in use by another partwise run" in line and str(os.getpid()) in line
    assert visible(out) == [LOCK]


def gone_process() -> tuple[int, int]:
    """The PID and start time of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    start_time = process_start(child.pid)
    child.wait()
    return child.pid, start_time


def test_a_lock_left_by_a_run_that_is_gone_does_not_block(mix_wav, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pid, start_time = gone_process()
    (out / LOCK).write_text(f"{pid} {start_time}\n")
    proc = run("separate", str(mix_wav), "-k", "2", *FAST, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert visible(out) == ["component_01.wav", "component_02.wav", "manifest.json"]


def test_staging_of_runs_that_are_gone_is_removed_and_a_live_runs_kept(mix_wav, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pid, start_time = gone_process()
    dead = out / f".partwise-{pid}-{start_time}-0a1b2c3d.stage"
    live = out / f".partwise-{os.getpid()}-{process_start(os.getpid())}-4e5f6a7b.stage"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "component_01.wav").write_bytes(b"x" * 1000)
    proc = run("separate", str(mix_wav), "-k", "2", *FAST, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not dead.exists()
    assert (live / "component_01.wav").exists()


def test_the_run_after_a_sigkill_removes_its_staging_and_lock(long_wav, mix_wav, tmp_path):
    out = tmp_path / "out"
    proc = start("separate", str(long_wav), "-k", "40", "--init", "random", "--iterations",
                 "1", "--quiet", "--out", str(out))
    while not out.is_dir() or not any(p.name.endswith(".stage") for p in out.iterdir()):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert any(p.name.endswith(".stage") for p in out.iterdir())
    again = run("separate", str(mix_wav), "-k", "2", *FAST, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert visible(out) == ["component_01.wav", "component_02.wav", "manifest.json"]


@pytest.fixture
def square_wav(tmp_path) -> Path:
    """A full-scale square wave and a tone: stems of it exceed full scale."""
    rate = 22_050
    t = np.arange(2 * rate) / rate
    square = np.sign(np.sin(2 * np.pi * 110 * t)) * 0.999
    square[square == 0] = 0.999
    path = tmp_path / "square.wav"
    sf.write(path, square.astype(np.float32), rate, subtype="FLOAT")
    return path


def test_stems_that_would_clip_are_written_as_float_and_said_so(square_wav, tmp_path):
    out = tmp_path / "out"
    proc = run("separate", str(square_wav), "-k", "4", "--iterations", "30", "--quiet",
               "--sample-format", "pcm16", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "above full scale" in proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    clipped = [s for s in manifest["stems"] if s.get("sample_format") == "float"]
    assert clipped and all(s["peak"] > 1 for s in clipped)
    stems = [sf.read(out / s["file"], dtype="float32")[0] for s in manifest["stems"]]
    mixture, _ = sf.read(square_wav, dtype="float32")
    assert np.abs(np.sum(stems, axis=0) - mixture).max() < 1e-3


def test_flac_stems_that_would_clip_are_scaled_and_said_so(square_wav, tmp_path):
    out = tmp_path / "out"
    proc = run("separate", str(square_wav), "-k", "4", "--iterations", "30", "--quiet",
               "--format", "flac", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "scaled" in proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    scaled = [s for s in manifest["stems"] if "gain" in s]
    assert scaled
    stems = [sf.read(out / s["file"], dtype="float32")[0] / s.get("gain", 1)
             for s in manifest["stems"]]
    mixture, _ = sf.read(square_wav, dtype="float32")
    assert np.abs(np.sum(stems, axis=0) - mixture).max() < 1e-3


def test_files_get_the_mode_the_umask_gives(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", MAIN, "separate", "--demo", "-k", "2", *FAST,
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(0o022), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {"0o644"}


def test_out_with_an_empty_name_is_refused(mix_wav, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "separate", str(mix_wav),
                           "--out", ""], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert "--out" in one_line(proc)
    assert list(tmp_path.iterdir()) == []


def test_sweep_plot_creates_its_folder(mix_wav, tmp_path):
    plot = tmp_path / "new" / "folder" / "sweep.png"
    proc = run("sweep", str(mix_wav), "-k", "1:3", "--iterations", "3", "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    assert plot.stat().st_size > 0


def test_sweep_plot_into_a_file_is_refused_before_the_solve(mix_wav, tmp_path):
    (tmp_path / "taken").write_text("a file")
    proc = run("sweep", str(mix_wav), "-k", "1:3", "--plot", str(tmp_path / "taken" / "s.png"))
    assert proc.returncode == 1
    assert "taken" in one_line(proc)


def test_a_second_run_into_a_folder_being_written_is_refused_and_the_first_completes(
    long_wav, mix_wav, tmp_path
):
    out = tmp_path / "out"
    first = start("separate", str(long_wav), "-k", "24", "--init", "random", "--iterations",
                  "1", "--quiet", "--out", str(out))
    while not (out / LOCK).exists():
        assert first.poll() is None, first.stderr.read()
        time.sleep(0.01)
    second = run("separate", str(mix_wav), "-k", "3", *FAST, "--out", str(out))
    assert second.returncode == 1
    assert "in use by another partwise run" in one_line(second)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"] == str(long_wav) and len(manifest["stems"]) == 24
    assert visible(out) == sorted([s["file"] for s in manifest["stems"]] + ["manifest.json"])
