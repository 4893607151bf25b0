"""Session model and solver worker, without a window."""

import numpy as np

from app.document import Document
from app.worker import SolverJob
from dsp import nmf
from dsp.pipeline import Settings


def test_solo_wins_over_mute_and_gains_apply():
    document = Document(Settings(n_components=4))
    document.set_gain(0, 0.5)
    document.set_mute(1, True)
    np.testing.assert_array_equal(document.effective_gains(), [0.5, 0.0, 1.0, 1.0])
    document.set_solo(1, True)
    document.set_solo(3, True)
    np.testing.assert_array_equal(document.effective_gains(), [0.0, 1.0, 0.0, 1.0])


def test_setters_emit_only_on_real_changes(qtbot):
    document = Document(Settings(n_components=3))
    seen = []
    document.component_changed.connect(seen.append)
    document.set_mute(2, True)
    document.set_mute(2, True)
    document.set_component_name(0, "Part 1")  # the default name: no change
    assert seen == [2]


def test_a_new_rank_rebuilds_the_components_and_keeps_their_names(qtbot):
    document = Document(Settings(n_components=2))
    document.set_component_name(0, "Bass")
    with qtbot.waitSignal(document.components_changed):
        document.set_settings(Settings(n_components=4))
    assert [c.name for c in document.components][:2] == ["Bass", "Part 2"]
    assert len(document.components) == 4


def test_the_solver_job_gives_the_same_factors_as_the_solver_alone(qtbot):
    V = np.random.default_rng(0).random((40, 30), dtype=np.float32)  # noqa: N806
    job = SolverJob(V, 3, {"loss": "kl", "seed": 1})
    snapshots = []
    job.yielded.connect(snapshots.append)
    with qtbot.waitSignal(
        job.state_changed, check_params_cb=lambda s: s == "done", timeout=20_000
    ):
        job.run_iterations(7)
    job.stop()
    job.wait()
    qtbot.waitUntil(lambda: snapshots and snapshots[-1].n_iter == 7)
    solver = nmf.make_solver(V, 3, loss="kl", seed=1)
    solver.step(7)
    np.testing.assert_array_equal(snapshots[-1].W, solver.W)
    np.testing.assert_array_equal(snapshots[-1].H, solver.H)
    assert list(snapshots[-1].losses) == solver.losses
