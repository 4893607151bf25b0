"""Paint steers the GUI's solver (issue 17): Run, Continue and Step continue the current
factors with the guided solver, and strokes reach a running solver between iterations."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from app.document import Document
from app.solver_control import SolverControl
from app.worker import SolverJob
from dsp import nmf
from dsp.demo import make_demo
from dsp.guide import Steering
from dsp.nmf.guided import GuidedSolver
from dsp.nmf.spatial import GAIN_STEP_EVERY
from dsp.pipeline import Settings
from dsp.stft import analyse

K = 4
#: Iterations of a run that has to be stopped by the test: it never ends on its own.
ENDLESS = 10**6


@pytest.fixture
def document(qtbot):
    """A mono demo mixture, its blind factorization and every component a source of its own."""
    demo = make_demo(duration=1.0, rate=8000, channels=1)
    document = Document(Settings(n_components=K, init="random", iterations=3, n_fft=256, hop=64))
    document.set_audio(demo.mixture, analyse(demo.mixture.samples, 8000, n_fft=256, hop=64))
    blind = nmf.factorize(document.magnitude, K, max_iter=200, tol=0, init="random", seed=0)
    document.set_factors(blind.W, blind.H, tuple(blind.losses))
    return document


@pytest.fixture
def control(qtbot, document, monkeypatch):
    """The solver control of ``document``; ``control.jobs`` lists every job it started."""
    jobs = []

    class CountedJob(SolverJob):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            jobs.append(self)

    monkeypatch.setattr("app.solver_control.SolverJob", CountedJob)
    control = SolverControl(document)
    control.jobs = jobs
    yield control
    control.shutdown()
    qtbot.waitUntil(lambda: control.threads_alive == 0, timeout=10_000)


def shares(W, H) -> np.ndarray:
    """Every component's share of the model W H in every cell, (k, bins, frames)."""
    parts = W.T[:, :, None] * H[:, None, :]
    return parts / np.maximum(parts.sum(axis=0), 1e-30)


def quiet_source_region(document, among=range(K)) -> tuple[int, tuple[slice, slice]]:
    """The source (of those ``among``) with the least share of the mixture's loudest cells,
    and those cells."""
    f, t = np.unravel_index(np.argmax(document.magnitude), document.magnitude.shape)
    region = (slice(max(f - 2, 0), f + 3), slice(max(t - 6, 0), t + 6))
    share = shares(document.W, document.H)
    return min(among, key=lambda k: share[k][region].mean()), region


def stroke(document, source: int, region: tuple[slice, slice]) -> None:
    bins, frames = region
    shape = document.paint_block(source, bins, frames).shape
    document.set_paint_block(source, bins, frames, np.ones(shape, np.float32))


def guided_reference(document) -> GuidedSolver:
    """The guided solver continuing the document's factors with its paint, stepped by the test."""
    steering = document.steering()
    return GuidedSolver(document.magnitude, document.W, document.H, steering.weights(),
                        steering.sources, lock_W=document.locked_mask())


def run_until(qtbot, control, action, state="done") -> None:
    with qtbot.waitSignal(control.state_changed, check_params_cb=lambda s: s == state,
                          timeout=30_000):
        action()


def test_step_with_paint_is_one_guided_iteration_from_the_current_factors(qtbot, document,
                                                                        control):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    history = document.losses
    reference = guided_reference(document)
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == len(history) + 1, timeout=30_000)
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)
    assert document.losses[:len(history)] == history
    assert document.losses[-1] == pytest.approx(reference.losses[-1], rel=1e-6)


def test_run_with_paint_continues_the_factors_guided_instead_of_starting_afresh(
        qtbot, document, control):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    history = document.losses
    reference = guided_reference(document)
    reference.step(document.settings.iterations)
    run_until(qtbot, control, control.run)
    qtbot.waitUntil(lambda: document.n_iter == len(history) + 3, timeout=10_000)
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)
    assert document.losses[:len(history)] == history


def test_a_steered_run_says_once_that_its_loss_is_the_steered_objective(qtbot, document,
                                                                        control):
    notices = []
    document.noticed.connect(notices.append)
    run_until(qtbot, control, control.step, "paused")  # no paint: nothing to say
    assert not [n for n in notices if n.startswith("Paint steers this run")]
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    run_until(qtbot, control, control.run)
    stroke(document, source, (slice(0, 4), slice(0, 4)))  # more paint in the same run
    qtbot.wait(50)
    steered = [n for n in notices if n.startswith("Paint steers this run")]
    assert len(steered) == 1 and "jumps when the paint changes" in steered[0]


