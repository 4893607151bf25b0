"""The job layer: every background task of the app runs as a :class:`Job`.

Modelled on superqt's thread workers (``superqt/utils/_qthreading.py``): a job
is a function (:class:`FunctionJob`) or a generator (:class:`GeneratorJob`)
run in a thread, reporting through ``started``/``yielded``/``returned``/
``errored``/``aborted``/``finished`` signals, delivered on the GUI thread. A
generator is stepped: :meth:`Job.quit` stops it between two yields, where a
plain blocking call could not be stopped.

Three things superqt's workers do differently, and why this layer is our own:
they share ``QThreadPool.globalInstance()``, sized to the cores (two here), so
a solver waiting between runs and a sweep would leave a file load queued; a
pooled thread is reused, so the solver's nice 19 and core affinity, which a
thread cannot undo, would leak into the next task; and each worker swaps the
process-wide warnings hooks while it runs, which is not safe with several at
once. Here every job has a thread of its own, which ends with it.

:class:`Latest` is the policy for views and loaders: one job at a time, a
newer request replaces a waiting one and results of superseded jobs are
dropped (Qt's mandelbrot example). :data:`registry` knows every running job;
closing the window calls :meth:`JobRegistry.shutdown`, the one place that
stops and awaits them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Generator
from functools import partial

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from threadpoolctl import threadpool_limits

__all__ = [
    "FunctionJob", "GeneratorJob", "Job", "JobRegistry", "Latest", "coalesced", "describe",
    "registry",
]


def describe(error: BaseException) -> str:
    """The message of ``error`` for the user (its type when it has none)."""
    return str(error) or type(error).__name__


def coalesced(parent: QObject, slot: Callable[[], object], interval_ms: int = 0) -> QTimer:
    """A single-shot timer that calls ``slot`` once after its last ``start()``: work deferred.

    Every request in the meantime (a burst of strokes, a snapshot and a zoom) is
    one call, made when the GUI thread gets to its timers: after the events
    already posted, so a view's refresh and the window's repaint of what was
    before it are separate turns of the event loop.
    """
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


def _lower_priority() -> None:
    """Run the calling thread, and the threads it starts, at nice 19 (Linux; per thread).

    The solver then gives way to the GUI, audio and render threads on any core
    they share, e.g. while the initialisation uses every core.
    """
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class _BlasLimit:
    """BLAS one core short of the machine, from the first low-priority job on.

    OpenBLAS's own threads were started by the GUI thread, so big products
    (Euclidean MU, HALS) are held to one core fewer than the machine has. The
    limit is process-wide and is set once, by the first low-priority job, and
    kept: lifting and setting it around every job walked the loaded libraries
    (``threadpoolctl``) under a lock at each start and end, and one test run
    hung there. The GUI thread does no product big enough to miss the core.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limit: threadpool_limits | None = None

    def ensure(self) -> None:
        """Set the limit if no job has yet (safe from any thread)."""
        if self._limit is None:
            with self._lock:
                if self._limit is None:
                    cores = os.cpu_count() or 1
                    self._limit = threadpool_limits(limits=max(1, cores - 1), user_api="blas")


_blas_limit = _BlasLimit()


class JobRegistry:
    """Every job whose thread has started and whose ``finished`` the GUI has not yet seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()
        self._policies: weakref.WeakSet[Latest] = weakref.WeakSet()

    def add(self, job: Job) -> None:
        """Keep ``job`` (and so its signals) alive until it has finished."""
        with self._lock:
            self._jobs.add(job)

    def discard(self, job: Job) -> None:
        """Forget a finished job."""
        with self._lock:
            self._jobs.discard(job)

    def add_policy(self, policy: Latest) -> None:
        """Cancel ``policy``'s waiting request at shutdown, so no job starts after it."""
        self._policies.add(policy)

    def running(self) -> list[Job]:
        """The jobs whose threads have not ended."""
        with self._lock:
            return [job for job in self._jobs if job.is_running]

    def shutdown(self, timeout: float | None = None) -> bool:
        """Ask every job to quit and wait for their threads; True if all ended in ``timeout`` s.

        Quit jobs report no result. A function job cannot be interrupted: one
        still running after ``timeout`` is left to end on its own (its thread
        is a daemon, so it never holds up the exit).
        """
        for policy in list(self._policies):
            policy.cancel()
        jobs = self.running()
        for job in jobs:
            job.quit()
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            job.wait(left)
        return not self.running()


