"""The job layer: function and generator jobs, "latest wins", errors, and the registry."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from app import jobs
from app.jobs import FunctionJob, GeneratorJob, Latest

WAIT = 20_000


def test_a_function_job_returns_its_result_from_another_thread(qtbot):
    job = FunctionJob(lambda x: (x * 2, threading.current_thread()), 21)
    with qtbot.waitSignal(job.returned, timeout=WAIT) as blocker:
        job.start()
    value, thread = blocker.args[0]
    assert value == 42 and thread is not threading.main_thread()
    assert job.wait(5)


def test_an_error_is_reported_and_ends_only_the_job(qtbot):
    def broken():
        raise ZeroDivisionError("no parts to divide into")

    job = FunctionJob(broken)
    returned, errors = [], []
    job.returned.connect(returned.append)
    job.errored.connect(errors.append)
    with qtbot.waitSignal(job.finished, timeout=WAIT):
        job.start()
    [error] = errors
    assert isinstance(error, ZeroDivisionError)
    assert jobs.describe(error) == "no parts to divide into"
    assert jobs.describe(ValueError()) == "ValueError"
    assert returned == []


def test_a_generator_job_yields_every_value_in_order_and_returns(qtbot):
    def count(n):
        yield from range(n)
        return "done"

    job = GeneratorJob(count, 5)
    values = []
    job.yielded.connect(values.append)
    with qtbot.waitSignal(job.returned, timeout=WAIT) as blocker:
        job.start()
    assert blocker.args == ["done"]
    qtbot.waitUntil(lambda: len(values) == 5)
    assert values == [0, 1, 2, 3, 4]


def test_quit_stops_a_generator_between_yields_and_runs_its_cleanup(qtbot):
    running, cleaned = threading.Event(), threading.Event()

    def forever():
        running.set()
        try:
            while True:
                time.sleep(0.005)
                yield
        finally:
            cleaned.set()

    job = GeneratorJob(forever)
    returned = []
    job.returned.connect(returned.append)
    job.start()
    assert running.wait(10)
    with qtbot.waitSignal(job.aborted, timeout=WAIT):
        job.quit()
    assert job.wait(5) and cleaned.is_set() and returned == []


def test_latest_wins_replaces_the_waiting_request_and_drops_superseded_results(qtbot):
    release = threading.Event()
    ran = []

    def task(tag):
        ran.append(tag)
        if tag == "first":
            release.wait(10)
        return tag

    latest = Latest()
    results = []
    latest.returned.connect(results.append)
    latest.submit(FunctionJob(task, "first"))
    latest.submit(FunctionJob(task, "second"))  # waits behind the first…
    latest.submit(FunctionJob(task, "third"))  # …and is replaced before it starts
    assert latest.busy
    release.set()
    with qtbot.waitSignal(latest.idle, timeout=WAIT):
        pass
    assert ran == ["first", "third"]
    assert results == ["third"]


def test_latest_without_dropping_shows_every_finished_result_in_order(qtbot):
    latest = Latest(drop_superseded=False)
    results = []
    latest.returned.connect(results.append)
    for tag in range(3):
        latest.submit(FunctionJob(time.sleep, 0.05) if tag == 0 else FunctionJob(int, tag))
    with qtbot.waitSignal(latest.idle, timeout=WAIT):
        pass
    assert results == [None, 2]


def test_a_render_that_raises_is_reported_and_the_next_render_still_happens(
    qtbot, window, monkeypatch
):
    from app.views import spectrogram

    monkeypatch.setattr(spectrogram, "_INLINE_CELLS", 0)  # every factor image goes to a job
    real = spectrogram.image_db
    calls = []

    def fails_once(mode, *args, **kwargs):
        if mode == "model":  # the mixture view draws its own image inline
            calls.append(threading.current_thread())
            if len(calls) == 1:
                raise FloatingPointError("overflow in the model")
        return real(mode, *args, **kwargs)

    monkeypatch.setattr(spectrogram, "image_db", fails_once)
    document, view = window.document, window.reconstruction
    bins, frames = document.magnitude.shape
    k = document.settings.n_components
    rng = np.random.default_rng(4)
    before = view.image.image
    with qtbot.waitSignal(window.error_reported, timeout=WAIT) as blocker:
        document.set_factors(rng.random((bins, k), np.float32),
                            rng.random((k, frames), np.float32), ())
    assert "Cannot draw the spectrogram: overflow in the model" in blocker.args[0]
    assert view.image.image is before
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32), ())
    qtbot.waitUntil(lambda: view.image.image is not before, timeout=WAIT)
    assert len(calls) >= 2 and threading.main_thread() not in calls


def test_closing_the_window_while_a_long_job_runs_returns_promptly_and_leaves_no_thread(
    qtbot, window
):
    document = window.document
    document.set_settings(replace(document.settings, iterations=100_000))
    window.control.run()
    qtbot.waitUntil(lambda: window.control.state == "running", timeout=WAIT)

    def endless_sweep():
        while True:
            time.sleep(0.01)
            yield

    long_job = GeneratorJob(endless_sweep, name="partwise-test-endless")
    long_job.start()
    started = [long_job, window.control._job]
    began = time.monotonic()
    assert window.close()
    assert time.monotonic() - began < 5.0
    assert jobs.registry.running() == []
    assert not any(job.is_running for job in started)
    assert not [t for t in threading.enumerate() if t.name.startswith("partwise-")
                and t.name != "partwise-render"]


def test_labels_grouping_and_the_autosave_run_off_the_gui_thread(
    qtbot, window, monkeypatch, data_dir
):
    import app.persistence
    import app.views.components

    threads = {}

    def recorded(name, function):
        def wrapper(*args, **kwargs):
            threads[name] = threading.current_thread()
            return function(*args, **kwargs)
        return wrapper

    for module, name in ((app.views.components, "component_labels"),
                         (app.views.components, "group_components"),
                         (app.persistence, "save_project"),
                         (app.persistence, "save"),  # the demo mixture's sidecar
                         (app.persistence, "_audio_sha256")):
        monkeypatch.setattr(module, name, recorded(name, getattr(module, name)))
    document, components = window.document, window.components
    with qtbot.waitSignal(window.control.state_changed, check_params_cb=lambda s: s == "done",
                          timeout=WAIT):
        window.control.run()
    with qtbot.waitSignal(components.grouped, timeout=WAIT):
        components._group()
    with qtbot.waitSignal(window.files.autosaver.saved, timeout=WAIT):
        document.set_gain(0, 0.5)
        window.files.autosaver.save_now()
    qtbot.waitUntil(lambda: "component_labels" in threads, timeout=WAIT)
    assert set(threads) == {"component_labels", "group_components", "save_project", "save",
                            "_audio_sha256"}
    assert threading.main_thread() not in threads.values()


def test_low_priority_jobs_run_at_nice_19_with_blas_one_core_short_kept_after_them(qtbot):
    import os

    from threadpoolctl import threadpool_info

    def observe():
        blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), blas

    cores = os.cpu_count() or 1
    for _ in range(2):  # the second finds the limit the first set
        job = FunctionJob(observe, low_priority=True)
        with qtbot.waitSignal(job.returned, timeout=10_000) as returned:
            job.start()
        nice, blas = returned.args[0]
        assert nice == 19 and blas and all(n <= max(1, cores - 1) for n in blas)
    job = FunctionJob(observe)  # a normal job after them: normal priority, the limit kept
    with qtbot.waitSignal(job.returned, timeout=10_000) as returned:
        job.start()
    nice, blas = returned.args[0]
    assert nice == 0 and all(n <= max(1, cores - 1) for n in blas)
