"""`main.py separate` end to end, in a real subprocess, on real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dsp.audio import load
from dsp.demo import make_demo

from .test_audio import bad_files

ROOT = Path(__file__).resolve().parents[1]


#: Runs main.py as ``python main.py ARGS`` does, from the checkout.
MAIN = (
    "import runpy, sys; sys.argv = ['main.py'] + sys.argv[1:]; "
    "runpy.run_path('main.py', run_name='__main__')"
)


def run(*args: str, check_qt: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    code = MAIN
    if check_qt:  # prove the CLI never imports Qt: fail at exit if it did
        code = (
            "import atexit, sys; atexit.register(lambda: "
            "sys.modules.get('PySide6') and print('QT-IMPORTED', file=sys.stderr)); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_components_are_written_and_sum_to_the_mixture(mix_wav, tmp_path):
    out = tmp_path / "stems"
    proc = run(
        "separate",
        str(mix_wav),
        "-k",
        "4",
        "--out",
        str(out),
        "--sample-format",
        "float",
        "--iterations",
        "30",
        "--tol",
        "0",
        check_qt=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "QT-IMPORTED" not in proc.stderr
    assert "iteration 30/30" in proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"component_0{i}.wav" for i in range(1, 5)] + ["manifest.json"]
    mixture = load(mix_wav)
    stems = [load(out / n) for n in names[:-1]]
    assert all((s.rate, s.channels, s.frames) == (mixture.rate, 2, mixture.frames) for s in stems)
    residual = mixture.samples - np.sum([s.samples for s in stems], axis=0)
    assert 20 * np.log10(np.linalg.norm(residual) / np.linalg.norm(mixture.samples)) < -80
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["n_components"] == 4
    assert manifest["sample_rate"] == mixture.rate and manifest["input"] == str(mix_wav)
    assert [s["file"] for s in manifest["stems"]] == names[:-1]


def test_sources_are_grouped_and_flac_written(mix_wav, tmp_path):
    proc = run(
        "separate",
        str(mix_wav),
        "-k",
        "6",
        "--sources",
        "3",
        "--out",
        str(tmp_path),
        "--format",
        "flac",
        "--quiet",
        "--iterations",
        "20",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "source_1.flac",
        "source_2.flac",
        "source_3.flac",
    ]
    groups = [
        s["components"] for s in json.loads((tmp_path / "manifest.json").read_text())["stems"]
    ]
    assert sorted(c for g in groups for c in g) == [1, 2, 3, 4, 5, 6]


def test_without_components_the_number_follows_the_sources(mix_wav, tmp_path):
    from dsp.pipeline import COMPONENTS_PER_SOURCE

    proc = run("separate", str(mix_wav), "--sources", "2", "--out", str(tmp_path), "--quiet",
               "--iterations", "5")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["parameters"]["n_components"] == 2 * COMPONENTS_PER_SOURCE
    assert manifest["parameters"]["spatial"] is True  # a stereo file: the multichannel model
    groups = [s["components"] for s in manifest["stems"]]
    assert sorted(c for g in groups for c in g) == list(range(1, 2 * COMPONENTS_PER_SOURCE + 1))


def test_no_spatial_fits_the_channels_mean(mix_wav, tmp_path):
    proc = run("separate", str(mix_wav), "-k", "3", "--no-spatial", "--out", str(tmp_path),
               "--quiet", "--iterations", "5")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["parameters"]["spatial"] is False


def test_same_seed_gives_identical_stems(mix_wav, tmp_path):
    for name in ("a", "b"):
        proc = run(
            "separate",
            str(mix_wav),
            "-k",
            "3",
            "--out",
            str(tmp_path / name),
            "--quiet",
            "--iterations",
            "15",
            "--init",
            "random",
            "--seed",
            "7",
        )
        assert proc.returncode == 0, proc.stderr
    for i in (1, 2, 3):
        a, b = (tmp_path / d / f"component_0{i}.wav" for d in "ab")
        assert a.read_bytes() == b.read_bytes()


def test_demo_is_separated_and_scored(tmp_path):
    proc = run("separate", "--demo", "-k", "3", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["demo_sdr_db"]) == {"bass", "lead", "pluck"}
    assert min(manifest["demo_sdr_db"].values()) > 9.0
    assert (tmp_path / "mixture.wav").exists()


def test_silent_file_gives_silent_stems(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((20000, 2)), 16000)
    proc = run("separate", str(path), "-k", "2", "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    for name in ("component_01.wav", "component_02.wav"):
        samples = load(tmp_path / "o" / name).samples
        assert np.isfinite(samples).all() and not samples.any()


def assert_clean_failure(proc, out: Path, *words: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert all(w in lines[0] for w in words), lines[0]
    leftovers = list(out.rglob("*")) if out.exists() else []
    assert leftovers == [], leftovers


@pytest.mark.parametrize(
    "case", ["missing", "directory", "text", "empty", "truncated", "nan", "inf"]
)
def test_bad_file_fails_with_one_line_and_no_stems(tmp_path, case):
    path, words = bad_files(tmp_path)[case]
    out = tmp_path / "out"
    proc = run("separate", str(path), "--out", str(out))
    assert_clean_failure(proc, out, f"'{path.name}'", words)


def test_file_shorter_than_one_frame_is_refused(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, np.zeros(1000), 44100)
    out = tmp_path / "out"
    assert_clean_failure(
        run("separate", str(path), "--out", str(out)),
        out,
        "'blip.wav'",
        "shorter than one STFT frame",
    )


@pytest.mark.parametrize("k, words", [("0", "at least 1"), ("5000", "between 1 and")])
def test_impossible_component_count_is_refused(mix_wav, tmp_path, k, words):
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "--components", k, "--out", str(out))
    assert_clean_failure(proc, out, words)


def test_unwritable_output_folder_is_refused(mix_wav, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run("separate", str(mix_wav), "--out", str(blocker / "stems"))
    assert_clean_failure(proc, tmp_path / "nothing", "cannot write to folder", "stems")
    assert blocker.read_text() == "not a folder"


def test_batch_writes_a_folder_per_file_and_reports_bad_ones(mix_wav, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    proc = run(
        "separate",
        str(mix_wav),
        str(bad),
        "-k",
        "2",
        "--iterations",
        "5",
        "--quiet",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 1
    assert "'bad.wav'" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["mix"]
    assert (tmp_path / "o" / "mix" / "component_01.wav").exists()


def saved_session(mix_wav, tmp_path):
    """A session as the GUI saves it: factors from a run, components assigned to sources."""
    from dsp.audio import load
    from dsp.pipeline import Settings, separate_audio
    from dsp.project_file import ComponentState, Project, SourceState, file_sha256, save_project

    settings = Settings(n_components=4, iterations=12, tol=0, seed=3)
    separation = separate_audio(load(mix_wav), settings)
    project = Project(
        str(mix_wav),
        file_sha256(mix_wav),
        settings,
        separation.W,
        separation.H,
        np.array(separation.losses),
        [ComponentState(f"c{k}", source=k % 2) for k in range(4)],
        [SourceState("left"), SourceState("right")],
    )
    return save_project(project, tmp_path / "s.partwise"), separation


def test_session_replay_on_its_own_audio_uses_its_exact_factors(mix_wav, tmp_path):
    from dsp.separation import separate

    path, separation = saved_session(mix_wav, tmp_path)
    proc = run(
        "separate",
        "--session",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--sample-format",
        "float",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    expected = list(
        separate(
            separation.spectrogram,
            separation.W,
            separation.H,
            [[0, 2], [1, 3]],
            power=separation.settings.mask_power,
        )
    )
    # The stems carry the sources' names, as the GUI's export of the session does.
    for name, stem in zip(["left", "right"], expected):
        assert np.array_equal(load(tmp_path / "o" / f"{name}.wav").samples, stem)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert [s["source"] for s in manifest["stems"]] == ["left", "right"]


def test_session_replays_its_settings_on_a_batch(mix_wav, tmp_path):
    path, _ = saved_session(mix_wav, tmp_path)
    other = tmp_path / "other.wav"
    sf.write(other, make_demo(duration=2.0).mixture.samples[::-1], 22050)
    proc = run(
        "separate",
        str(other),
        str(mix_wav),
        "--session",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    # Other audio is grouped afresh (sources by number); the session's own keeps its sources.
    expected = {"other": ["source_1.wav", "source_2.wav"], "mix": ["left.wav", "right.wav"]}
    for folder, files in expected.items():
        manifest = json.loads((tmp_path / "o" / folder / "manifest.json").read_text())
        assert manifest["parameters"]["seed"] == 3 and manifest["parameters"]["n_sources"] == 2
        assert [s["file"] for s in manifest["stems"]] == files


def painted_session(mix_wav, tmp_path):
    """``saved_session`` with paint: source "left" below a quarter of the band, "right" above
    half of it in the second half of the file."""
    from dataclasses import replace

    from dsp.project_file import load_project, save_project

    path, separation = saved_session(mix_wav, tmp_path)
    bins, frames = separation.spectrogram.shape
    paint = np.zeros((2, bins, frames), np.float32)
    paint[0, : bins // 4] = 1.0
    paint[1, bins // 2 :, frames // 2 :] = 0.7
    project = load_project(path)
    settings = replace(project.settings, guide_iterations=8)
    save_project(replace(project, settings=settings, paint=paint), path)
    return path, separation, paint


def test_session_replay_renders_with_the_sessions_paint(mix_wav, tmp_path):
    from app.document import Document
    from dsp.project_file import load_project
    from dsp.separation import separate

    path, separation, _ = painted_session(mix_wav, tmp_path)
    proc = run("separate", "--session", str(path), "--out", str(tmp_path / "o"),
               "--sample-format", "float", "--quiet")
    assert proc.returncode == 0, proc.stderr
    project = load_project(path)
    document = Document()
    document.restore(separation.audio, separation.spectrogram, project.settings, W=project.W,
                     H=project.H, components=project.components, sources=project.sources,
                     paint=project.paint)
    steering = document.steering()
    assert steering is not None
    options = dict(power=project.settings.mask_power)
    steered = list(separate(separation.spectrogram, project.W, project.H, [[0, 2], [1, 3]],
                            steering=steering, **options))
    plain = list(separate(separation.spectrogram, project.W, project.H, [[0, 2], [1, 3]],
                          **options))
    stems = [load(tmp_path / "o" / f"{name}.wav").samples for name in ("left", "right")]
    for stem, want, unsteered in zip(stems, steered, plain):
        np.testing.assert_allclose(stem, want, atol=1e-6)
        assert np.abs(stem - unsteered).max() > 1e-3  # the paint moved sound between stems
    np.testing.assert_allclose(sum(stems), separation.audio.samples, atol=1e-5)


def test_session_paint_steers_a_fresh_run_on_other_audio_of_the_same_length(mix_wav, tmp_path):
    from dataclasses import replace

    from dsp.pipeline import separate_audio
    from dsp.project_file import load_project

    path, separation, paint = painted_session(mix_wav, tmp_path)
    other = tmp_path / "other.wav"
    sf.write(other, separation.audio.samples[::-1], separation.audio.rate, subtype="FLOAT")
    proc = run("separate", str(other), "--session", str(path), "--out", str(tmp_path / "o"),
               "--sample-format", "float", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    settings = replace(load_project(path).settings, n_sources=2)
    expected = separate_audio(load(other), settings, paint=paint)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["iterations"] == 12 + 8  # the session's run, then its paint-steered run
    for entry, want in zip(manifest["stems"], expected.stems()):
        np.testing.assert_allclose(load(tmp_path / "o" / entry["file"]).samples, want,
                                   atol=1e-5)


def test_session_paint_that_does_not_fit_other_audio_is_left_out_and_said_so(mix_wav, tmp_path):
    path, _, _ = painted_session(mix_wav, tmp_path)
    other = tmp_path / "other.wav"
    sf.write(other, make_demo(duration=2.0).mixture.samples, 22050)
    proc = run("separate", str(other), "--session", str(path), "--out", str(tmp_path / "o"),
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stderr.splitlines()
    assert "'other.wav'" in line and "paint" in line and "does not fit" in line
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["iterations"] == 12  # no paint-steered run
    assert [s["file"] for s in manifest["stems"]] == ["source_1.wav", "source_2.wav"]


def test_corrupt_session_fails_cleanly(mix_wav, tmp_path):
    bad = tmp_path / "bad.partwise"
    bad.write_text("not a zip")
    out = tmp_path / "o"
    proc = run("separate", str(mix_wav), "--session", str(bad), "--out", str(out))
    assert_clean_failure(proc, out, "'bad.partwise'", "corrupt")


def test_session_saved_before_any_run_is_run_afresh(mix_wav, tmp_path):
    from dsp.pipeline import Settings
    from dsp.project_file import ComponentState, Project, file_sha256, save_project

    project = Project(
        str(mix_wav),
        file_sha256(mix_wav),
        Settings(n_components=2, iterations=5, seed=1),
        np.zeros((0, 2), np.float32),
        np.zeros((2, 0), np.float32),
        components=[ComponentState("a"), ComponentState("b")],
    )
    path = save_project(project, tmp_path / "fresh.partwise")
    proc = run("separate", "--session", str(path), "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["iterations"] == 5
    assert [s["file"] for s in manifest["stems"]] == ["component_01.wav", "component_02.wav"]


@pytest.mark.parametrize(
    "options, loss",
    [
        (["--algorithm", "hals"], "euclidean"),
        (["--algorithm", "kmeans"], "kl"),
        (["--algorithm", "deep", "--layers", "6,4"], "kl"),
        (["--algorithm", "mu", "--loss", "is"], "is"),
    ],
)
def test_every_algorithm_separates_into_stems_that_sum_to_the_mixture(
    mix_wav, tmp_path, options, loss
):
    proc = run(
        "separate",
        str(mix_wav),
        "-k",
        "3",
        "--iterations",
        "10",
        "--quiet",
        "--sample-format",
        "float",
        "--out",
        str(tmp_path),
        *options,
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["parameters"]["loss"] == loss
    assert manifest["parameters"]["algorithm"] == options[1]
    mixture = load(mix_wav).samples
    stems = [load(tmp_path / s["file"]).samples for s in manifest["stems"]]
    residual = mixture - np.sum(stems, axis=0)
    assert 20 * np.log10(np.linalg.norm(residual) / np.linalg.norm(mixture)) < -80


@pytest.mark.parametrize(
    "options",
    [["--algorithm", "deep"], ["--layers", "4,2"], ["--algorithm", "hals", "--loss", "kl"]],
)
def test_impossible_algorithm_options_fail_with_one_line(mix_wav, tmp_path, options):
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "--out", str(out), *options)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_help_lists_the_window_and_the_commands_without_starting_qt():
    done = run("--help", check_qt=True)
    assert done.returncode == 0, done.stderr
    assert "QT-IMPORTED" not in done.stderr
    for command in ("partwise [FILE]", "partwise separate", "partwise sweep"):
        assert command in done.stdout


def test_the_first_run_says_the_nmf_kernels_compile_and_later_runs_do_not(mix_wav, tmp_path):
    """The first run after an install compiles for ~15 s: it must not be silent."""
    from dsp.nmf.kernels import COMPILING

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))  # empty: as installed
    args = ("separate", str(mix_wav), "-k", "2", "--iterations", "2")
    first = run(*args, "--out", str(tmp_path / "first"), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == COMPILING
    again = run(*args, "--out", str(tmp_path / "again"), env=env)
    assert again.returncode == 0, again.stderr
    assert COMPILING not in again.stderr
