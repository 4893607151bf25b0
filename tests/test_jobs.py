"""The job layer: function and generator jobs, "latest wins", errors, and the registry."""

from __future__ import annotations

import threading
import time

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
