"""dsp.sweep and `main.py sweep`: choosing k."""

import numpy as np
import pytest
import soundfile as sf

from dsp.demo import make_demo
from dsp.stft import analyse
from dsp.sweep import elbow, parse_range, sweep

from .test_cli import run


def low_rank(rank: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((40, rank)) ** 4 @ rng.random((rank, 60)) ** 4).astype(np.float32)


@pytest.mark.parametrize("loss", ["euclidean", "kl", "is"])
def test_nested_sweep_loss_never_rises_with_k(loss):
    V = low_rank(6) + 1e-3
    points = sweep(V, range(1, 9), loss=loss, max_iter=60, tol=0, seed=1)
    losses = [p.loss for p in points]
    assert [p.k for p in points] == list(range(1, 9))
    # Each rank starts no worse than the last one finished and MU never climbs;
    # the slack covers float32 rounding of the loss only.
    assert all(b <= a * (1 + 1e-4) for a, b in zip(losses, losses[1:])), losses


def test_explained_variance_reaches_one_at_the_true_rank():
    points = sweep(low_rank(3), [1, 2, 3, 4], loss="euclidean", max_iter=300, tol=0)
    variance = [p.explained_variance for p in points]
    assert variance[0] < 0.99 < variance[2]
    assert all(0 <= v <= 1 for v in variance)


def test_elbow_of_the_demo_is_its_number_of_sources():
    demo = make_demo()
    V = analyse(demo.mixture.samples, demo.mixture.rate).magnitude()
    points = sweep(V, range(1, 8), max_iter=60, seed=0)
    assert elbow([p.k for p in points], [p.loss for p in points]) == len(demo.stems)


def test_elbow_of_a_clear_knee():
    assert elbow([1, 2, 3, 4, 5, 6], [100, 50, 10, 9, 8, 7]) == 3


@pytest.mark.parametrize(
    "text, ks", [("2:5", [2, 3, 4, 5]), ("2:10:4", [2, 6, 10]), ("3,5,8", [3, 5, 8])]
)
def test_parse_range(text, ks):
    assert parse_range(text) == ks


@pytest.mark.parametrize("text", ["", "a:b", "5:2", "0:3", "3,3", "1:2:3:4"])
def test_bad_ranges_are_refused(text):
    with pytest.raises(ValueError, match="bad range"):
        parse_range(text)


def test_cli_prints_a_table_with_the_elbow_and_draws_it(tmp_path):
    demo = make_demo(duration=3.0)
    path = tmp_path / "mix.wav"
    sf.write(path, demo.mixture.samples, demo.mixture.rate)
    proc = run(
        "sweep", str(path), "-k", "1:5", "--iterations", "40", "--plot", str(tmp_path / "k.png")
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r[0] for r in rows if "elbow" in r[-1]] == ["3"]
    assert (tmp_path / "k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_range_fails_with_one_line(tmp_path):
    path = tmp_path / "mix.wav"
    sf.write(path, make_demo(duration=1.0).mixture.samples, 22050)
    proc = run("sweep", str(path), "-k", "9:2")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "partwise: error: 'mix.wav': bad range '9:2': ranks must be positive and increasing"
    ]


def test_each_point_carries_the_factors_it_reports():
    V = low_rank(3)
    for point in sweep(V, [1, 2, 3], loss="euclidean", max_iter=40, tol=0):
        assert point.W.shape == (40, point.k) and point.H.shape == (point.k, 60)
        error = float(np.sum((V - point.W @ point.H).astype(np.float64) ** 2))
        assert point.explained_variance == pytest.approx(1 - error / np.sum(V.astype(float) ** 2))
