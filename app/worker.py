"""Long work off the GUI thread: the stepped NMF solver and one-shot background jobs.

Nothing here touches a widget. Results cross threads as immutable snapshots
through queued signals; controls cross the other way through a condition
variable the solver loop checks between iterations (superqt's stepped workers).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QThread, Signal
from threadpoolctl import threadpool_limits

from dsp import nmf

__all__ = ["Snapshot", "SolverWorker", "BackgroundJob", "LatestJob"]

MAX_SNAPSHOT_RATE = 30.0  # Hz: faster than this the views would redraw more than a screen shows


@dataclass(frozen=True)
class Snapshot:
    """Copies of the factors and the loss history after some iteration."""

    W: np.ndarray
    H: np.ndarray
    losses: tuple[float, ...]

    @property
    def n_iter(self) -> int:
        """Iterations behind these factors."""
        return len(self.losses)


def _lower_priority() -> None:
    """Run the calling thread, and the threads it starts, at nice 19 (Linux; per thread).

    The solver then gives way to the GUI, audio and render threads on any core
    they share, e.g. while the initialisation uses every core.
    """
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _spare_one_core() -> None:
    """Keep the calling thread, and the threads it starts from now on, off one core.

    On Linux affinity is per thread and inherited by new threads; the KL pass
    runs as many threads as the calling thread may use cores at each pass, so
    after this the iterations leave the GUI thread a core of its own. Measured
    with ``bench/gui_responsiveness.py`` on 2 cores: iterating on both made no
    more iterations a second while the GUI drew them, and doubled its p99
    lateness. Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, cores[1:])


class _SolverThreads:
    """Solver threads at low priority, and BLAS one core short of the machine.

    OpenBLAS's own threads were started by the GUI thread, so big products
    (Euclidean MU, HALS) are held to one core fewer than the machine has. The
    count is process-wide, so the limit is counted across workers (one that is
    retiring overlaps the next) and lifted when the last ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limit: threadpool_limits | None = None

    def __enter__(self) -> None:
        _lower_priority()
        with self._lock:
            if self._users == 0:
                cores = os.cpu_count() or 1
                self._limit = threadpool_limits(limits=max(1, cores - 1), user_api="blas")
            self._users += 1

    def __exit__(self, *_exc) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._limit.restore_original_limits()
                self._limit = None


_solver_threads = _SolverThreads()


class SolverWorker(QThread):
    """Runs one NMF solver, an iteration at a time, in its own thread.

    The thread lives until :meth:`stop`; between runs it waits for a command,
    so Step and Continue act on the same solver.

    Parameters
    ----------
    V : np.ndarray, float32 (bins, frames)
        Magnitude spectrogram.
    n_components : int
    options : dict
        Keyword arguments for :func:`dsp.nmf.make_solver` (loss, algorithm, …).
    W, H : np.ndarray, optional
        Warm start; ``losses`` is the history that produced them.

    Signals
    -------
    snapshot_taken(Snapshot)
        At most ``max_rate`` times a second while running, and whenever the
        loop comes to rest (paused, a step done, the iterations done, stopped).
        Emitted on the GUI thread and coalesced: while one snapshot waits to be
        delivered, newer ones replace it, so a busy GUI never queues a backlog.
    state_changed(str)
        ``'running'``, ``'paused'`` (waiting for Continue or Step) or ``'done'``
        (the requested iterations ran; waiting for Continue or Step).
    failed(str)
        The solver could not be created or raised; the thread ends.
    """

    snapshot_taken = Signal(object)
    state_changed = Signal(str)
    failed = Signal(str)
    _snapshot_posted = Signal()

    def __init__(
        self,
        V: np.ndarray,  # noqa: N803 - the domain's names
        n_components: int,
        options: dict,
        *,
        W: np.ndarray | None = None,  # noqa: N803
        H: np.ndarray | None = None,  # noqa: N803
        losses: tuple[float, ...] = (),
        max_rate: float = MAX_SNAPSHOT_RATE,
    ) -> None:
        super().__init__()
        resumed = W is not None and H is not None
        self._make = lambda: nmf.make_solver(
            V, n_components, W=W, H=H, warm_start=resumed, **options
        )
        self._history = tuple(losses)
        self._interval = 1.0 / max_rate
        self._lock = threading.Condition()
        self._budget = 0  # iterations left in the current run
        self._steps = 0  # single steps requested while paused
        self._paused = False
        self._stopping = False
        self._latest: Snapshot | None = None  # waiting for the GUI thread
        # Queued: the worker object lives in the GUI thread, the loop does not.
        self._snapshot_posted.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- commands (any thread) ---------------------------------------------------------------

    def run_iterations(self, n: int) -> None:
        """Run ``n`` more iterations (starting the thread if needed)."""
        with self._lock:
            self._budget = max(0, int(n))
            self._paused = False
            self._lock.notify_all()
        self._ensure_started()

    def pause(self) -> None:
        """Stop after the current iteration and wait; the budget is kept for Continue."""
        with self._lock:
            self._paused = True
            self._lock.notify_all()

    def resume(self) -> None:
        """Continue the paused run."""
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    def step(self) -> None:
        """Pause (if running) and do exactly one more iteration."""
        with self._lock:
            self._paused = True
            self._steps += 1
            self._lock.notify_all()
        self._ensure_started()

    def stop(self) -> None:
        """End the loop after the current iteration; the thread then finishes."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()

    def _ensure_started(self) -> None:
        if not self.isRunning() and not self.isFinished():
            self.start()

    # -- the loop (worker thread) ------------------------------------------------------------

    def run(self) -> None:  # noqa: D102 - QThread entry point
        with _solver_threads:
            self._loop()

    def _loop(self) -> None:
        try:
            # The start (e.g. the comb competition) may use every core, at low priority;
            # the iterations then leave the GUI thread one.
            solver = self._make()
        except (ValueError, MemoryError) as exc:
            self.failed.emit(str(exc))
            return
        _spare_one_core()
        self._emit(solver)
        last_emit = time.perf_counter()
        dirty = False
        state = None
        while True:
            with self._lock:
                while not self._stopping and self._steps == 0 and (
                    self._paused or self._budget == 0
                ):
                    if dirty:
                        self._emit(solver)
                        dirty = False
                    resting = "paused" if self._paused else "done"
                    if state != resting:
                        state = resting
                        self.state_changed.emit(state)
                    self._lock.wait()
                if self._stopping:
                    break
                if self._steps:
                    self._steps -= 1
                    single = True
                else:
                    self._budget -= 1
                    single = False
                    if state != "running":
                        state = "running"
                        self.state_changed.emit(state)
            try:
                solver.step()
            except (ValueError, FloatingPointError, MemoryError) as exc:
                self.failed.emit(str(exc))
                return
            dirty = True
            now = time.perf_counter()
            if single or now - last_emit >= self._interval:
                self._emit(solver)
                last_emit, dirty = now, False
        if dirty:
            self._emit(solver)

    def _emit(self, solver: nmf.Solver) -> None:
        snapshot = Snapshot(solver.W.copy(), solver.H.copy(), self._history + tuple(solver.losses))
        with self._lock:
            post = self._latest is None
            self._latest = snapshot
        if post:
            self._snapshot_posted.emit()

    def _deliver(self) -> None:
        """GUI thread: hand on the newest snapshot (older undelivered ones were replaced)."""
        with self._lock:
            snapshot, self._latest = self._latest, None
        if snapshot is not None:
            self.snapshot_taken.emit(snapshot)


