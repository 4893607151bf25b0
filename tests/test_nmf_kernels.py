"""The NMF kernels: the fused KL and Euclidean passes (what they compute, against their
numpy references too, the KL log, independence from threads), the k-sized products and
sums, and when they compile."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp import nmf
from dsp.nmf import kernels
from dsp.nmf.kernels import KLPass, blas, plan, reference, schedule
from tests.nmf_problems import any_small_shape, forty_examples, small_problem, tiny_passes


def problem(rng, m=300, n=700, k=4):
    V = (rng.random((m, k)) @ rng.random((k, n))).astype(np.float32)
    V[:, 3] = 0.0
    W = np.maximum(rng.random((m, k)), nmf.FLOOR).astype(np.float32)
    H = np.maximum(rng.random((k, n)), nmf.FLOOR).astype(np.float32)
    return V, W, H


def exact_terms(V, W, H):
    """Σ V log WH and (V / WH)Hᵀ in float64."""
    V64, WH = V.astype(np.float64), W.astype(np.float64) @ H.astype(np.float64)
    return float(np.sum(V64 * np.log(WH))), (V64 / WH) @ H.T.astype(np.float64)


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_pass_gives_v_log_wh_and_the_w_numerator(threads):
    V, W, H = problem(np.random.default_rng(0))
    H_before = H.copy()
    kl_pass = KLPass(V, 4, threads=threads)
    fill_work_buffers_with_nan(kl_pass)
    v_log, VHt = kl_pass.run(W, H, update_h=False)
    exact_v_log, exact_VHt = exact_terms(V, W, H)
    assert np.array_equal(H, H_before)
    assert v_log == pytest.approx(exact_v_log, rel=1e-6)
    np.testing.assert_allclose(VHt, exact_VHt, rtol=1e-4)



@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 3000))
def test_put_cells_changes_the_passs_v_at_those_cells_only(seed, n):
    rng = np.random.default_rng(seed)
    V = rng.random((40, n)).astype(np.float32) + 0.1
    W = rng.random((40, 4)).astype(np.float32) + 0.1
    H = rng.random((4, n)).astype(np.float32) + 0.1
    kl_pass = KLPass(V, 4)
    cells = rng.random(V.shape) < 0.05  # across blocks, the last one shorter
    rows, cols = np.nonzero(cells)
    kl_pass.put_cells(rows, cols, 0.0)
    edited = np.where(cells, 0.0, V).astype(np.float32)
    v_log, VHt = kl_pass.run(W, H, update_h=False)
    exact_v_log, exact_VHt = exact_terms(edited, W, H)
    assert v_log == pytest.approx(exact_v_log, rel=1e-5)
    np.testing.assert_allclose(VHt, exact_VHt, rtol=1e-4)
    kl_pass.put_cells(rows, cols, V[rows, cols])  # given back: the pass sees V again
    assert kl_pass.run(W, H, update_h=False)[0] == pytest.approx(exact_terms(V, W, H)[0],
                                                                 rel=1e-5)

def fill_work_buffers_with_nan(pass_):
    """What a pass leaves in its buffers must never reach the next pass's results."""
    for buffer in vars(pass_).values():
        if isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f" and buffer.ndim == 3:
            buffer.fill(np.nan)


def test_h_half_step_is_the_multiplicative_update_and_terms_follow_the_new_h():
    V, W, H = problem(np.random.default_rng(1), n=333)
    V64, W64 = V.astype(np.float64), W.astype(np.float64)
    sparsity = 0.3
    expected = H * (W64.T @ (V64 / (W64 @ H))) / (W64.sum(axis=0)[:, None] + sparsity)
    expected = np.maximum(expected, nmf.FLOOR)  # the zero column of V zeroes its H column
    locked = np.array([False, True, False, False])
    expected[locked] = H[locked]
    v_log, VHt = KLPass(V, 4).run(
        W, H, update_h=True, denom=W.sum(axis=0) + np.float32(sparsity), locked=locked
    )
    np.testing.assert_allclose(H, expected, rtol=1e-4)
    assert np.array_equal(H[locked], expected[locked])
    exact_v_log, exact_VHt = exact_terms(V, W, H)
    assert v_log == pytest.approx(exact_v_log, rel=1e-6)
    np.testing.assert_allclose(VHt, exact_VHt, rtol=1e-4)


