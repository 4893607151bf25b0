"""`main.py separate` on options at and beyond their limits and on signals, in real subprocesses."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .test_cli import MAIN, ROOT, run


def test_more_components_than_combs_fill_k_with_free_components(mix_wav, tmp_path):
    # The comb start's dictionary holds 61 combs: beyond 61 + k/4 atoms it ran out.
    proc = run("separate", str(mix_wav), "-k", "90", "--iterations", "2", "--quiet",
               "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["components"] for s in manifest["stems"]] == [[k] for k in range(1, 91)]


@pytest.fixture
def earlier_output(mix_wav, tmp_path):
    """An output folder holding the stems of an earlier run, and a snapshot of its files."""
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "-k", "2", "--iterations", "2", "--quiet",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def assert_refused_and_untouched(proc, earlier, *words: str) -> None:
    """Exit 2, one line naming the problem, the earlier output exactly as it was."""
    out, files = earlier
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files


@pytest.mark.parametrize("alpha", ["nan", "inf", "-inf", "0", "-1", "100", "-100", "10.5"])
def test_mask_power_outside_its_range_is_refused(mix_wav, earlier_output, alpha):
    proc = run("separate", str(mix_wav), f"--mask-power={alpha}", "--out", str(earlier_output[0]))
    assert_refused_and_untouched(proc, earlier_output, "--mask-power", "0 < α ≤ 10")


@pytest.mark.parametrize(
    "options, words",
    [
        (["--hop", "1"], ["--hop", "between 128 and 1024"]),
        (["--hop", "0"], ["--hop", "between 128 and 1024"]),
        (["--hop", "2048"], ["--hop", "between 128 and 1024"]),
        (["--n-fft", "256", "--hop", "8"], ["--hop", "between 16 and 128"]),
        (["--n-fft", "1000"], ["--n-fft", "power of two"]),
        (["--n-fft", "8"], ["--n-fft", "power of two"]),
        (["--n-fft", str(2**20)], ["--n-fft", "power of two"]),
    ],
)
def test_stft_sizes_outside_their_range_are_refused(mix_wav, earlier_output, options, words):
    proc = run("separate", str(mix_wav), *options, "--out", str(earlier_output[0]))
    assert_refused_and_untouched(proc, earlier_output, *words)


def test_sweep_refuses_a_hop_out_of_range(mix_wav):
    proc = run("sweep", str(mix_wav), "--hop", "1", "-k", "1:2")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "partwise: error: --hop must be between 128 and 1024 (n_fft/16 to n_fft/2 for "
        "--n-fft 2048), got 1"
    ]
    assert proc.stdout == ""


def test_the_smallest_hop_allowed_still_separates(mix_wav, tmp_path):
    proc = run("separate", str(mix_wav), "-k", "2", "--hop", "128", "--iterations", "2",
               "--quiet", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "manifest.json").read_text())["parameters"]["hop"] == 128


@pytest.mark.parametrize("option, value", [("--seed", "-1"), ("--seed", str(2**31)),
                                           ("--iterations", str(2**31)),
                                           ("--guide-iterations", "-1")])
def test_a_seed_or_count_out_of_range_is_refused_naming_the_option(mix_wav, earlier_output,
                                                                   option, value):
    # The bound is what every front end holds: the GUI's controls are C ints.
    proc = run("separate", str(mix_wav), option, value, "--out", str(earlier_output[0]))
    assert_refused_and_untouched(proc, earlier_output, option, f"from 0 to {2**31 - 1}", value)


def test_sweep_refuses_a_negative_seed_naming_the_option(mix_wav):
    proc = run("sweep", str(mix_wav), "--seed", "-1", "-k", "1:2")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"partwise: error: --seed must be from 0 to {2**31 - 1}, got -1"
    ]


def test_stems_are_finite_at_the_largest_mask_power(mix_wav, tmp_path):
    from dsp.audio import load

    proc = run("separate", str(mix_wav), "-k", "3", "--mask-power", "10", "--iterations", "5",
               "--quiet", "--sample-format", "float", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    stems = [load(tmp_path / f"component_0{i}.wav").samples for i in (1, 2, 3)]
    assert all(np.isfinite(s).all() for s in stems)
    mixture = load(mix_wav).samples
    residual = mixture - np.sum(stems, axis=0)
    assert 20 * np.log10(np.linalg.norm(residual) / np.linalg.norm(mixture)) < -80


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", MAIN, *args], cwd=ROOT, text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, sig: int) -> tuple[int, list[str]]:
    """Send ``sig``, wait for the exit; returns the exit code and the stderr lines after it."""
    proc.send_signal(sig)
    rest = proc.stderr.read().splitlines()
    return proc.wait(timeout=300), rest


def exit_code(sig: int) -> int:
    return 128 + sig  # the shell's convention: 130 for Ctrl+C, 143 for SIGTERM


def message(sig: int) -> str:
    return "partwise: interrupted" + ("" if sig == signal.SIGINT else f" by {sig.name}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_solve_exits_with_one_line_and_writes_nothing(long_wav, tmp_path, sig):
    out = tmp_path / "out"
    proc = start("separate", str(long_wav), "-k", "8", "--init", "random", "--iterations",
                 "500", "--tol", "0", "--out", str(out))
    for line in proc.stderr:
        if "iteration" in line:
            break
    code, rest = finish(proc, sig)
    assert code == exit_code(sig)
    assert rest == [message(sig)]
    assert list(out.rglob("*")) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_stems_are_staged_removes_them_and_keeps_the_earlier_output(
    long_wav, earlier_output, sig
):
    out, files = earlier_output
    proc = start("separate", str(long_wav), "-k", "40", "--init", "random", "--iterations",
                 "1", "--quiet", "--out", str(out))
    while not any(p.name.endswith(".stage") for p in out.iterdir()):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    code, rest = finish(proc, sig)
    assert code == exit_code(sig)
    assert rest == [message(sig)]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files


def demo_guide(mix_wav: Path, path: Path, *, sources: int = 2, cut=None, value=1.0) -> Path:
    """A guide painting the low half of the bins for source 1 and the high half for source 2."""
    from dsp.stft import stft

    samples, _ = sf.read(mix_wav, dtype="float32")
    bins, frames = stft(samples).shape[1:]
    paint = np.zeros((sources, bins, frames), np.float32)
    paint[0, : bins // 8, ::4] = value
    paint[1, bins // 8: bins // 4, 2::4] = value
    np.savez(path, paint=paint[:, :, :cut] if cut else paint)
    return path


def test_a_guide_gives_its_sources_in_its_order(mix_wav, tmp_path):
    guide = demo_guide(mix_wav, tmp_path / "guide.npz")
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "-k", "6", "--iterations", "20", "--guide", str(guide),
               "--guide-iterations", "10", "--guide-strength", "3", "--quiet", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["file"] for s in manifest["stems"]] == ["source_1.wav", "source_2.wav"]
    assert manifest["guide"] == {"file": str(guide), "strength": 3.0, "iterations": 10}
    mixture, _ = sf.read(mix_wav, dtype="float32")
    stems = [sf.read(out / name, dtype="float32")[0] for name in ("source_1.wav", "source_2.wav")]
    np.testing.assert_allclose(stems[0] + stems[1], mixture, atol=1e-4)
    # Source 1 was painted low, source 2 higher: their spectral centroids say the same.
    centroids = [np.sum(np.arange(len(p)) * p) / p.sum()
                 for p in (np.abs(np.fft.rfft(s.mean(axis=1))) for s in stems)]
    assert centroids[0] < centroids[1]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda wav, p: demo_guide(wav, p, cut=-1), "the STFT of this audio is"),
        (lambda wav, p: demo_guide(wav, p, value=np.nan), "NaN"),
        (lambda wav, p: demo_guide(wav, p, value=1.5), "values must be in [0, 1]"),
        (lambda wav, p: p.write_bytes(b"PK\x03\x04 not really") and p, "not a readable .npz guide"),
    ],
)
def test_a_bad_guide_fails_with_one_line_naming_it_and_writes_nothing(mix_wav, tmp_path, make,
                                                                      words):
    guide = make(mix_wav, tmp_path / "guide.npz")
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "--guide", str(guide), "--out", str(out))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "guide.npz" in lines[0] and words in lines[0], proc.stderr
    assert not out.exists() or list(out.rglob("*")) == []


def test_a_guide_for_other_sources_than_asked_is_refused(mix_wav, tmp_path):
    guide = demo_guide(mix_wav, tmp_path / "guide.npz", sources=3)
    out = tmp_path / "out"
    proc = run("separate", str(mix_wav), "--guide", str(guide), "--sources", "2", "--out",
               str(out))
    assert proc.returncode == 2
    assert "--sources 2 but" in proc.stderr and "paints 3 sources" in proc.stderr
    assert not out.exists()


@pytest.fixture
def truncated_mp3(tmp_path) -> Path:
    """Four seconds of MP3 (its Xing header says so) cut after half its bytes."""
    rate = 44_100
    t = np.arange(4 * rate) / rate
    whole = tmp_path / "whole.mp3"
    sf.write(whole, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="MP3")
    path = tmp_path / "cut.mp3"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


@pytest.mark.parametrize("quiet", [(), ("--quiet",)])
def test_a_truncated_mp3_is_refused_in_one_line_without_decoder_chatter(
    truncated_mp3, tmp_path, quiet
):
    out = tmp_path / "out"
    proc = run("separate", str(truncated_mp3), "-k", "2", *quiet, "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "partwise: error: 'cut.mp3' is truncated (header says 4.00 s, 1.88 s present)"
    ]
    assert list(out.iterdir()) == []


@pytest.fixture(scope="module")
def long_mono(tmp_path_factory) -> Path:
    """17 minutes of 8 kHz mono noise: 8 million frames at --hop 1."""
    path = tmp_path_factory.mktemp("mono") / "long_mono.wav"
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, 8_000_000).astype(np.float32)
    sf.write(path, noise, 8000, subtype="PCM_16")
    return path


def limited_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, resource.RLIM_INFINITY))


@pytest.mark.parametrize("command", ["separate", "sweep"])
def test_an_stft_larger_than_memory_is_refused_up_front_with_the_estimate(
    long_mono, tmp_path, command
):
    from dsp.memory import separation_need
    from dsp.pipeline import Settings

    out = () if command == "sweep" else ("--out", str(tmp_path / "out"))
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, command, str(long_mono), "--n-fft", "16", "--hop", "1",
         "-k", "2", *out], cwd=ROOT, capture_output=True, text=True, timeout=300,
        preexec_fn=limited_memory)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    need = separation_need(1, 8_000_000, Settings(n_components=2, n_fft=16, hop=1))
    assert need > 2 << 30  # the address-space limit: the estimate refuses it
    assert f"'long_mono.wav': needs about {need / 1e9:.1f} GB of memory" in lines[0]
    assert "GB is available" in lines[0] and "--hop" in lines[0]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_boolean_guide_is_paint_and_an_empty_one_is_said(mix_wav, tmp_path):
    from dsp.stft import stft

    samples, _ = sf.read(mix_wav, dtype="float32")
    bins, frames = stft(samples).shape[1:]
    mask = np.zeros((2, bins, frames), bool)
    mask[0, :20] = True
    np.savez(tmp_path / "mask.npz", paint=mask)
    np.savez(tmp_path / "empty.npz", paint=np.zeros((2, bins, frames), np.float32))
    for name, warned in (("mask.npz", False), ("empty.npz", True)):
        out = tmp_path / name.replace(".npz", "")
        proc = run("separate", str(mix_wav), "-k", "4", "--iterations", "5",
                   "--guide-iterations", "3", "--guide", str(tmp_path / name), "--quiet",
                   "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert (out / "source_2.wav").exists()
        assert ("paints no cell" in proc.stderr) == warned