class BackgroundJob(QThread):
    """Runs ``function()`` once in a thread and reports its result or its error.

    Signals
    -------
    succeeded(object)
        The return value.
    failed(str)
        The message of the exception raised.
    """

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[[], object]) -> None:
        super().__init__()
        self._function = function

    def run(self) -> None:  # noqa: D102 - QThread entry point
        with _solver_threads:
            self._loop()

    def _loop(self) -> None:
        try:
            result = self._function()
        except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not the void
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        self.succeeded.emit(result)


class LatestJob:
    """Runs the newest submitted function in a thread of its own; stale requests are dropped.

    A view hands it per-snapshot work (a spectrogram image from new factors):
    a request that waits is replaced by a newer one, never queued behind it.
    Results are collected with :meth:`take` from a timer on the GUI thread, so
    no signal ever crosses to a widget that may already be gone. Plain Python
    and numpy only: the function must not touch Qt objects.
    """

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._job: tuple[int, Callable[[], object]] | None = None
        self._result: tuple[int, object] | None = None
        self._running = False
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """A request waits or runs, or a result waits to be taken."""
        with self._cond:
            return self._job is not None or self._running or self._result is not None

    def submit(self, tag: int, function: Callable[[], object]) -> None:
        """Run ``function()`` soon; a request still waiting is dropped. ``tag`` comes back
        with the result."""
        with self._cond:
            self._job = tag, function
            self._cond.notify()

    def take(self) -> tuple[int, object] | None:
        """``(tag, result)`` of the newest finished request not yet taken, or None."""
        with self._cond:
            result, self._result = self._result, None
        return result

    def close(self) -> None:
        """End the thread once the running request (if any) is done."""
        with self._cond:
            self._closed = True
            self._job = None
            self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                (tag, function), self._job = self._job, None
                self._running = True
            result = function()
            with self._cond:
                self._result = tag, result
                self._running = False
