"""Transport for the solver: Run, Pause, Step, Continue, Stop, Reset over a Session.

One :class:`~app.worker.SolverWorker` at a time. Snapshots of a worker that was
replaced are dropped, so a restart never shows stale factors (the Qt mandelbrot
example's rule: restart with the new value, never queue stale runs).
"""

from __future__ import annotations

from dataclasses import fields
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Signal

from dsp import nmf

from .session import Session
from .worker import Snapshot, SolverWorker

__all__ = ["SolverControl"]


class SolverControl(QObject):
    """Starts, steers and ends solver runs and writes their snapshots into the session.

    Signals
    -------
    state_changed(str)
        ``'idle'`` (no run, or stopped), ``'running'``, ``'paused'`` or ``'done'``.
    restart_offered(str)
        A parameter changed during a run, which was stopped; the text says which.
    failed(str)
        A run could not start or broke off.
    """

    state_changed = Signal(str)
    restart_offered = Signal(str)
    failed = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._worker: SolverWorker | None = None
        self._retired: list[SolverWorker] = []
        self._stopped: SolverWorker | None = None  # its last snapshot is still the result
        self._state = "idle"
        self._run_when_ready = False
        self._settings = session.settings
        session.audio_changed.connect(self._on_audio_changed)
        session.settings_changed.connect(self._on_settings_changed)
        session.locks_changed.connect(self._on_locks_changed)

    @property
    def state(self) -> str:
        """``'idle'``, ``'running'``, ``'paused'`` or ``'done'``."""
        return self._state

    @property
    def threads_alive(self) -> int:
        """Solver threads not yet finished (the current one and those stopping)."""
        return len(self._retired) + (self._worker is not None)

    # -- transport ---------------------------------------------------------------------------

    def run(self) -> None:
        """Start a fresh factorization with the current parameters."""
        if not self._session.spectrogram_is_current():
            self._run_when_ready = True
            return
        self._retire()
        start = self._locked_start()
        self._session.clear_factors()
        self._start(warm=False, start=start).run_iterations(self._session.settings.iterations)

    def pause(self) -> None:
        """Pause a running factorization."""
        if self._worker is not None and self._state == "running":
            self._worker.pause()

    def resume(self) -> None:
        """Continue: resume a paused run, or run the iterations again from the current factors."""
        if self._worker is not None and self._state == "paused":
            self._worker.resume()
        elif self._session.spectrogram_is_current():
            worker = self._worker or self._start(warm=True)
            worker.run_iterations(self._session.settings.iterations)

    def step(self) -> None:
        """Do one iteration (pausing a run first)."""
        if self._session.spectrogram_is_current():
            (self._worker or self._start(warm=True)).step()

    def stop(self) -> None:
        """End the run and keep its factors, including the iteration in flight."""
        self._run_when_ready = False
        worker = self._worker
        self._retire()
        self._stopped = worker

    def reset(self) -> None:
        """End any run and forget the factors."""
        self._run_when_ready = False
        self._retire()
        self._session.clear_factors()

    def shutdown(self) -> None:
        """Stop every thread and wait for it: the window is closing."""
        self._run_when_ready = False
        self._retire()
        for worker in self._retired:
            worker.wait()
        self._retired.clear()

    # -- internals ---------------------------------------------------------------------------

    def _start(self, *, warm: bool, start=None) -> SolverWorker:
        session = self._session
        settings = session.settings
        use_factors = warm and session.W is not None
        if start is not None:  # a fresh run around locked templates
            start_W, start_H = start  # noqa: N806
        else:
            start_W = session.W if use_factors else None  # noqa: N806
            start_H = session.H if use_factors else None  # noqa: N806
        worker = SolverWorker(
            session.magnitude,
            settings.n_components,
            {
                **settings.solver_options(session.magnitude, rate=session.audio.rate),
                **self._lock_options(start_H),
            },
            W=start_W,
            H=start_H,
            losses=session.losses if use_factors else (),
        )
        worker.snapshot_taken.connect(partial(self._on_snapshot, worker))
        worker.state_changed.connect(partial(self._on_worker_state, worker))
        worker.failed.connect(partial(self._on_failed, worker))
        worker.finished.connect(partial(self._on_finished, worker))
        self._worker = worker
        self._settings = settings
        return worker

    def _retire(self) -> None:
        """Stop the current worker without waiting; its late snapshots are ignored."""
        worker, self._worker = self._worker, None
        self._stopped = None
        if worker is not None:
            worker.stop()
            self._retired.append(worker)
        self._set_state("idle")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _on_snapshot(self, worker: SolverWorker, snapshot: Snapshot) -> None:
        current = worker is self._worker
        stopped = worker is self._stopped and self._session.settings == self._settings
        if current or stopped:
            self._session.set_factors(snapshot.W, snapshot.H, snapshot.losses)

    def _on_worker_state(self, worker: SolverWorker, state: str) -> None:
        if worker is self._worker:
            self._set_state(state)

    def _on_failed(self, worker: SolverWorker, message: str) -> None:
        if worker is self._worker:
            self._worker = None
            self._set_state("idle")
            self.failed.emit(message)

    def _on_finished(self, worker: SolverWorker) -> None:
        if worker in self._retired:
            self._retired.remove(worker)
        worker.deleteLater()

    def _on_audio_changed(self) -> None:
        self._retire()
        if self._run_when_ready and self._session.spectrogram_is_current():
            self._run_when_ready = False
            self.run()

    def _on_settings_changed(self, settings) -> None:
        if self._worker is None or settings == self._settings:
            return
        changed = [
            f.name
            for f in fields(settings)
            if getattr(settings, f.name) != getattr(self._settings, f.name)
        ]
        was_running = self._state == "running"
        self.stop()
        if was_running:
            self.restart_offered.emit(", ".join(changed))

    # -- locked templates (steering, issue 7) ------------------------------------------------

    def _lock_options(self, H) -> dict:  # noqa: N803
        """``lock_W`` for the locked components and ``lock_H`` for silenced ones.

        Only with starting factors: a lock on an initialisation would freeze
        noise. A component whose activation is all at the floor was zeroed by
        the user; locking its row keeps it silent instead of letting the
        multiplicative updates grow it back.
        """
        if H is None:
            return {}
        options = {}
        locked = self._session.locked_mask()
        if locked.any():
            options["lock_W"] = locked
        silent = np.asarray(H).max(axis=1) <= nmf.FLOOR
        if silent.any() and self._session.settings.algorithm in ("mu", "hals"):
            options["lock_H"] = silent
        return options

    def _locked_start(self):
        """Starting factors for a fresh run that keeps the locked templates, or None.

        Locked columns come from the current factors (or those kept through a
        change of k, :meth:`Session.locked_templates`); the other templates and
        all activations start from seeded random values at the scale of the
        data (``nmf.start``'s ``keep``; cheap enough for the GUI thread, unlike
        an SVD-based start).
        """
        session = self._session
        kept = session.locked_templates()
        if kept is None:
            return None
        locked, templates = kept
        V = session.magnitude  # noqa: N806
        W = np.zeros((V.shape[0], locked.size), np.float32)  # noqa: N806
        W[:, locked] = templates
        first = nmf.start(V, session.settings.n_components, init="random",
                          seed=session.settings.seed, W=W, keep=locked)
        return first.W, first.H

    def _on_locks_changed(self) -> None:
        """Locks take effect on the next run: a paused or finished solver is replaced."""
        if self._worker is None:
            return
        was_running = self._state == "running"
        self.stop()
        self._stopped = None  # a late snapshot of the old locks must not win
        if was_running:
            self.resume()