def test_without_paint_step_continues_with_the_settings_own_solver(qtbot, document, control):
    settings = document.settings
    reference = nmf.make_solver(document.magnitude, K, W=document.W, H=document.H,
                                warm_start=True, **settings.solver_options(document.magnitude))
    assert not isinstance(reference, GuidedSolver)
    reference.step()
    n = document.n_iter
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 1, timeout=30_000)
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)


def test_a_stroke_during_a_run_steers_the_running_solver_without_a_restart(
        qtbot, document, control):
    source, region = quiet_source_region(document)
    other = (source + 1) % K
    stroke(document, other, (slice(60, 70), slice(0, 10)))  # paint to start the run with
    document.set_settings(replace(document.settings, iterations=ENDLESS))
    control.run()
    start = document.n_iter
    qtbot.waitUntil(lambda: document.n_iter >= start + 5, timeout=30_000)
    before = shares(document.W, document.H)[source][region].mean()
    history = document.losses
    stroke(document, source, region)
    # The painted source takes the painted cells over, in the run that was going on.
    qtbot.waitUntil(lambda: shares(document.W, document.H)[source][region].mean() > 0.5,
                    timeout=60_000)
    control.pause()
    assert before < 0.05
    assert len(control.jobs) == 1 and control.jobs[0].is_running
    assert document.losses[:len(history)] == history
    assert document.n_iter == len(document.losses) > len(history)


def test_moving_a_component_to_another_source_reaches_the_solver_between_steps(
        qtbot, document, control):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    n = document.n_iter
    reference = guided_reference(document)
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 1, timeout=30_000)
    mover = (source + 1) % K
    document.set_source(mover, source)  # "this component is that source too"
    moved = document.steering()
    assert moved.n_sources == K - 1
    reference.steer(moved.weights(), moved.sources)
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 2, timeout=30_000)
    assert len(control.jobs) == 1
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)


def test_a_burst_of_strokes_is_one_recomputation_of_the_weights_in_the_solver_thread(
        qtbot, document, control, monkeypatch):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    n = document.n_iter
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 1, timeout=30_000)
    made = []  # the threads that made weights
    weights = Steering.cell_weights

    def counted_weights(self, *args, **kwargs):
        made.append(threading.get_ident())
        return weights(self, *args, **kwargs)

    monkeypatch.setattr(Steering, "cell_weights", counted_weights)
    job = control.jobs[0]
    handed = []
    steer = job.steer
    monkeypatch.setattr(job, "steer", lambda steering: handed.append(1) or steer(steering))
    for t in range(region[1].start, region[1].stop):  # a drag: one stroke per frame
        document.set_paint_block((source + 1) % K, slice(100, 110), slice(t, t + 1),
                                 np.full((10, 1), 0.5, np.float32))
    qtbot.waitUntil(lambda: bool(handed), timeout=10_000)
    reference = guided_reference(document)  # its weights are made here, on the GUI thread
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 2, timeout=30_000)
    assert len(handed) == 1
    assert len([thread for thread in made if thread != threading.get_ident()]) == 1
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)


def test_locked_templates_hold_when_a_stroke_turns_a_blind_run_into_a_guided_one(
        qtbot, document, control):
    document.set_locked(1, True)
    document.set_locked(2, True)
    locked = document.W[:, [1, 2]].copy()
    document.set_settings(replace(document.settings, iterations=ENDLESS))
    control.run()  # no paint: a fresh blind run around the locked templates
    qtbot.waitUntil(lambda: document.n_iter >= 5, timeout=30_000)
    source, region = quiet_source_region(document, among=(0, 3))
    before = shares(document.W, document.H)[source][region].mean()
    stroke(document, source, region)
    qtbot.waitUntil(lambda: shares(document.W, document.H)[source][region].mean() > 0.5,
                    timeout=60_000)
    control.pause()
    assert before < 0.05
    assert len(control.jobs) == 1
    np.testing.assert_array_equal(document.W[:, [1, 2]], locked)


def test_a_guided_run_keeps_locked_templates_bit_identical(qtbot, document, control):
    document.set_locked(0, True)
    locked, free = document.W[:, 0].copy(), document.W[:, 1:].copy()
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    n = document.n_iter
    run_until(qtbot, control, control.run)
    qtbot.waitUntil(lambda: document.n_iter == n + 3, timeout=10_000)
    np.testing.assert_array_equal(document.W[:, 0], locked)
    assert not np.array_equal(document.W[:, 1:], free)


