"""`main.py separate` on options at and beyond their limits, in real subprocesses on real files."""

import json
from pathlib import Path

import pytest
import soundfile as sf

from dsp.demo import make_demo

from .test_cli import run


@pytest.fixture(scope="module")
def mix_wav(tmp_path_factory) -> Path:
    """Three seconds of the stereo demo at 22.05 kHz."""
    path = tmp_path_factory.mktemp("in") / "mix.wav"
    demo = make_demo(duration=3.0)
    sf.write(path, demo.mixture.samples, demo.mixture.rate, subtype="FLOAT")
    return path


def test_more_components_than_combs_fill_k_with_free_components(mix_wav, tmp_path):
    # The comb start's dictionary holds 61 combs: beyond 61 + k/4 atoms it ran out.
    proc = run("separate", str(mix_wav), "-k", "90", "--iterations", "2", "--quiet",
               "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["components"] for s in manifest["stems"]] == [[k] for k in range(1, 91)]