def test_smoothness_terms_enter_the_h_update():
    V, W, H = problem(np.random.default_rng(2), n=90)
    positive, negative = nmf.penalties.continuity_terms(H)
    alpha = 0.7
    denom = W.sum(axis=0)
    V64 = V.astype(np.float64)
    numer = W.T.astype(np.float64) @ (V64 / (W.astype(np.float64) @ H)) + alpha * negative
    expected = np.maximum(H * numer / (denom[:, None] + alpha * positive), nmf.FLOOR)
    KLPass(V, 4).run(W, H, update_h=True, denom=denom, continuity=(positive, negative), alpha=alpha)
    np.testing.assert_allclose(H, expected, rtol=1e-4)


@pytest.mark.parametrize("loss", ["kl", "euclidean"])
@pytest.mark.parametrize("lock_W", [None, [1, 3]])
def test_results_are_bit_identical_whatever_the_thread_count(monkeypatch, lock_W, loss):
    V, _, _ = problem(np.random.default_rng(3), m=64, n=900)
    monkeypatch.setattr(schedule, "PARALLEL_MIN", 0)
    monkeypatch.setattr(plan, "BLOCK_BYTES", 4 * 64 * 32)  # 32-column blocks, 16 parts
    monkeypatch.setattr(plan, "MIN_WIDTH", 32)
    runs = {}
    for threads in (1, 2, 3):
        monkeypatch.setattr(schedule, "n_threads", lambda threads=threads: threads)
        solver = nmf.make_solver(V, 5, loss=loss, seed=0, lock_W=lock_W)
        assert solver._pass.threads == threads
        solver.step(20)
        runs[threads] = solver
    for threads in (2, 3):
        assert runs[threads].losses == runs[1].losses
        assert np.array_equal(runs[threads].W, runs[1].W)
        assert np.array_equal(runs[threads].H, runs[1].H)
    losses = runs[1].losses
    assert np.all(np.diff(losses) <= 1e-6 * losses[0])


@settings(max_examples=200, deadline=None)
@given(
    st.floats(
        min_value=float(np.finfo(np.float32).tiny),
        max_value=float(np.finfo(np.float32).max),
        allow_subnormal=False,
        width=32,
    )
)
def test_log_is_accurate_to_a_few_ulp_over_every_normal_float32(x):
    got = float(kernels.log(np.array([x], dtype=np.float32))[0])
    exact = float(np.log(np.float64(np.float32(x))))
    # 2 ulp of the result, and an absolute floor near log 1 = 0.
    assert abs(got - exact) <= max(2.5e-7 * abs(exact), 1.2e-7)


def test_thread_count_respects_the_environment(monkeypatch):
    monkeypatch.setenv("PARTWISE_NUM_THREADS", "1")
    assert kernels.n_threads() == 1
    monkeypatch.delenv("PARTWISE_NUM_THREADS")
    assert 1 <= kernels.n_threads() <= os.cpu_count()
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("PARTWISE_NUM_THREADS", bad)
        with pytest.raises(ValueError, match="PARTWISE_NUM_THREADS must be a positive integer"):
            kernels.n_threads()


