"""Multiplicative updates: monotone loss, robustness to zeros, exact-enough reported loss."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp import nmf
from dsp.nmf.divergence import is_floor
from tests.nmf_problems import any_small_shape, forty_examples, small_problem, tiny_passes

SETTINGS = settings(max_examples=15, deadline=None)


def exact_loss(solver, loss: str) -> float:
    """The divergence recomputed in float64 from the solver's factors."""
    model = solver.reconstruction().astype(np.float64)
    if loss == "is":
        model += is_floor(np.asarray(solver.V))
    return nmf.beta_divergence(np.asarray(solver.V), model, nmf.BETAS[loss])


def low_rank(rng, m=30, n=40, rank=5, noise=0.1):
    V = rng.random((m, rank)) @ rng.random((rank, n)) + noise * rng.random((m, n))
    return V.astype(np.float32)


@st.composite
def spectrograms(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    m, n = draw(st.integers(4, 30)), draw(st.integers(4, 30))
    V = rng.gamma(draw(st.sampled_from([0.3, 1.0, 3.0])), size=(m, n)).astype(np.float32)
    if draw(st.booleans()):
        V[rng.integers(m)] = 0.0
    if draw(st.booleans()):
        V[:, rng.integers(n)] = 0.0
    k = draw(st.integers(1, min(m, n, 6)))
    return V, k, seed


@pytest.mark.parametrize("loss", nmf.LOSSES)
@SETTINGS
@given(data=spectrograms(), init=st.sampled_from(nmf.INITS))
def test_mu_loss_never_increases(loss, data, init):
    V, k, seed = data
    solver = nmf.make_solver(V, k, loss=loss, init=init, seed=seed)
    exact = [exact_loss(solver, loss)]
    for _ in range(25):
        solver.step()
        exact.append(exact_loss(solver, loss))
    exact = np.array(exact)
    slack = 1e-5 * exact[0] + 1e-6
    assert np.all(np.diff(exact) <= slack), np.diff(exact).max()


@pytest.mark.parametrize("loss", nmf.LOSSES)
def test_reported_loss_matches_exact_divergence(loss):
    V = low_rank(np.random.default_rng(1))
    solver = nmf.make_solver(V, 4, loss=loss, seed=0)
    assert solver.initial_loss == pytest.approx(exact_loss(solver, loss), rel=1e-4)
    for _ in range(10):
        reported = solver.step()
        assert reported == pytest.approx(exact_loss(solver, loss), rel=1e-4)
    assert len(solver.losses) == solver.n_iter == 10


#: Every (loss, algorithm) pair make_solver accepts; HALS is Euclidean only.
SUPPORTED = [
    (loss, algorithm)
    for algorithm in nmf.ALGORITHMS
    for loss in nmf.LOSSES
    if algorithm != "hals" or loss == "euclidean"
]


@pytest.mark.parametrize("loss", [loss for loss in nmf.LOSSES if loss != "euclidean"])
def test_hals_rejects_non_euclidean_losses(loss):
    with pytest.raises(ValueError, match="hals"):
        nmf.make_solver(low_rank(np.random.default_rng(2)), 4, loss=loss, algorithm="hals")


@pytest.mark.parametrize(("loss", "algorithm"), SUPPORTED)
def test_zero_rows_columns_and_tiny_values_stay_finite(loss, algorithm):
    rng = np.random.default_rng(2)
    V = low_rank(rng, 40, 50)
    V[5] = 0.0
    V[:, 7] = 0.0
    V[10:14, 20:30] = 1e-30
    V[20, :] = 1e-38
    options = {"layers": (8,)} if algorithm == "deep" else {}
    solver = nmf.make_solver(V, 4, loss=loss, algorithm=algorithm, **options)
    solver.step(40)
    assert np.isfinite(solver.losses).all()
    assert np.isfinite(solver.W).all() and np.isfinite(solver.H).all()
    assert solver.W.min() >= 0 and solver.H.min() >= 0


def test_silent_input_does_not_fail():
    V = np.zeros((20, 30), dtype=np.float32)
    for loss in nmf.LOSSES:
        result = nmf.factorize(V, 3, loss=loss, max_iter=20)
        assert np.isfinite(result.losses).all()


@pytest.mark.parametrize("loss", nmf.LOSSES)
def test_factors_never_go_denormal(loss):
    V = low_rank(np.random.default_rng(3))
    V[:, :5] = 0.0
    solver = nmf.make_solver(V, 6, loss=loss)
    solver.step(200)
    tiny = np.finfo(np.float32).tiny
    for X in (solver.W, solver.H):
        assert not np.any((X != 0) & (np.abs(X) < tiny))
        assert X.min() >= nmf.FLOOR


@pytest.mark.parametrize("loss", nmf.LOSSES)
def test_factors_stay_float32(loss):
    solver = nmf.make_solver(low_rank(np.random.default_rng(4)).astype(np.float64), 3, loss=loss)
    solver.step(3)
    assert solver.W.dtype == solver.H.dtype == np.float32
    assert solver.reconstruction().dtype == np.float32


def test_factors_are_read_only_views():
    solver = nmf.make_solver(low_rank(np.random.default_rng(5)), 3)
    with pytest.raises(ValueError):
        solver.W[0, 0] = 1.0
    with pytest.raises(ValueError):
        solver.H[0, 0] = 1.0


def test_factorize_reports_convergence_and_history():
    V = low_rank(np.random.default_rng(6))
    result = nmf.factorize(V, 5, loss="kl", max_iter=2000, tol=1e-4)
    assert result.converged
    assert result.n_iter == len(result.losses) < 2000
    assert result.W.flags.writeable and result.W.shape == (30, 5)
    stopped = nmf.factorize(V, 5, max_iter=50, tol=0, callback=lambda s: s.n_iter == 7)
    assert stopped.n_iter == 7 and not stopped.converged


def reference_euclidean(V, W, H, iterations):
    """Plain float64 multiplicative updates for ½‖V − WH‖²: H, then W, per iteration."""
    V, W, H = (X.astype(np.float64) for X in (V, W, H))
    losses = []
    for _ in range(iterations):
        H = np.maximum(H * (W.T @ V) / (W.T @ W @ H), nmf.FLOOR)
        W = np.maximum(W * (V @ H.T) / (W @ (H @ H.T)), nmf.FLOOR)
        losses.append(0.5 * float(np.sum((V - W @ H) ** 2)))
    return W, H, losses


@forty_examples
@any_small_shape
def test_euclidean_mu_is_plain_multiplicative_updates_for_any_shape(m, n, k, seed):
    V, W0, H0, k = small_problem(m, n, k, seed)
    with tiny_passes():
        solver = nmf.make_solver(V, k, loss="euclidean", W=W0, H=H0)
        solver.step(4)
    W, H, losses = reference_euclidean(V, W0, H0, 4)
    # The loss comes from the trace identity: ‖V‖² − 2⟨W, VHᵀ⟩ + ⟨WᵀW, HHᵀ⟩ in float32
    # products, so its error scales with ‖V‖², not with the (possibly tiny) loss.
    scale = 1e-5 * float(np.sum(V.astype(np.float64) ** 2)) + 1e-9
    np.testing.assert_allclose(solver.losses, losses, rtol=2e-4, atol=scale)
    np.testing.assert_allclose(solver.W @ solver.H, W @ H, rtol=2e-3, atol=1e-5 * float(V.max()))
