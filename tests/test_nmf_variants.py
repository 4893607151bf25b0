"""Defining properties of every solver variant: HALS, locks, sparsity, smoothness, deep, k-means."""

from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp import nmf
from dsp.nmf.penalties import continuity_cost

SETTINGS = settings(max_examples=10, deadline=None)


def low_rank(seed, m=30, n=40, rank=5, noise=0.1):
    rng = np.random.default_rng(seed)
    V = rng.random((m, rank)) @ rng.random((rank, n)) + noise * rng.random((m, n))
    return V.astype(np.float32)


def scale_free_l1(W, H):
    """‖H‖₁ after moving the norms of W's columns into H (the product is unchanged)."""
    return float((H * np.linalg.norm(W, axis=0)[:, None]).sum())


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6), sparsity=st.sampled_from([0.0, 0.5]))
def test_hals_loss_never_increases(seed, k, sparsity):
    V = low_rank(seed)
    solver = nmf.make_solver(V, k, loss="euclidean", algorithm="hals", sparsity=sparsity, seed=seed)

    def objective():
        fit = nmf.beta_divergence(V, solver.reconstruction(), 2.0)
        return fit + sparsity * float(solver.H.sum(dtype=np.float64))

    losses = [objective()]
    for _ in range(20):
        solver.step()
        losses.append(objective())
    assert np.all(np.diff(losses) <= 1e-6 * losses[0])


def test_hals_reaches_a_lower_loss_than_mu_in_as_many_iterations():
    V = low_rank(0, 60, 80, rank=8)
    mu = nmf.make_solver(V, 8, loss="euclidean").step(30)
    hals = nmf.make_solver(V, 8, loss="euclidean", algorithm="hals").step(30)
    assert hals < mu


def test_hals_reported_loss_is_the_euclidean_divergence():
    V = low_rank(1)
    solver = nmf.make_solver(V, 4, loss="euclidean", algorithm="hals")
    loss = solver.step(15)
    assert loss == pytest.approx(nmf.beta_divergence(V, solver.reconstruction(), 2.0), rel=1e-4)


@pytest.mark.parametrize(
    ("algorithm", "loss", "options"),
    [
        ("mu", "kl", {}),
        ("mu", "euclidean", {}),
        ("mu", "is", {}),
        ("mu", "kl", {"sparsity": 0.3, "smoothness": 0.5}),
        ("hals", "euclidean", {}),
        ("hals", "euclidean", {"sparsity": 0.3}),
    ],
)
@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    lock_W=st.lists(st.integers(0, 4), max_size=3),
    lock_H=st.lists(st.integers(0, 4), max_size=3),
)
def test_locked_templates_and_activations_do_not_change(
    algorithm, loss, options, seed, lock_W, lock_H
):
    solver = nmf.make_solver(
        low_rank(seed),
        5,
        loss=loss,
        algorithm=algorithm,
        seed=seed,
        lock_W=lock_W,
        lock_H=lock_H,
        **options,
    )
    W0, H0 = solver.W.copy(), solver.H.copy()
    solver.step(8)
    assert np.array_equal(solver.W[:, lock_W], W0[:, lock_W])
    assert np.array_equal(solver.H[lock_H], H0[lock_H])
    free = np.setdiff1d(np.arange(5), lock_W)
    if free.size:
        assert not np.array_equal(solver.W[:, free], W0[:, free])


@pytest.mark.parametrize("algorithm", ["mu", "hals"])
def test_locks_can_change_between_steps(algorithm):
    loss = "euclidean" if algorithm == "hals" else "kl"
    solver = nmf.make_solver(low_rank(2), 4, loss=loss, algorithm=algorithm)
    solver.step(3)
    solver.set_locks(W=[1], H=np.array([True, False, False, True]))
    W1, H1 = solver.W.copy(), solver.H.copy()
    solver.step(3)
    assert np.array_equal(solver.W[:, 1], W1[:, 1])
    assert np.array_equal(solver.H[[0, 3]], H1[[0, 3]])
    assert solver.locked_W.tolist() == [False, True, False, False]
    solver.set_locks(W=[], H=[])
    solver.step(3)
    assert not np.array_equal(solver.W[:, 1], W1[:, 1])
    assert not np.array_equal(solver.H[0], H1[0])


def test_supervised_templates_learned_on_one_clip_separate_another():
    rng = np.random.default_rng(3)
    templates = rng.random((40, 4)).astype(np.float32)
    clip = templates[:, :2] @ rng.random((2, 50)).astype(np.float32)
    learned = nmf.factorize(clip, 2, loss="kl", max_iter=300, tol=0).W
    W = np.concatenate([learned, rng.random((40, 2)).astype(np.float32)], axis=1)
    mixture = templates @ rng.random((4, 60)).astype(np.float32)
    solver = nmf.make_solver(mixture, 4, loss="kl", W=W, lock_W=[0, 1])
    solver.step(200)
    assert np.array_equal(solver.W[:, :2], np.maximum(learned, nmf.FLOOR))
    assert solver.losses[-1] < 0.05 * solver.initial_loss