def test_a_pass_runs_no_more_threads_than_the_caller_may_use_now(monkeypatch):
    # Parts of ~1 ms, so that the second thread, woken as the pass starts, is in time
    # to take some (however late a loaded machine runs it, in one pass of ten).
    V, W, H = problem(np.random.default_rng(4), m=1025, n=8000)
    monkeypatch.setattr(schedule, "n_threads", lambda: 2)
    kl_pass = KLPass(V, 4)
    assert kl_pass.threads == 2 and kl_pass._ran_on.size > 2
    shared = []
    for _ in range(10):
        with_two = kl_pass.run(W, H, update_h=False)
        assert set(kl_pass._ran_on) <= {0, 1}
        shared.append(set(kl_pass._ran_on) == {0, 1})
    assert any(shared), "the second thread never took a part"
    # The caller was moved onto one core (as the GUI's solver thread is after its start).
    monkeypatch.setattr(schedule, "n_threads", lambda: 1)
    alone = kl_pass.run(W, H, update_h=False)
    assert set(kl_pass._ran_on) == {0}
    assert alone[0] == with_two[0] and np.array_equal(alone[1], with_two[1])


def test_the_pass_threads_take_the_calling_threads_priority_and_cores():
    """Linux (CI's platform): the GUI's solver thread runs at nice 19, and so must its helpers."""

    def tasks() -> dict[int, tuple[int, set]]:
        found = {}
        for tid in map(int, os.listdir("/proc/self/task")):
            try:
                with open(f"/proc/self/task/{tid}/stat") as stat:
                    nice = int(stat.read().rsplit(")", 1)[1].split()[16])
                found[tid] = (nice, os.sched_getaffinity(tid))
            except (FileNotFoundError, ProcessLookupError):  # a thread that has just ended
                pass
        return found

    V, W, H = problem(np.random.default_rng(4), m=1025, n=8000)
    before = set(tasks())
    seen = {}

    def solver_thread() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        kl_pass = KLPass(V, 4, threads=2)
        for _ in range(10):  # until the second thread has taken a part
            kl_pass.run(W, H, update_h=False)
            seen["ran_on"] = set(kl_pass._ran_on.tolist())
            if seen["ran_on"] == {0, 1}:
                break
        seen["threads"] = {t: v for t, v in tasks().items() if t not in before}

    thread = threading.Thread(target=solver_thread)
    thread.start()
    thread.join()
    assert seen["ran_on"] == {0, 1}
    assert len(seen["threads"]) >= 2  # the solver thread and the pass's other thread
    assert {nice for nice, _ in seen["threads"].values()} == {19}
    assert {frozenset(cores) for _, cores in seen["threads"].values()} == {
        frozenset(os.sched_getaffinity(0))
    }


