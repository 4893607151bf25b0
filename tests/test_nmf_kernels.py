"""The fused KL passes: same ratio and Σ V log WH serially and on a thread pool."""

import os

import numpy as np
import pytest

from dsp import nmf
from dsp.nmf import kernels
from dsp.nmf.kernels import KLPasses


def model(rng, m=300, n=700, k=4):
    V = (rng.random((m, k)) @ rng.random((k, n))).astype(np.float32)
    V[:, 3] = 0.0
    W = np.maximum(rng.random((m, k)), nmf.FLOOR).astype(np.float32)
    H = np.maximum(rng.random((k, n)), nmf.FLOOR).astype(np.float32)
    return V, W @ H


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_fused_pass_gives_ratio_and_v_log(threads):
    V, WH = model(np.random.default_rng(0))
    R = WH.copy()
    v_log = KLPasses(V, threads=threads).ratio_and_v_log(R)
    exact = float(np.sum(V.astype(np.float64) * np.log(WH.astype(np.float64))))
    assert v_log == pytest.approx(exact, rel=1e-6)
    assert np.array_equal(R, V / WH)


@pytest.mark.parametrize("threads", [1, 3])
def test_ratio_pass_matches_numpy_division(threads):
    V, WH = model(np.random.default_rng(1))
    R = WH.copy()
    KLPasses(V, threads=threads).ratio(R)
    assert np.array_equal(R, V / WH)


def test_threaded_and_serial_solvers_agree_and_loss_never_increases(monkeypatch):
    V, _ = model(np.random.default_rng(2), m=64, n=90)
    serial = nmf.make_solver(V, 5, loss="kl", seed=0)
    monkeypatch.setattr(kernels, "_PARALLEL_MIN", 0)
    monkeypatch.setattr(kernels, "n_threads", lambda: 3)
    threaded = nmf.make_solver(V, 5, loss="kl", seed=0)
    assert threaded._passes.threads == 3
    serial.step(30)
    threaded.step(30)
    # The loss is a difference of large sums, so chunk order shows at ~1e-6.
    np.testing.assert_allclose(threaded.losses, serial.losses, rtol=1e-5)
    np.testing.assert_allclose(threaded.W, serial.W, rtol=1e-5, atol=1e-7)
    assert np.all(np.diff(threaded.losses) <= 1e-6 * threaded.losses[0])


def test_thread_count_respects_the_environment(monkeypatch):
    monkeypatch.setenv("PARTWISE_NUM_THREADS", "1")
    assert kernels.n_threads() == 1
    monkeypatch.delenv("PARTWISE_NUM_THREADS")
    assert 1 <= kernels.n_threads() <= os.cpu_count()
