"""The public protocol: options, errors, warm start, initialisation, reproducibility."""

import numpy as np
import pytest

from dsp import nmf


def low_rank(seed, m=30, n=40, rank=5):
    rng = np.random.default_rng(seed)
    return (rng.random((m, rank)) @ rng.random((rank, n)) + 0.1).astype(np.float32)


V = low_rank(0)

VARIANTS = [
    {"loss": "kl"},
    {"loss": "euclidean"},
    {"loss": "is"},
    {"loss": "euclidean", "algorithm": "hals"},
    {"loss": "kl", "sparsity": 0.2, "smoothness": 0.5, "sparsity_W": 0.1},
    {"loss": "kl", "algorithm": "kmeans"},
    {"loss": "kl", "algorithm": "deep", "layers": (10,)},
]


@pytest.mark.parametrize("options", VARIANTS)
@pytest.mark.parametrize("init", nmf.INITS)
def test_same_seed_gives_bit_identical_results(options, init):
    runs = [nmf.make_solver(V, 4, init=init, seed=7, **options) for _ in range(2)]
    for solver in runs:
        solver.step(5)
    assert np.array_equal(runs[0].W, runs[1].W)
    assert np.array_equal(runs[0].H, runs[1].H)
    assert runs[0].losses == runs[1].losses


@pytest.mark.parametrize("options", VARIANTS)
def test_every_variant_follows_the_protocol(options):
    solver = nmf.make_solver(V, 4, **options)
    assert solver.n_components == 4 and solver.n_iter == 0
    assert solver.step(0) == solver.initial_loss
    last = solver.step(3)
    assert solver.n_iter == 3 and last == solver.losses[-1]
    assert solver.W.shape == (30, 4) and solver.H.shape == (4, 40)
    assert np.allclose(solver.reconstruction(), solver.W @ solver.H, rtol=1e-5)
    result = nmf.factorize(V, 4, max_iter=5, **options)
    assert result.n_iter == 5 and len(result.losses) == 5


def test_random_seeds_differ():
    a, b = (nmf.initialize(V, 4, method="random", seed=s) for s in (1, 2))
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("method", nmf.INITS)
def test_initialisation_is_nonnegative_float32_and_scaled_to_the_data(method):
    W, H = nmf.initialize(V, 4, method=method, seed=0)
    assert W.dtype == H.dtype == np.float32
    assert W.min() >= 0 and H.min() >= 0
    assert 0.2 < (W @ H).mean() / V.mean() < 5


def test_nndsvda_fills_the_zeros_of_nndsvd():
    W, H = nmf.initialize(V, 4, method="nndsvd", seed=0)
    Wa, Ha = nmf.initialize(V, 4, method="nndsvda", seed=0)
    assert (W == 0).any() and not (Wa == 0).any()


@pytest.mark.parametrize("loss", ["kl", "euclidean"])
def test_warm_start_continues_where_a_run_stopped(loss):
    first = nmf.make_solver(V, 4, loss=loss)
    first.step(10)
    resumed = nmf.make_solver(V, 4, loss=loss, W=first.W, H=first.H, warm_start=True)
    assert resumed.initial_loss == pytest.approx(first.losses[-1], rel=1e-5)
    straight = nmf.make_solver(V, 4, loss=loss)
    straight.step(20)
    resumed.step(10)
    assert np.allclose(resumed.W, straight.W, rtol=1e-3, atol=1e-6)


def test_warm_start_copies_the_given_factors():
    W, H = nmf.initialize(V, 3, seed=0)
    W0 = W.copy()
    nmf.make_solver(V, 3, W=W, H=H).step(5)
    assert np.array_equal(W, W0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 31}, "n_components"),
        ({"n_components": 2.5}, "integer"),
        ({"loss": "itakura"}, "unknown loss"),
        ({"algorithm": "als"}, "unknown algorithm"),
        ({"init": "svd"}, "unknown init"),
        ({"algorithm": "hals", "loss": "kl"}, "Euclidean"),
        ({"algorithm": "hals", "loss": "euclidean", "smoothness": 1.0}, "smoothness"),
        ({"algorithm": "kmeans", "sparsity": 0.1}, "penalties"),
        ({"algorithm": "kmeans", "lock_H": [0]}, "lock"),
        ({"algorithm": "deep"}, "layers"),
        ({"algorithm": "deep", "layers": (50,)}, "layer 1 rank"),
        ({"algorithm": "deep", "layers": (10,), "lock_W": [0]}, "locks"),
        ({"layers": (10,)}, "deep"),
        ({"sparsity": -1.0}, "sparsity"),
        ({"smoothness": float("nan")}, "smoothness"),
        ({"lock_W": [7]}, "out of range"),
        ({"lock_H": [True, False]}, "mask"),
        ({"W": np.ones((30, 2))}, "shape"),
        ({"H": -np.ones((4, 40))}, "nonnegative"),
    ],
)
def test_impossible_parameters_raise_clear_errors(kwargs, match):
    kwargs = {"n_components": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        nmf.make_solver(V, **kwargs)


@pytest.mark.parametrize(
    "data",
    [-V, np.full((3, 3), np.nan), np.ones(5), np.ones((0, 4))],
    ids=["negative", "nan", "1-D", "empty"],
)
def test_bad_data_is_rejected(data):
    with pytest.raises(ValueError):
        nmf.make_solver(data, 1)


def test_bad_step_counts_are_rejected():
    solver = nmf.make_solver(V, 2)
    with pytest.raises(ValueError, match="nonnegative integer"):
        solver.step(-1)
    with pytest.raises(ValueError, match="max_iter"):
        nmf.factorize(V, 2, max_iter=-3)