def test_importing_the_engine_compiles_nothing_and_warm_up_compiles_every_kernel():
    """Compiling is warm_up's job at start-up (or a kernel's first use), never an import's."""
    script = (
        "import sys; from numba.core.dispatcher import Dispatcher; import dsp.nmf;"
        "from dsp.nmf import kernels;"
        "count = lambda: sum(len(f.signatures) for name, m in list(sys.modules.items())"
        " if name.startswith('dsp.nmf.kernels') for f in vars(m).values()"
        " if isinstance(f, Dispatcher));"
        "before = count(); kernels.warm_up(); print(before, count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert before == 0 and after > 0


def test_without_a_threading_layer_the_passes_run_on_one_thread_with_the_same_results():
    script = (
        "import numpy as np; from dsp import nmf; from dsp.nmf import kernels;"
        "V = np.random.default_rng(0).random((300, 4000), dtype=np.float32);"
        "s = nmf.make_solver(V, 4, loss='kl', seed=0); s.step(3);"
        "print(kernels.schedule.THREADS, sorted(set(s._pass._ran_on.tolist())), repr(s.losses[-1]))"
    )
    env = dict(os.environ, NUMBA_THREADING_LAYER="no-such-layer")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    threads, ran_on, loss = done.stdout.split(maxsplit=2)
    assert threads == "1" and ran_on == "[0]"
    V = np.random.default_rng(0).random((300, 4000), dtype=np.float32)
    solver = nmf.make_solver(V, 4, loss="kl", seed=0)
    solver.step(3)
    assert float(loss) == solver.losses[-1]


def reference_kl(V, W, H, iterations, locked_W=None):
    """Plain float64 multiplicative updates in the solver's order: H, then (W, H) per iteration.

    The templates in ``locked_W`` (a boolean mask) keep their start.
    """
    V, W, H = (X.astype(np.float64) for X in (V, W, H))
    locked_W = np.zeros(W.shape[1], dtype=bool) if locked_W is None else locked_W

    def h_step(W, H):
        return np.maximum(H * (W.T @ (V / (W @ H))) / W.sum(axis=0)[:, None], nmf.FLOOR)

    def w_step(W, H):
        updated = np.maximum(W * ((V / (W @ H)) @ H.T) / H.sum(axis=1), nmf.FLOOR)
        return np.where(locked_W, W, updated)

    H = h_step(W, H)
    losses = []
    for _ in range(iterations):
        W = w_step(W, H)
        H = h_step(W, H)
        losses.append(nmf.beta_divergence(V, W @ H, 1.0))
    return W, H, losses


def kl_in_small_blocks(V, W0, H0, iterations, lock_W=None):
    """A KL solver after ``iterations``, its pass cut into blocks, chunks and parts so
    small that every shape crosses their edges."""
    with tiny_passes():
        solver = nmf.make_solver(V, W0.shape[1], loss="kl", W=W0, H=H0, lock_W=lock_W)
        solver.step(iterations)
    return solver


def assert_matches_reference(solver, V, W, H, losses):
    # (an all-silent V has a loss of ~0 that the floors of each side set)
    np.testing.assert_allclose(solver.losses, losses, rtol=2e-4, atol=1e-6 * float(V.sum()) + 1e-9)
    np.testing.assert_allclose(solver.W @ solver.H, W @ H, rtol=2e-3, atol=1e-5 * float(V.max()))


@forty_examples
@any_small_shape
def test_the_blocked_pass_is_plain_multiplicative_updates_for_any_shape(m, n, k, seed):
    V, W0, H0, k = small_problem(m, n, k, seed)
    solver = kl_in_small_blocks(V, W0, H0, 4)
    assert_matches_reference(solver, V, *reference_kl(V, W0, H0, 4))


@forty_examples
@any_small_shape
def test_with_locked_templates_the_free_ones_follow_plain_updates_for_any_shape(m, n, k, seed):
    """The pass leaves out the W numerator of locked templates: none, some or all of them."""
    V, W0, H0, k = small_problem(m, n, k, seed)
    locked = np.random.default_rng(seed).random(k) < 0.5
    solver = kl_in_small_blocks(V, W0, H0, 4, lock_W=locked)
    assert np.array_equal(solver.W[:, locked], W0[:, locked])
    assert_matches_reference(solver, V, *reference_kl(V, W0, H0, 4, locked_W=locked))


@pytest.mark.parametrize("free", [[0, 1, 2, 3], [1, 3], [2], []])
def test_the_pass_makes_the_w_numerator_of_the_free_templates_only(free):
    V, W, H = problem(np.random.default_rng(3), n=500)
    exact_v_log, exact_VHt = exact_terms(V, W, H)
    v_log, VHt = KLPass(V, 4, threads=2).run(W, H, update_h=False, free=np.array(free, int))
    assert v_log == pytest.approx(exact_v_log, rel=1e-6)
    np.testing.assert_allclose(VHt[:, free], exact_VHt[:, free], rtol=1e-4)
    assert not VHt[:, np.setdiff1d(np.arange(4), free)].any()


def test_a_process_wide_blas_limit_leaves_the_pass_on_one_thread_per_part():
    """threadpoolctl limits every BLAS it finds, the pass's own included; the pass undoes it."""
    from threadpoolctl import threadpool_limits

    V, W, H = problem(np.random.default_rng(7), n=100)
    expected = KLPass(V, 4, threads=1).run(W, H, update_h=False)
    with threadpool_limits(limits=2, user_api="blas"):
        got = KLPass(V, 4, threads=1).run(W, H, update_h=False)
        assert blas._blas.scipy_openblas_get_num_threads() == 1
    assert got[0] == expected[0] and np.array_equal(got[1], expected[1])
    assert "OpenBLAS" in kernels.blas_description()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 13), st.integers(1, 5000), st.integers(0, 2**31 - 1))
