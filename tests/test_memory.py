"""Hour-long recordings: stems rendered in passes, the memory a run needs, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.guide import Steering
from dsp.separation import PASS, SoftMask, each_component, group_gains, render
from dsp.stft import analyse, stft

RATE = 8000


def _whole_stft_stems(spec, W, H, groups, **options):
    """The stems as one product over the whole complex STFT: the formula the passes must give."""
    masks = SoftMask(W, H, **options)
    data = stft(spec.samples, n_fft=spec.n_fft, hop=spec.hop)
    denominator = masks.denominator()
    return [spec.invert(data * masks.mask(group_gains(W.shape[1], g), denominator=denominator))
            for g in groups]


@pytest.mark.parametrize("model", ["mono", "spatial", "steered"])
def test_stems_rendered_in_passes_equal_the_whole_stft_formula(model):
    # Longer than three passes, and not a whole number of them: passes meet inside frames.
    length = 3 * PASS + 12_345
    rng = np.random.default_rng(3)
    samples = (0.3 * rng.standard_normal((length, 2))).astype(np.float32)
    spec = analyse(samples, RATE, n_fft=512, hop=128)
    bins, frames = spec.shape
    k = 4
    W = rng.random((bins, k), dtype=np.float32)
    H = rng.random((k, frames), dtype=np.float32)
    H[:, 100:103] = 0.0  # frames the model calls silent
    options = {"power": 1.5}
    if model == "spatial":
        options["channel_gains"] = np.array([[1.8, 1.0, 0.1, 0.5], [0.2, 1.0, 1.9, 1.5]],
                                            np.float32)
    if model == "steered":
        paint = np.zeros((2, bins, frames), np.float32)
        paint[0, : bins // 2, 500:4000] = 0.7
        paint[1, bins // 3 :, 3000:5000] = 1.0
        options["steering"] = Steering(paint, 5.0, np.arange(k) % 2)
    groups = each_component(k)
    stems = list(render(spec, W, H, (group_gains(k, g) for g in groups), **options))
    expected = _whole_stft_stems(spec, W, H, groups, **options)
    for stem, reference in zip(stems, expected):
        assert stem.shape == samples.shape and stem.dtype == np.float32
        np.testing.assert_allclose(stem, reference, rtol=0, atol=2e-7)
    np.testing.assert_allclose(np.sum(stems, axis=0), samples, rtol=0, atol=1e-5)


def test_a_spectrogram_keeps_the_samples_not_the_complex_stft():
    samples = np.random.default_rng(0).standard_normal((50_000, 2)).astype(np.float32)
    spec = analyse(samples, RATE, n_fft=1024, hop=256)
    assert spec.samples is samples  # not copied
    assert spec.length == 50_000 and spec.shape == (513, 1 + 50_000 // 256)
    whole = stft(samples, n_fft=1024, hop=256)
    np.testing.assert_array_equal(spec.frames(37, 151), whole[:, :, 37:151])
    np.testing.assert_array_equal(spec.frames(0, 3), whole[:, :, :3])
    np.testing.assert_array_equal(spec.frames(190, 196), whole[:, :, 190:])
    np.testing.assert_allclose(spec.magnitudes(), np.abs(whole), rtol=1e-6)


def _address_space_limit(headroom: int) -> int:
    """An RLIMIT_AS this much above what the process maps now."""
    with open("/proc/self/status", encoding="ascii") as status:
        used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    return used + headroom


def test_the_need_is_linear_in_length_and_flat_in_k():
    from dsp.memory import BASE, separation_need
    from dsp.pipeline import Settings

    minute = 60 * 44_100
    one, twenty = (separation_need(2, m * minute, Settings(n_components=32)) for m in (1, 20))
    assert twenty - BASE == pytest.approx(20 * (one - BASE), rel=0.01)
    # k enters only through the start's sketches, (k + 10) columns of the frames' length.
    assert separation_need(2, 20 * minute, Settings(n_components=8)) == pytest.approx(
        twenty, rel=0.03)


def test_a_cli_run_under_a_memory_limit_is_refused_in_one_line_and_writes_nothing(tmp_path):
    import resource
    import subprocess
    import sys
    from pathlib import Path

    import soundfile as sf

    path = tmp_path / "hour.wav"
    sf.write(path, np.zeros((60 * 60 * 8000, 2), np.float32), 8000, subtype="PCM_16")
    out = tmp_path / "out"
    root = Path(__file__).resolve().parent.parent

    def limit():  # 1.5 GiB of address space: the hour needs about 2.3 GB
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, resource.RLIM_INFINITY))

    proc = subprocess.run([sys.executable, str(root / "main.py"), "separate", str(path), "-k", "4",
                           "--out", str(out)], cwd=root, capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("partwise: error: 'hour.wav': needs about ")
    assert "GB is available; use a larger --hop or --n-fft, or a shorter file" in lines[0]
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_the_gui_refuses_a_file_too_large_for_memory_and_keeps_the_document(
    qtbot, window, tmp_path
):
    import resource

    import soundfile as sf

    path = tmp_path / "hour.wav"
    sf.write(path, np.zeros((60 * 60 * 8000, 1), np.float32), 8000, subtype="PCM_16")
    document = window.document
    audio, spectrogram = document.audio, document.spectrogram
    errors = []
    window.loader.failed.connect(errors.append)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    # 600 MB more than mapped now: enough to read the file (58 MB), not to separate it.
    resource.setrlimit(resource.RLIMIT_AS, (_address_space_limit(600 << 20), hard))
    try:
        with qtbot.waitSignal(window.loader.failed, timeout=60_000):
            window.loader.open_file(path)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("'hour.wav' needs about ") and "GB is available" in errors[0]
    assert document.audio is audio and document.spectrogram is spectrogram