@pytest.mark.parametrize("change, named", [
    ({"loss": "euclidean"}, "'euclidean' loss"),
    ({"loss": "euclidean", "algorithm": "hals"}, "'hals' algorithm"),
    ({"sparsity": 0.1}, "sparsity"),
])
def test_settings_paint_cannot_steer_run_unguided_and_say_so_once(
        qtbot, document, control, change, named):
    document.set_settings(replace(document.settings, **change))
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    settings = document.settings
    reference = nmf.make_solver(document.magnitude, K, W=document.W, H=document.H,
                                warm_start=True, **settings.solver_options(document.magnitude))
    reference.step(settings.iterations)
    notices = []
    document.noticed.connect(notices.append)
    n = document.n_iter
    run_until(qtbot, control, control.resume)
    qtbot.waitUntil(lambda: document.n_iter == n + settings.iterations, timeout=10_000)
    # The settings' own solver continued the factors, the paint left out.
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-4, atol=1e-10)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-4, atol=1e-10)
    stroke(document, source, (slice(100, 110), slice(0, 5)))  # paint between runs: no repeat
    run_until(qtbot, control, control.resume)
    assert len(control.jobs) == 1
    assert len(notices) == 1
    assert "paint is not used" in notices[0] and named in notices[0]


def test_a_fresh_run_starts_blind_and_the_paint_steers_from_the_next_step(
        qtbot, document, control):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    control.reset()
    settings = document.settings
    blind = nmf.make_solver(document.magnitude, K, **settings.solver_options(document.magnitude))
    blind.step(settings.iterations)
    run_until(qtbot, control, control.run)
    qtbot.waitUntil(lambda: document.n_iter == settings.iterations, timeout=10_000)
    np.testing.assert_allclose(document.W, blind.W, rtol=1e-5, atol=1e-12)
    reference = guided_reference(document)
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == settings.iterations + 1, timeout=30_000)
    assert len(control.jobs) == 1
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)


def test_a_new_strength_steers_the_run_instead_of_stopping_it(qtbot, document, control):
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    n = document.n_iter
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 1, timeout=30_000)
    offered = []
    control.restart_offered.connect(offered.append)
    document.set_settings(replace(document.settings, guide_strength=1.0))
    reference = guided_reference(document)  # the paint at strength 1
    reference.step()
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == n + 2, timeout=30_000)
    assert not offered and len(control.jobs) == 1
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)


def test_a_stereo_guided_run_continues_the_multichannel_model_and_learns_its_gains(qtbot):
    demo = make_demo(duration=1.0, rate=8000, channels=2)
    document = Document(Settings(n_components=K, init="random", iterations=3, n_fft=256, hop=64))
    spectrogram = analyse(demo.mixture.samples, 8000, n_fft=256, hop=64)
    document.set_audio(demo.mixture, spectrogram)
    blind = nmf.factorize(spectrogram.magnitudes(), K, max_iter=50, tol=0, init="random")
    assert blind.channel_gains is not None
    document.set_factors(blind.W, blind.H, tuple(blind.losses), blind.channel_gains)
    source, region = quiet_source_region(document)
    stroke(document, source, region)
    steering = document.steering()
    reference = nmf.make_solver(spectrogram.magnitudes(), K, W=blind.W, H=blind.H,
                                channel_gains=blind.channel_gains,
                                source_weights=steering.cell_weights(),
                                component_sources=steering.sources)
    assert isinstance(reference, nmf.SpatialGuidedSolver)
    reference.step(GAIN_STEP_EVERY)
    control = SolverControl(document)
    for done in range(51, 51 + GAIN_STEP_EVERY):
        control.step()
        qtbot.waitUntil(lambda n=done: document.n_iter == n, timeout=30_000)
    control.shutdown()
    qtbot.waitUntil(lambda: control.threads_alive == 0, timeout=10_000)
    # The gain step of the guided run moved the gains: the stereo image is still modelled.
    assert not np.allclose(document.channel_gains, blind.channel_gains)
    np.testing.assert_allclose(document.channel_gains, reference.channel_gains, rtol=1e-5)
    np.testing.assert_allclose(document.W, reference.W, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(document.H, reference.H, rtol=1e-5, atol=1e-12)