def test_gram_is_h_times_its_transpose_for_any_shape(k, n, seed):
    """Any k (blocks of four rows and the rows left over), n across column chunks."""
    H = np.random.default_rng(seed).random((k, n), dtype=np.float32)
    H[:, ::7] *= 1e-6  # a wide range of magnitudes, as activations have
    exact = H.astype(np.float64) @ H.T.astype(np.float64)
    G = kernels.gram(H)
    assert G.dtype == np.float32 and G.shape == (k, k)
    assert np.array_equal(G, G.T)
    np.testing.assert_allclose(G, exact, rtol=2e-6)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(0, 2**31 - 1))
def test_inner_sums_the_elementwise_product_in_float64(m, k, seed):
    rng = np.random.default_rng(seed)
    X = (rng.random((m, k)) * 10.0 ** rng.integers(-8, 8, (m, k))).astype(np.float32)
    Y = rng.standard_normal((m, k)).astype(np.float32)
    exact = float(np.sum(X.astype(np.float64) * Y.astype(np.float64)))
    assert kernels.inner(X, Y) == pytest.approx(exact, rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 600), st.integers(0, 1), st.integers(0, 2**31 - 1))
def test_sums_along_either_axis_are_float64_sums(m, n, axis, seed):
    rng = np.random.default_rng(seed)
    X = (rng.random((m, n)) * 10.0 ** rng.integers(-8, 8, (m, n))).astype(np.float32)
    got = kernels.sums(X, axis)
    assert got.dtype == np.float64 and got.shape == (X.shape[1 - axis],)
    np.testing.assert_allclose(got, X.astype(np.float64).sum(axis=axis), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.integers(1, 16))
def test_parts_cover_every_block_largest_first_and_end_with_single_blocks(blocks, parts):
    parts = min(parts, blocks)
    sizes = plan.part_sizes(blocks, parts)
    assert len(sizes) == parts and sizes.sum() == blocks
    assert sizes.min() >= 1 and np.all(np.diff(sizes) <= 0)
    # the last part is no bigger than an equal share, and smaller than the first when
    # there is room to differ
    assert sizes[-1] <= max(1, blocks // parts)
    if parts > 1 and blocks >= 2 * parts:
        assert sizes[-1] < sizes[0]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 1024), st.integers(1, 256), st.booleans())
def test_chunk_products_stay_under_the_small_matrix_threshold(m, width, k, products_only):
    rows = plan.chunk_rows(m, width, k, small_kernels=True, products_only=products_only)
    assert 1 <= rows <= min(m, plan.CHUNK_ROWS)
    # under the threshold, unless even one row would cross it
    assert rows * width * k <= max(plan.SMALL_PRODUCT, width * k)
    # and no smaller than it must be: the next multiple of 8 would cross it or the cap
    if 8 <= rows < min(m, plan.CHUNK_ROWS) - 8:
        assert (rows + 8) * width * k > plan.SMALL_PRODUCT


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 1024), st.integers(1, 256))
def test_without_small_matrix_kernels_chunks_are_larger_and_euclideans_whole_blocks(m, width, k):
    assert plan.chunk_rows(m, width, k, small_kernels=False, products_only=True) == m
    assert plan.chunk_rows(m, width, k, small_kernels=False) == min(m, plan.PACKED_ROWS)


