"""The stepped NMF solver as a generator job of the job layer (:mod:`app.jobs`).

Nothing here touches a widget. Snapshots cross threads as immutable copies
through the job's coalesced ``yielded`` signal; commands cross the other way
through a condition variable the solver loop checks between iterations.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal

from dsp import nmf

from .jobs import GeneratorJob

__all__ = ["MAX_SNAPSHOT_RATE", "Snapshot", "SolverJob"]

MAX_SNAPSHOT_RATE = 30.0  # Hz: faster than this the views would redraw more than a screen shows


@dataclass(frozen=True)
class Snapshot:
    """Copies of the factors and the loss history after some iteration."""

    W: np.ndarray
    H: np.ndarray
    losses: tuple[float, ...]
    #: The multichannel model's gains (channels, k), or None.
    channel_gains: np.ndarray | None = None

    @property
    def n_iter(self) -> int:
        """Iterations behind these factors."""
        return len(self.losses)


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


#: What the status bar says while a fresh start is made, by initialisation.
_START_PHASES = {
    "comb": "Initialising from harmonic combs",
    "nndsvda": "Initialising from the singular vectors (NNDSVDa)",
    "nndsvd": "Initialising from the singular vectors (NNDSVD)",
    "random": "Initialising at random",
}


class SolverJob(GeneratorJob):
    """Runs one NMF solver, an iteration at a time: a generator job that yields snapshots.

    The job lives until :meth:`stop`; between runs it waits for a command, so
    Step and Continue act on the same solver. It runs at low priority, and its
    iterations leave the GUI thread's core alone (:func:`_spare_one_core`).

    Parameters
    ----------
    V : np.ndarray or callable
        Magnitude spectrogram, float32 (bins, frames) or every channel's
        (channels, bins, frames); or a function that makes it, called in the
        job's thread (every channel's magnitude of a long file takes longer
        than the GUI thread may spend).
    n_components : int
    options : dict
        Keyword arguments for :func:`dsp.nmf.make_solver` (loss, algorithm, …).
    W, H : np.ndarray, optional
        Warm start; ``losses`` is the history that produced them (and
        ``options`` may hold their ``channel_gains``).

    Signals
    -------
    yielded(Snapshot)
        At most ``max_rate`` times a second while running, and whenever the
        loop comes to rest (paused, a step done, the iterations done, stopped).
        Coalesced: while one snapshot waits to be delivered, newer ones replace
        it, so a busy GUI never queues a backlog.
    state_changed(str)
        ``'running'``, ``'paused'`` (waiting for Continue or Step) or ``'done'``
        (the requested iterations ran; waiting for Continue or Step).
    errored(Exception)
        The solver could not be created or raised; the job ends.
    initialising(str, float)
        What the start is doing ("Initialising from harmonic combs") and the
        fraction of it done: a fresh start on a long file takes seconds.
    """

    state_changed = Signal(str)
    initialising = Signal(str, float)

    def __init__(
        self,
        V: np.ndarray | Callable[[], np.ndarray],  # noqa: N803 - the domain's names
        n_components: int,
        options: dict,
        *,
        W: np.ndarray | None = None,  # noqa: N803
        H: np.ndarray | None = None,  # noqa: N803
        losses: tuple[float, ...] = (),
        max_rate: float = MAX_SNAPSHOT_RATE,
    ) -> None:
        super().__init__(self._iterate, coalesce=True, low_priority=True, name="partwise-solver")
        # The snapshot taken before coming to rest arrives before the state says so.
        self.state_changed.connect(self._deliver)
        resumed = W is not None and H is not None
        phase = "Continuing" if resumed else _START_PHASES.get(
            options.get("init", "nndsvda"), "Initialising")
        self._make = lambda: nmf.make_solver(
            V() if callable(V) else V, n_components, W=W, H=H, warm_start=resumed,
            progress=lambda done: self.initialising.emit(phase, done), **options
        )
        self._history = tuple(losses)
        self._interval = 1.0 / max_rate
        self._commands = threading.Condition()
        self._budget = 0  # iterations left in the current run
        self._steps = 0  # single steps requested while paused
        self._paused = False
        self._state: str | None = None

    # -- commands (GUI thread) ---------------------------------------------------------------

    def run_iterations(self, n: int) -> None:
        """Run ``n`` more iterations (starting the job if needed)."""
        with self._commands:
            self._budget = max(0, int(n))
            self._paused = False
            self._commands.notify_all()
        self._ensure_started()

    def pause(self) -> None:
        """Stop after the current iteration and wait; the budget is kept for Continue."""
        with self._commands:
            self._paused = True
            self._commands.notify_all()

    def resume(self) -> None:
        """Continue the paused run."""
        with self._commands:
            self._paused = False
            self._commands.notify_all()

    def step(self) -> None:
        """Pause (if running) and do exactly one more iteration."""
        with self._commands:
            self._paused = True
            self._steps += 1
            self._commands.notify_all()
        self._ensure_started()

    def stop(self) -> None:
        """End the loop after the current iteration (its snapshot is still delivered)."""
        self.quit()

    def _ensure_started(self) -> None:
        if not self.is_started:
            self.start()

    def _wake(self) -> None:
        with self._commands:
            self._commands.notify_all()

    # -- the loop (job thread) ---------------------------------------------------------------

    def _iterate(self) -> Iterator[Snapshot]:
        # The start (e.g. the comb competition) may use every core, at low priority;
        # the iterations then leave the GUI thread one.
        solver = self._make()
        _spare_one_core()
        yield self._snapshot(solver)
        last_emit = time.perf_counter()
        dirty = False
        while True:
            command = self._next_command(dirty)
            if command == "stop":
                break
            if command == "rest":
                yield self._snapshot(solver)
                dirty = False
                continue
            solver.step()
            dirty = True
            now = time.perf_counter()
            if command == "step" or now - last_emit >= self._interval:
                yield self._snapshot(solver)
                last_emit, dirty = now, False
        if dirty:
            yield self._snapshot(solver)

    def _next_command(self, dirty: bool) -> str:
        """Wait for work: ``'iterate'``, ``'step'``, ``'stop'``, or ``'rest'`` (snapshot first)."""
        with self._commands:
            while not self.abort_requested and self._steps == 0 and (
                self._paused or self._budget == 0
            ):
                if dirty:
                    return "rest"
                self._set_state("paused" if self._paused else "done")
                self._commands.wait()
            if self.abort_requested:
                return "stop"
            if self._steps:
                self._steps -= 1
                return "step"
            self._budget -= 1
            self._set_state("running")
            return "iterate"

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _snapshot(self, solver: nmf.Solver) -> Snapshot:
        gains = solver.channel_gains
        return Snapshot(solver.W.copy(), solver.H.copy(), self._history + tuple(solver.losses),
                        None if gains is None else gains.copy())
