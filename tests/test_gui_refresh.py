"""What keeps the window responsive while NMF runs: coalesced snapshots, a solver off one
core at low priority, and views that draw no more than the screen shows."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from app.jobs import _lower_priority
from app.views.activations import MAX_POINTS, peak_decimate, peak_decimate_at
from app.worker import SolverJob, _spare_one_core


def test_snapshots_a_busy_gui_has_not_taken_are_replaced_by_newer_ones(qtbot):
    V = np.random.default_rng(0).random((40, 60)).astype(np.float32) + 0.1  # noqa: N806
    job = SolverJob(V, 3, {"loss": "kl", "seed": 1}, max_rate=1e9)  # a snapshot per step
    snapshots = []
    job.yielded.connect(snapshots.append)
    job.run_iterations(50)
    # The GUI thread is "busy" (it runs no events) until the solver has finished.
    deadline = time.monotonic() + 20
    while not (job._pending and job._pending[-1].n_iter == 50):
        assert time.monotonic() < deadline, "the solver did not finish"
        time.sleep(0.01)
    assert len(job._pending) == 1, "a coalescing job keeps only the newest snapshot"
    job.stop()
    job.wait()
    qtbot.waitUntil(lambda: bool(snapshots) and snapshots[-1].n_iter == 50, timeout=5_000)
    assert len(snapshots) <= 3, f"{len(snapshots)} snapshots queued up for the GUI"
    assert [s.n_iter for s in snapshots] == sorted({s.n_iter for s in snapshots})


def test_the_solver_thread_and_its_helpers_leave_a_core_to_the_gui_and_run_below_it():
    """Linux (CI's platform): affinity and nice are per thread and inherited by new threads."""
    native = threading.get_native_id
    before = (os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, native()))
    seen = {}

    def helper() -> None:
        seen["helper"] = (os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, native()))

    def solver_thread() -> None:
        _lower_priority()
        _spare_one_core()
        seen["solver"] = (os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, native()))
        child = threading.Thread(target=helper)
        child.start()
        child.join()

    thread = threading.Thread(target=solver_thread)
    thread.start()
    thread.join()
    assert (os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, native())) == before
    cores = before[0]
    expected = len(cores) - 1 if len(cores) > 1 else 1
    for affinity, nice in seen.values():
        assert len(affinity) == expected and affinity <= cores
        assert nice == 19
    assert seen["helper"] == seen["solver"]


def test_peak_decimation_keeps_every_peak_and_dip():
    rng = np.random.default_rng(1)
    rows = rng.random((3, 1003)).astype(np.float32)
    times = np.arange(1003) * 0.01
    x, y = peak_decimate(times, rows, 10)
    assert y.shape == (3, 2 * 101) and x.shape == (2 * 101,)
    np.testing.assert_array_equal(y[:, 0::2].min(axis=1), rows.min(axis=1))
    np.testing.assert_array_equal(y[:, 1::2].max(axis=1), rows.max(axis=1))
    np.testing.assert_array_equal(y[:, 1:2], rows[:, :10].max(axis=1, keepdims=True))
    np.testing.assert_array_equal(y[:, -2:-1], rows[:, 1000:].min(axis=1, keepdims=True))
    np.testing.assert_allclose(x[::2], times[::10])
    starts = np.array([0, 1, 2, 50, 900])  # blocks of any length, as on a log axis
    x, y = peak_decimate_at(times, rows, starts)
    ends = [*starts[1:], rows.shape[1]]
    for i, (a, b) in enumerate(zip(starts, ends)):
        np.testing.assert_array_equal(y[:, 2 * i], rows[:, a:b].min(axis=1))
        np.testing.assert_array_equal(y[:, 2 * i + 1], rows[:, a:b].max(axis=1))
        assert x[2 * i] == x[2 * i + 1] == times[a]
    same_x, same_y = peak_decimate(times, rows, 1)
    assert same_y is rows and same_x is times


def test_a_long_file_is_drawn_with_two_points_per_pixel_column(qtbot, window):
    document = window.document
    bins, frames = document.magnitude.shape
    k = document.settings.n_components
    rng = np.random.default_rng(2)
    H = rng.random((k, frames), np.float32)  # noqa: N806
    document.set_factors(rng.random((bins, k), np.float32), H, (1.0,))
    view = window.activations
    assert view.activations is not H  # drawn in a turn of the event loop of its own
    qtbot.waitUntil(lambda: view.activations is H, timeout=2000)
    columns = int(view.getViewBox().width() * view.devicePixelRatioF())
    if frames <= columns:  # the demo is short: every frame is drawn as it is
        assert view.curves[0].yData.size == frames
    # Zoom in to a tenth: the visible part is drawn at full detail, the rest not at all.
    window.spectrogram.plot.vb.setXRange(0.0, document.audio.duration / 10, padding=0)
    view._draw()
    assert view.curves[0].xData.max() <= document.audio.duration / 10 + 0.1
    assert view.curves[0].xData.size <= min(MAX_POINTS, 2 * columns) + 2


def test_large_factor_images_are_drawn_from_the_render_thread(qtbot, window, monkeypatch):
    from app.views import spectrogram

    monkeypatch.setattr(spectrogram, "_INLINE_CELLS", 0)  # every factor image goes to the thread
    document, view = window.document, window.reconstruction
    bins, frames = document.magnitude.shape
    k = document.settings.n_components
    rng = np.random.default_rng(3)
    before = view.image.image
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32), ())
    assert view.image.image is before, "the GUI thread did not compute the image itself"
    qtbot.waitUntil(lambda: view.image.image is not before, timeout=10_000)
    model = view.image.image
    assert model.dtype == np.float32 and model.flags.c_contiguous
    # A render asked for later (the mixture, drawn at once) is never replaced by an older one.
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32), ())
    view.set_mode("mixture")
    mixture = view.image.image
    qtbot.waitUntil(lambda: not view._renders.busy, timeout=10_000)
    qtbot.wait(50)
    assert view.image.image is mixture