@pytest.mark.parametrize("threads", [1, 2])
def test_euclidean_pass_is_the_h_half_step_then_vht_and_hht_of_the_new_h(threads):
    V, W, H = problem(np.random.default_rng(4), n=700)
    W64, H64 = W.astype(np.float64), H.astype(np.float64)
    sparsity = 0.2
    expected = H64 * (W64.T @ V) / (W64.T @ W64 @ H64 + sparsity)
    expected = np.maximum(expected, nmf.FLOOR)
    locked = np.array([False, False, True, False])
    expected[locked] = H[locked]
    euclidean_pass = kernels.EuclideanPass(V, 4, threads=threads)
    fill_work_buffers_with_nan(euclidean_pass)
    VHt, HHt = euclidean_pass.run(W, H, W.T @ W, sparsity=sparsity, locked=locked)
    np.testing.assert_allclose(H, expected, rtol=1e-4)
    assert np.array_equal(H[locked], expected[locked])
    np.testing.assert_allclose(VHt, V.astype(np.float64) @ H.T.astype(np.float64), rtol=1e-4)
    np.testing.assert_allclose(HHt, H.astype(np.float64) @ H.T.astype(np.float64), rtol=1e-5)
    assert np.array_equal(HHt, HHt.T)


def test_small_products_are_the_products():
    rng = np.random.default_rng(5)
    A, B = rng.random((70, 6), dtype=np.float32), rng.random((6, 6), dtype=np.float32)
    np.testing.assert_allclose(kernels.product(A, B), A.astype(np.float64) @ B, rtol=1e-5)
    AtA = np.empty((6, 6), np.float32)
    kernels.cross_product(A, AtA)
    np.testing.assert_allclose(AtA, A.T.astype(np.float64) @ A, rtol=1e-5)


def random_pass_options(k, seed):
    """Locks, free templates, continuity and thread count drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return {
        "locked": rng.random(k) < 0.3,
        "free": np.flatnonzero(rng.random(k) < 0.7),
        "smooth": rng.random() < 0.5,
        "weight": np.float32(rng.random()),
        "threads": int(rng.integers(1, 4)),
    }


@forty_examples
@any_small_shape
def test_the_kl_pass_is_its_numpy_reference_for_any_shape(m, n, k, seed):
    V, W, H, k = small_problem(m, n, k, seed)
    options = random_pass_options(k, seed)
    continuity = nmf.penalties.continuity_terms(H) if options["smooth"] else None
    terms = {
        "update_h": bool(seed % 4),  # the pass without its H half-step too
        "denom": W.sum(axis=0) + options["weight"],
        "continuity": continuity,
        "alpha": 0.7 if options["smooth"] else 0.0,
        "locked": options["locked"],
        "free": options["free"],
    }
    H_before = H.copy()
    expected_H, expected_v_log, expected_VHt = reference.kl_pass(V, W, H, **terms)
    with tiny_passes():
        v_log, VHt = KLPass(V, k, threads=options["threads"]).run(W, H, **terms)
    np.testing.assert_allclose(H, expected_H, rtol=1e-4)
    assert np.array_equal(H[options["locked"]], H_before[options["locked"]])
    assert v_log == pytest.approx(expected_v_log, rel=1e-5, abs=1e-5 * float(V.sum()))
    np.testing.assert_allclose(VHt, expected_VHt, rtol=1e-4, atol=1e-6 * float(V.max()))


@forty_examples
@any_small_shape
def test_the_euclidean_pass_is_its_numpy_reference_for_any_shape(m, n, k, seed):
    V, W, H, k = small_problem(m, n, k, seed)
    options = random_pass_options(k, seed)
    continuity = nmf.penalties.continuity_terms(H) if options["smooth"] else None
    terms = {
        "sparsity": float(options["weight"]),
        "continuity": continuity,
        "alpha": 0.7 if options["smooth"] else 0.0,
        "locked": options["locked"],
    }
    WtW = W.T @ W
    H_before = H.copy()
    expected_H, expected_VHt, expected_HHt = reference.euclidean_pass(V, W, H, WtW, **terms)
    with tiny_passes():
        VHt, HHt = kernels.EuclideanPass(V, k, threads=options["threads"]).run(W, H, WtW, **terms)
    np.testing.assert_allclose(H, expected_H, rtol=1e-4)
    assert np.array_equal(H[options["locked"]], H_before[options["locked"]])
    np.testing.assert_allclose(VHt, expected_VHt, rtol=1e-4)
    np.testing.assert_allclose(HHt, expected_HHt, rtol=1e-5)