#: The app's jobs; :meth:`MainWindow.closeEvent` shuts it down.
registry = JobRegistry()


class Job(QObject):
    """Work for a thread of its own, reporting by signals on the GUI thread.

    Create it on the GUI thread, connect its signals, then :meth:`start` it.
    Arrays it is given or returns must be snapshots nobody changes in place.

    Parameters
    ----------
    low_priority : bool
        Run at nice 19 with BLAS one core short of the machine (analysis,
        solving, scoring…); views' renders and exports keep normal priority.
    name : str
        The thread's name (debuggers, ``threading.enumerate()``).

    Signals
    -------
    started()
    returned(object)
        The result of :meth:`work`.
    errored(object)
        The exception :meth:`work` raised (see :func:`describe`); the job ends,
        nothing else does.
    aborted()
        Instead of ``returned``: :meth:`quit` was called (a generator job
        stopped between two yields; a function job's result is dropped).
    finished()
        Always, last.

    Subclasses implement :meth:`work`; one that has stages checks
    :attr:`abort_requested` between them, and may add signals of its own,
    emitted from the job's thread (Qt queues them to the GUI thread).
    """

    started = Signal()
    returned = Signal(object)
    errored = Signal(object)
    aborted = Signal()
    finished = Signal()

    def __init__(self, *, low_priority: bool = False, name: str = "partwise-job") -> None:
        super().__init__()
        self._low_priority = low_priority
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def abort_requested(self) -> bool:
        """Whether :meth:`quit` was called."""
        return self._abort.is_set()

    @property
    def is_started(self) -> bool:
        """Whether :meth:`start` was called."""
        return self._thread.ident is not None

    @property
    def is_running(self) -> bool:
        """Whether the thread has started and not yet ended."""
        return self._thread.is_alive()

    def start(self) -> None:
        """Run the job in its own thread (connect its signals first)."""
        # Connected last, so the owner's slots have seen ``finished`` before the deletion.
        self.finished.connect(self._forget)
        registry.add(self)
        self._thread.start()

    def quit(self) -> None:
        """Ask the job to stop: a generator at its next yield; its result is not reported."""
        self._abort.set()
        self._wake()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ended (or ``timeout`` s passed); True if it has ended."""
        if self.is_started:
            self._thread.join(timeout)
        return not self.is_running

    def work(self) -> object:
        """The job's work, in its thread; its return value is ``returned``."""
        raise NotImplementedError

    def _wake(self) -> None:
        """Called by :meth:`quit`: a job that waits on a condition of its own wakes up here."""

    def _forget(self) -> None:
        """GUI thread, after every other report: leave the registry, free the Qt object.

        Deleting it also drops the connections, which hold the job's owners and
        arrays (a connected ``partial`` refers back to the job, a cycle the
        garbage collector cannot see through Qt).
        """
        registry.discard(self)
        self.deleteLater()

    def _run(self) -> None:
        self.started.emit()
        try:
            if self._low_priority:
                _lower_priority()
                _blas_limit.ensure()
            result = self.work()
        except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not the void
            self.errored.emit(exc)
        else:
            if self.abort_requested:
                self.aborted.emit()
            else:
                self.returned.emit(result)
        finally:
            self.finished.emit()


class FunctionJob(Job):
    """Runs ``function(*args, **kwargs)`` once; it cannot be interrupted."""

    def __init__(self, function: Callable[..., object], *args, low_priority: bool = False,
                 name: str = "partwise-job", **kwargs) -> None:
        super().__init__(low_priority=low_priority, name=name)
        self._call = partial(function, *args, **kwargs)

    def work(self) -> object:  # noqa: D102 - see Job.work
        return self._call()


