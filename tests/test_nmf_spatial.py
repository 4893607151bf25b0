"""The multichannel model V_c ≈ W diag(q_c) H: shared templates, a gain per channel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp import nmf
from dsp.nmf.spatial import GAIN_STEP_EVERY


def panned(seed: int, channels: int = 2, m: int = 40, n: int = 60, k: int = 3):
    """Exact multichannel data from random factors: (V, W, H, Q)."""
    rng = np.random.default_rng(seed)
    W = rng.random((m, k)).astype(np.float32) ** 3  # peaky spectra, easy to tell apart
    H = rng.random((k, n)).astype(np.float32)
    Q = rng.random((channels, k)).astype(np.float32) + 0.05
    Q /= Q.mean(axis=0)
    V = np.stack([(W * Q[c]) @ H for c in range(channels)])
    return V, W, H, Q


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    channels=st.integers(2, 3),
    k=st.integers(1, 4),
    loss=st.sampled_from(["kl", "euclidean", "is"]),
)
def test_the_loss_never_increases_and_the_gains_stay_centred(seed, channels, k, loss):
    rng = np.random.default_rng(seed)
    V = rng.random((channels, 24, 30)).astype(np.float32) + 0.01
    solver = nmf.make_solver(V, k, loss=loss, init="random", seed=seed)
    solver.step(4 * GAIN_STEP_EVERY)
    losses = np.array([solver.initial_loss, *solver.losses])
    assert np.all(np.diff(losses) <= 1e-5 * np.abs(losses[:-1]) + 1e-6)
    gains = solver.channel_gains
    assert gains.shape == (channels, k) and gains.min() >= 0
    np.testing.assert_allclose(gains.mean(axis=0), 1.0, rtol=1e-5)
    assert np.isfinite(solver.W).all() and np.isfinite(solver.H).all()


def test_one_channel_is_plain_nmf():
    V, *_ = panned(1, channels=1)
    spatial = nmf.make_solver(V, 3, seed=0)
    plain = nmf.make_solver(V[0], 3, seed=0)
    spatial.step(20)
    plain.step(20)
    assert spatial.channel_gains is None
    np.testing.assert_array_equal(spatial.W, plain.W)
    np.testing.assert_array_equal(spatial.H, plain.H)


def test_identical_channels_stay_centred_and_fit_their_mono_mix():
    V, *_ = panned(2, channels=1)
    spatial = nmf.make_solver(np.concatenate([V, V]), 3, seed=0)
    spatial.step(3 * GAIN_STEP_EVERY)
    np.testing.assert_allclose(spatial.channel_gains, 1.0, rtol=1e-5)
    model = spatial.reconstruction()
    np.testing.assert_allclose(model, spatial.W @ spatial.H, rtol=1e-6)
    # Two identical channels: twice the mono divergence of the same W H.
    mono = nmf.beta_divergence(V[0], model, 1.0)
    assert spatial.losses[-1] == pytest.approx(2 * mono, rel=1e-4)


def test_the_gains_find_where_each_component_sits():
    V, W, H, Q = panned(3)
    result = nmf.factorize(V, 3, max_iter=600, tol=0, init="nndsvda", seed=0)
    # Match fitted components to the true ones by their templates.
    fit = (result.W / np.linalg.norm(result.W, axis=0)).T @ (W / np.linalg.norm(W, axis=0))
    order = np.argmax(fit, axis=0)
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(result.channel_gains[:, order], Q, atol=0.05)
    assert result.channel_gains.shape == (2, 3)


def test_warm_start_continues_from_the_gains_it_is_given():
    V, *_ = panned(4)
    first = nmf.factorize(V, 3, max_iter=30, tol=0, seed=0)
    again = nmf.make_solver(V, 3, W=first.W, H=first.H, channel_gains=first.channel_gains,
                            warm_start=True)
    assert again.initial_loss == pytest.approx(first.losses[-1], rel=1e-4)
    again.step(5)
    assert again.losses[-1] <= first.losses[-1]
    fresh = nmf.make_solver(V, 3, W=first.W, H=first.H, warm_start=True)
    assert fresh.initial_loss > again.initial_loss  # centred gains forget the positions


def test_locked_templates_keep_their_spectrum_but_find_their_place():
    V, *_ = panned(5)
    first = nmf.factorize(V, 3, max_iter=5, tol=0, seed=0)
    solver = nmf.make_solver(V, 3, W=first.W, H=first.H, lock_W=[1])
    before = np.array(solver.W)
    solver.step(4 * GAIN_STEP_EVERY)
    np.testing.assert_array_equal(solver.W[:, 1], before[:, 1])
    assert not np.array_equal(solver.W[:, 0], before[:, 0])
    assert not np.allclose(solver.channel_gains[:, 1], 1.0)
    assert solver.locked_W.tolist() == [False, True, False]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"algorithm": "hals", "loss": "euclidean"}, "multiplicative updates"),
        ({"sparsity": 0.1}, "sparsity"),
        ({"algorithm": "deep", "layers": (4,)}, "multiplicative updates"),
    ],
)
def test_options_the_model_cannot_honour_are_refused(options, message):
    V, *_ = panned(6)
    with pytest.raises(ValueError, match=message):
        nmf.make_solver(V, 3, **options)


def test_channel_gains_of_the_wrong_shape_or_for_one_channel_are_refused():
    V, *_ = panned(7)
    with pytest.raises(ValueError, match="channel gains must have shape"):
        nmf.make_solver(V, 3, channel_gains=np.ones((3, 3)))
    with pytest.raises(ValueError, match="nonnegative"):
        nmf.make_solver(V, 3, channel_gains=-np.ones((2, 3)))
    with pytest.raises(ValueError, match="multichannel"):
        nmf.make_solver(V[0], 3, channel_gains=np.ones((2, 3)))
