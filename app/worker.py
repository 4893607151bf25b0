"""The stepped NMF solver as a generator job of the job layer (:mod:`app.jobs`).

Nothing here touches a widget. Snapshots cross threads as immutable copies
through the job's coalesced ``yielded`` signal; commands cross the other way
through a condition variable the solver loop checks between iterations. Paint
crosses the same way: :meth:`SolverJob.steer` hands over a
:class:`~dsp.guide.Steering`, and the loop makes its weights — a
(sources, bins, frames) array, tens of megabytes a source on a long file — in
the job's thread.
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
from dsp.guide import Steering

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
    steering : Steering, optional
        Paint to steer a warm start by: the solver is then
        :class:`~dsp.nmf.guided.GuidedSolver` (``options`` must be KL MU
        without penalties) continuing W and H. See :meth:`steer`.

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
        steering: Steering | None = None,
        max_rate: float = MAX_SNAPSHOT_RATE,
    ) -> None:
        super().__init__(self._iterate, coalesce=True, low_priority=True, name="partwise-solver")
        # The snapshot taken before coming to rest arrives before the state says so.
        self.state_changed.connect(self._deliver)
        resumed = W is not None and H is not None
        phase = "Continuing" if resumed else _START_PHASES.get(
            options.get("init", "nndsvda"), "Initialising")
        self._input = V
        self._n_components = n_components
        self._options = {**options, "W": W, "H": H, "warm_start": resumed,
                         "progress": lambda done: self.initialising.emit(phase, done)}
        self._history = tuple(losses)
        self._interval = 1.0 / max_rate
        self._commands = threading.Condition()
        self._budget = 0  # iterations left in the current run
        self._steps = 0  # single steps requested while paused
        self._paused = False
        self._state: str | None = None
        # Paint handed over by steer(), waiting for the loop (guarded by _commands).
        self._steering = steering
        self._steering_due = steering is not None

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

    def steer(self, steering: Steering | None) -> None:
        """Steer the run by ``steering`` (None: no paint) from its next iteration on.

        Only the newest steering handed over before the loop comes to it
        counts (a burst of strokes is one recomputation). The loop makes the
        weights in the job's thread and gives them to the running
        :class:`~dsp.nmf.guided.GuidedSolver` (:meth:`~dsp.nmf.guided.GuidedSolver.steer`);
        an unguided KL MU run becomes a guided one continuing its factors,
        channel gains and locks, its loss history carried on. For KL MU runs
        without penalties only. The steering's paint may be the document's
        live array: a stroke that lands while the weights are made hands over
        a newer steering, which the next iteration takes.
        """
        with self._commands:
            self._steering = steering
            self._steering_due = True

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
        V = self._input() if callable(self._input) else self._input  # noqa: N806
        solver = self._first_solver(V)
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
            solver = self._steered(solver, V)
            solver.step()
            dirty = True
            now = time.perf_counter()
            if command == "step" or now - last_emit >= self._interval:
                yield self._snapshot(solver)
                last_emit, dirty = now, False
        if dirty:
            yield self._snapshot(solver)

    def _first_solver(self, V: np.ndarray) -> nmf.Solver:  # noqa: N803
        options = self._options
        if options["W"] is not None and options["H"] is not None:  # paint steers only a warm start
            due, steering = self._take_steering()
            if due and steering is not None:
                options = {**options, **self._guide_options(steering)}
        return nmf.make_solver(V, self._n_components, **options)

    def _steered(self, solver: nmf.Solver, V: np.ndarray) -> nmf.Solver:  # noqa: N803
        """``solver``, or the guided solver continuing it, steered by any steering handed over."""
        due, steering = self._take_steering()
        if not due or (steering is None and not isinstance(solver, nmf.GuidedSolver)):
            return solver
        guide = {"source_weights": None, "component_sources": None}
        if steering is not None:
            guide = self._guide_options(steering)
        if isinstance(solver, nmf.GuidedSolver):
            solver.steer(guide["source_weights"], guide["component_sources"])
            return solver
        self._history += tuple(solver.losses)
        # The run's own options go along, so make_solver refuses what paint cannot steer.
        kept = {key: self._options[key] for key in ("loss", "algorithm", "sparsity", "smoothness",
                                                     "layers") if key in self._options}
        return nmf.make_solver(
            V, self._n_components, W=solver.W, H=solver.H, channel_gains=solver.channel_gains,
            lock_W=solver.locked_W, lock_H=solver.locked_H, **kept, **guide,
        )

    def _take_steering(self) -> tuple[bool, Steering | None]:
        """(whether a steering was handed over since the last call, that steering)."""
        with self._commands:
            due, self._steering_due = self._steering_due, False
            return due, self._steering

    @staticmethod
    def _guide_options(steering: Steering) -> dict:
        """make_solver's options of a steering; its weights are made here, in the job's thread."""
        return {"source_weights": steering.cell_weights(), "component_sources": steering.sources}

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