@pytest.mark.parametrize(
    ("algorithm", "loss"), [("mu", "kl"), ("mu", "euclidean"), ("mu", "is"), ("hals", "euclidean")]
)
def test_sparsity_lowers_the_l1_norm_of_H_at_equal_tolerance(algorithm, loss):
    V = low_rank(4, 40, 60, rank=6)
    plain = nmf.factorize(V, 6, loss=loss, algorithm=algorithm, max_iter=400, tol=1e-5)
    sparse = nmf.factorize(
        V, 6, loss=loss, algorithm=algorithm, max_iter=400, tol=1e-5, sparsity=0.5
    )
    assert scale_free_l1(sparse.W, sparse.H) < 0.9 * scale_free_l1(plain.W, plain.H)
    assert np.allclose(np.linalg.norm(sparse.W, axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize(("algorithm", "loss"), [("mu", "kl"), ("hals", "euclidean")])
def test_sparsity_on_W_makes_unit_norm_templates_sparser(algorithm, loss):
    V = low_rank(5, 40, 60, rank=6)
    options = {"algorithm": algorithm, "loss": loss, "max_iter": 300, "sparsity": 0.01}
    plain = nmf.factorize(V, 6, **options)
    sparse = nmf.factorize(V, 6, sparsity_W=5.0, **options)
    assert np.allclose(np.linalg.norm(sparse.W, axis=0), 1.0, atol=1e-5)
    assert sparse.W.sum() < 0.9 * plain.W.sum()


def test_smoothness_makes_activations_continuous():
    V = low_rank(6, 40, 80, rank=4, noise=0.5)
    plain = nmf.factorize(V, 4, max_iter=200, tol=0)
    smooth = nmf.factorize(V, 4, max_iter=200, tol=0, smoothness=2.0)
    assert continuity_cost(smooth.H) < 0.8 * continuity_cost(plain.H)


@pytest.mark.parametrize("loss", nmf.LOSSES)
@pytest.mark.parametrize("layers", [(12,), (16, 8)])
def test_deep_layers_multiply_back_to_the_reconstruction(loss, layers):
    solver = nmf.make_solver(low_rank(7), 4, loss=loss, algorithm="deep", layers=layers)
    solver.step(20)
    shapes = [W.shape for W in solver.layers]
    assert shapes[0] == (30, layers[0]) and shapes[-1] == (layers[-1], 4)
    product = reduce(np.matmul, solver.layers)
    assert np.allclose(product, solver.W, rtol=1e-5)
    assert np.allclose(product @ solver.H, solver.reconstruction(), rtol=1e-5)
    losses = [solver.initial_loss, *solver.losses]
    assert np.all(np.diff(losses) <= 1e-5 * losses[0])


@pytest.mark.parametrize("loss", nmf.LOSSES)
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6), init=st.sampled_from(nmf.INITS))
def test_kmeans_has_one_nonzero_per_column_and_monotone_loss(loss, seed, k, init):
    V = low_rank(seed)
    V[:, 3] = 0.0
    solver = nmf.make_solver(V, k, loss=loss, algorithm="kmeans", init=init, seed=seed)
    losses = [solver.initial_loss, *(solver.step() for _ in range(10))]
    assert np.all((solver.H != 0).sum(axis=0) == 1)
    assert np.array_equal(solver.labels, np.argmax(solver.H, axis=0))
    assert np.all(np.diff(losses) <= 1e-5 * losses[0] + 1e-6)


def test_kmeans_finds_well_separated_clusters():
    rng = np.random.default_rng(8)
    centres = np.eye(20, 3, dtype=np.float32) + 0.01
    labels = rng.integers(3, size=90)
    V = centres[:, labels] * rng.uniform(0.5, 2.0, size=90).astype(np.float32)
    solver = nmf.make_solver(V, 3, loss="kl", algorithm="kmeans", init="random", seed=1)
    solver.step(20)
    found = solver.labels
    pairs = {(int(a), int(b)) for a, b in zip(labels, found, strict=True)}
    assert len(pairs) == 3


def test_kmeans_locked_centres_do_not_move():
    solver = nmf.make_solver(low_rank(9), 4, loss="euclidean", algorithm="kmeans", lock_W=[2])
    W0 = solver.W.copy()
    solver.step(5)
    assert np.array_equal(solver.W[:, 2], W0[:, 2])
    with pytest.raises(ValueError, match="lock"):
        solver.set_locks(H=[0])