class GeneratorJob(Job):
    """Steps ``function(*args, **kwargs)``, a generator, and reports what it yields.

    Parameters
    ----------
    coalesce : bool
        Deliver only the newest value: while one waits for the GUI thread a
        newer one replaces it, so a busy GUI never queues a backlog (solver
        snapshots). Without it every value arrives, in order.

    Signals
    -------
    yielded(object)
        A value the generator yielded. The generator's return value is
        ``returned``; quit between two yields, it is closed (its ``finally``
        blocks run) and ``aborted`` is emitted.
    """

    yielded = Signal(object)
    _posted = Signal()

    def __init__(self, function: Callable[..., Generator], *args, coalesce: bool = False,
                 low_priority: bool = False, name: str = "partwise-job", **kwargs) -> None:
        super().__init__(low_priority=low_priority, name=name)
        self._call = partial(function, *args, **kwargs)
        self._coalesce = coalesce
        self._lock = threading.Lock()
        self._pending: list[object] = []  # yielded, not yet delivered (at most one if coalesced)
        # Delivered from a zero timer, i.e. once the GUI thread's posted events are done:
        # Qt's glib event loop runs timers only when no posted event waits, so a value
        # posted as an event whenever the last was taken (a solver outpacing its views)
        # would keep one waiting and starve every timer (playhead, animations).
        self._idle = coalesced(self, self._deliver)
        # Queued: the job object lives in the GUI thread, the generator does not.
        self._posted.connect(self._idle.start, Qt.ConnectionType.QueuedConnection)
        # What is still waiting arrives before the job's later reports (connected first).
        for report in (self.returned, self.errored, self.aborted, self.finished):
            report.connect(self._deliver)

    def work(self) -> object:  # noqa: D102 - see Job.work
        generator = self._call()
        try:
            while not self.abort_requested:
                try:
                    value = next(generator)
                except StopIteration as stop:
                    return stop.value
                self._post(value)
        finally:
            generator.close()
        return None

    def _post(self, value: object) -> None:
        with self._lock:
            post = not self._pending
            if self._coalesce:
                self._pending[:] = [value]
            else:
                self._pending.append(value)
        if post:
            self._posted.emit()

    def _deliver(self) -> None:
        """GUI thread: hand on what was yielded (only the newest, if coalesced)."""
        with self._lock:
            values, self._pending = self._pending, []
        for value in values:
            self.yielded.emit(value)


class Latest(QObject):
    """"Latest wins": one job at a time; a newer request replaces the one waiting.

    Parameters
    ----------
    drop_superseded : bool
        True (loaders): a newer request asks the running job to quit and its
        result or error is dropped; only the newest request's reach the owner.
        False (views drawing live results): the running job finishes and its
        result is delivered — it is newer than what is on screen — then the
        newest waiting request runs.

    Signals
    -------
    yielded(object), returned(object), errored(object)
        As :class:`Job`'s, from the jobs whose results count.
    idle()
        Nothing runs or waits any more.
    """

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    idle = Signal()

    def __init__(self, parent: QObject | None = None, *, drop_superseded: bool = True) -> None:
        super().__init__(parent)
        self._drop = drop_superseded
        self._running: Job | None = None
        self._waiting: Job | None = None
        self._newest: Job | None = None
        registry.add_policy(self)

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        return self._running is not None or self._waiting is not None

    def submit(self, job: Job) -> Job:
        """Run ``job`` next (now, if nothing runs); a request still waiting is dropped."""
        self._waiting = self._newest = job
        if self._running is None:
            self._start_waiting()
        elif self._drop:
            self._running.quit()
        return job

    def cancel(self) -> None:
        """Drop the waiting request and ask the running job to quit; nothing more is reported."""
        self._waiting = self._newest = None
        if self._running is not None:
            self._running.quit()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running job's thread ended; True if it has (or none runs)."""
        return self._running is None or self._running.wait(timeout)

    def _start_waiting(self) -> None:
        job, self._waiting = self._waiting, None
        self._running = job
        # Bound methods, not partials: Qt drops these connections when this object is
        # deleted (a view closed while its job ran), so no report reaches it after that.
        job.returned.connect(self._on_returned)
        job.errored.connect(self._on_errored)
        if isinstance(job, GeneratorJob):
            job.yielded.connect(self._on_yielded)
        job.finished.connect(self._on_finished)
        job.start()

    def _counts(self) -> bool:
        """Whether the report being delivered comes from a job whose results count."""
        job = self.sender()
        return job is self._newest or (not self._drop and self._newest is not None)

    def _on_returned(self, value: object) -> None:
        if self._counts():
            self.returned.emit(value)

    def _on_errored(self, error: object) -> None:
        if self._counts():
            self.errored.emit(error)

    def _on_yielded(self, value: object) -> None:
        if self._counts():
            self.yielded.emit(value)

    def _on_finished(self) -> None:
        job = self.sender()
        if job is not self._running:
            return
        self._running = None
        if job is self._newest and self._waiting is None:
            self._newest = None
        if self._waiting is not None:
            self._start_waiting()
        else:
            self.idle.emit()
