"""Transport for the solver: Run, Pause, Step, Continue, Stop, Reset over a Session.

One :class:`~app.worker.SolverJob` at a time. Snapshots of a job that was
replaced are dropped, so a restart never shows stale factors (the Qt mandelbrot
example's rule: restart with the new value, never queue stale runs).

Paint steers the solver (issue 17), always from the current factors, never
from scratch. With factors and paint on sources that have components, Run,
Continue and Step run :class:`~dsp.nmf.guided.GuidedSolver` continuing the
document's W, H and channel gains, with its component sources and locks; the
loss the run reports (and the loss plot shows) is then the guided objective G,
which is the KL divergence where nothing is painted. A fresh run (no factors
yet) starts blind, as the CLI's does, and paint steers it from the first
stroke during it, or from the next Continue or Step. A stroke, a component
moved to another source or a new strength reaches the running solver between
iterations (:meth:`SolverJob.steer`), coalesced: the job makes the weights in
its thread, and many strokes before it comes to them are one recomputation.
Paint steers KL multiplicative updates without penalties only: with other
settings a run goes unguided and the document's notice says the paint is not
used, once per run.
"""

from __future__ import annotations

from dataclasses import fields
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Signal

from dsp import nmf
from dsp.guide import Steering
from dsp.memory import refusal
from dsp.pipeline import Settings

from .document import Document
from .jobs import coalesced, describe
from .loader import MEMORY_HINT
from .worker import Snapshot, SolverJob

__all__ = ["SolverControl", "unsteerable"]


def unsteerable(settings: Settings) -> str | None:
    """What in ``settings`` paint cannot steer (it steers KL MU without penalties), or None."""
    reasons = []
    if settings.loss != "kl":
        reasons.append(f"the {settings.loss!r} loss")
    if settings.algorithm != "mu":
        reasons.append(f"the {settings.algorithm!r} algorithm")
    reasons += [name for name in ("sparsity", "smoothness") if getattr(settings, name)]
    return ", ".join(reasons) or None


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
    initialising(str, float)
        The current run's start: what it does and the fraction done.
    """

    state_changed = Signal(str)
    restart_offered = Signal(str)
    failed = Signal(str)
    initialising = Signal(str, float)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._job: SolverJob | None = None
        self._retired: list[SolverJob] = []
        self._stopped: SolverJob | None = None  # its last snapshot is still the result
        self._state = "idle"
        self._run_when_ready = False
        self._settings = document.settings
        # What the current job was last steered by (_steering_key), and whether it said
        # that its settings leave the paint unused.
        self._paint_version = 0
        self._steered_by = None
        self._said_unsteered = False
        self._said_steered = False  # the steered loss, said once a run
        # Strokes come many to a drag: every change in one pass of the event loop is one hand-over.
        self._steering_timer = coalesced(self, self._update_steering)
        document.audio_changed.connect(self._on_audio_changed)
        document.settings_changed.connect(self._on_settings_changed)
        document.locks_changed.connect(self._on_locks_changed)
        document.paint_changed.connect(self._on_paint_changed)
        for changed in (document.component_changed, document.components_changed,
                        document.sources_changed):
            changed.connect(self._schedule_steering)

    @property
    def state(self) -> str:
        """``'idle'``, ``'running'``, ``'paused'`` or ``'done'``."""
        return self._state

    @property
    def threads_alive(self) -> int:
        """Solver threads not yet ended (the current one and those stopping)."""
        jobs = [*self._retired, self._job] if self._job is not None else self._retired
        return sum(job.is_running for job in jobs)

    # -- transport ---------------------------------------------------------------------------

    def run(self) -> None:
        """Start a fresh factorization with the current parameters.

        With paint on factors, continue them steered by the paint instead:
        paint never starts from scratch (Reset, then Run, does).
        """
        if not self._document.spectrogram_is_current():
            self._run_when_ready = True
            return
        document = self._document
        audio = document.audio
        problem = audio is not None and refusal(audio.channels, audio.frames, document.settings,
                          hint=MEMORY_HINT,
                          held=audio.samples.nbytes + document.magnitude.nbytes)
        if problem:
            self.failed.emit(f"Cannot run: {problem}")
            return
        self._retire()
        if document.W is not None and document.has_paint():
            steering = self._paint_steering(document.settings)
            if steering is None and not unsteerable(document.settings):
                document.notice("The paint is on sources without components: it steers nothing "
                                "until parts are in those sources (Reset, then Run, starts over).")
            self._start(warm=True, steering=steering).run_iterations(document.settings.iterations)
            return
        if document.has_paint():
            document.notice("This first run factorizes the mixture; the paint steers the next "
                            "Run, Continue or Step, from these factors.")
        start = self._locked_start()
        self._document.clear_factors()
        self._start(warm=False, start=start).run_iterations(self._document.settings.iterations)

    def pause(self) -> None:
        """Pause a running factorization."""
        if self._job is not None and self._state == "running":
            self._job.pause()

    def resume(self) -> None:
        """Continue: resume a paused run, or run the iterations again from the current factors."""
        if self._job is not None and self._state == "paused":
            self._update_steering()
            self._job.resume()
        elif self._document.spectrogram_is_current():
            job = self._job or self._start(warm=True)
            self._update_steering()  # a fresh run's job has not had the paint yet
            job.run_iterations(self._document.settings.iterations)

    def step(self) -> None:
        """Do one iteration (pausing a run first)."""
        if self._document.spectrogram_is_current():
            job = self._job or self._start(warm=True)
            self._update_steering()
            job.step()

    def stop(self) -> None:
        """End the run and keep its factors, including the iteration in flight."""
        self._run_when_ready = False
        job = self._job
        self._retire()
        self._stopped = job

    def reset(self) -> None:
        """End any run and forget the factors."""
        self._run_when_ready = False
        self._retire()
        self._document.clear_factors()

    def shutdown(self) -> None:
        """End any run and start none (the window is closing; the job registry awaits it)."""
        self._run_when_ready = False
        self._retire()

    # -- internals ---------------------------------------------------------------------------

    def _start(self, *, warm: bool, start=None, steering: Steering | None = None) -> SolverJob:
        document = self._document
        settings = document.settings
        use_factors = warm and document.W is not None
        if start is not None:  # a fresh run around locked templates
            start_W, start_H = start  # noqa: N806
        else:
            start_W = document.W if use_factors else None  # noqa: N806
            start_H = document.H if use_factors else None  # noqa: N806
        spatial = settings.is_spatial(document.spectrogram.channels)
        gains = document.channel_gains if use_factors and spatial else None
        if steering is None and use_factors and start is None:
            steering = self._paint_steering(settings)
        job = SolverJob(
            partial(settings.solver_input, document.spectrogram) if spatial
            else document.magnitude,
            settings.n_components,
            {
                **settings.solver_options(document.magnitude, rate=document.audio.rate),
                **self._lock_options(start_H),
                **({} if gains is None else {"channel_gains": gains}),
            },
            W=start_W,
            H=start_H,
            losses=document.losses if use_factors else (),
            steering=steering,
        )
        job.yielded.connect(partial(self._on_snapshot, job))
        job.state_changed.connect(partial(self._on_job_state, job))
        job.initialising.connect(partial(self._on_initialising, job))
        job.errored.connect(partial(self._on_failed, job))
        job.finished.connect(partial(self._on_finished, job))
        self._job = job
        self._settings = settings
        self._steered_by = self._steering_key() if use_factors else None
        if steering is not None:
            self._say_steered()
        return job

    def _retire(self) -> None:
        """Stop the current job without waiting; its late snapshots are ignored."""
        job, self._job = self._job, None
        self._stopped = None
        self._said_unsteered = False
        self._said_steered = False
        if job is not None:
            job.stop()
            self._retired.append(job)
        self._set_state("idle")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _on_initialising(self, job: SolverJob, phase: str, done: float) -> None:
        if job is self._job:
            self.initialising.emit(phase, done)

    def _on_snapshot(self, job: SolverJob, snapshot: Snapshot) -> None:
        current = job is self._job
        stopped = job is self._stopped and self._document.settings == self._settings
        if current or stopped:
            self._document.set_factors(snapshot.W, snapshot.H, snapshot.losses,
                                       snapshot.channel_gains)

    def _on_job_state(self, job: SolverJob, state: str) -> None:
        if job is self._job:
            self._set_state(state)

    def _on_failed(self, job: SolverJob, error: Exception) -> None:
        if job is self._job:
            self._job = None
            self._set_state("idle")
            self.failed.emit(describe(error))

    def _on_finished(self, job: SolverJob) -> None:
        if job in self._retired:
            self._retired.remove(job)

    def _on_audio_changed(self) -> None:
        self._retire()
        if self._run_when_ready and self._document.spectrogram_is_current():
            self._run_when_ready = False
            self.run()

    def _on_settings_changed(self, settings) -> None:
        if self._job is None or settings == self._settings:
            return
        changed = [
            f.name
            for f in fields(settings)
            if getattr(settings, f.name) != getattr(self._settings, f.name)
        ]
        if changed == ["guide_strength"]:  # the paint's strength steers the run it is in
            self._settings = settings
            self._schedule_steering()
            return
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
        locked = self._document.locked_mask()
        if locked.any():
            options["lock_W"] = locked
        silent = np.asarray(H).max(axis=1) <= nmf.FLOOR
        if silent.any() and self._document.settings.algorithm in ("mu", "hals"):
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
        document = self._document
        kept = document.locked_templates()
        if kept is None:
            return None
        locked, templates = kept
        V = document.magnitude  # noqa: N806
        W = np.zeros((V.shape[0], locked.size), np.float32)  # noqa: N806
        W[:, locked] = templates
        first = nmf.start(V, document.settings.n_components, init="random",
                          seed=document.settings.seed, W=W, keep=locked)
        return first.W, first.H

    def _on_locks_changed(self) -> None:
        """Locks take effect on the next run: a paused or finished solver is replaced."""
        if self._job is None:
            return
        was_running = self._state == "running"
        self.stop()
        self._stopped = None  # a late snapshot of the old locks must not win
        if was_running:
            self.resume()

    # -- paint (issue 17) ---------------------------------------------------------------------

    def _paint_steering(self, settings: Settings) -> Steering | None:
        """The document's steering for a run with ``settings``, or None.

        None without paint on sources that have components, and when the
        settings are ones paint cannot steer: then the document's notice says
        the paint is not used (once per run).
        """
        reason = unsteerable(settings)
        if reason is None:
            return self._document.steering()
        if not self._said_unsteered and self._document.has_paint():
            self._said_unsteered = True
            self._document.notice(
                f"The paint is not used: it steers KL multiplicative updates without "
                f"sparsity or smoothness, and this run has {reason}."
            )
        return None

    def _steering_key(self):
        """What the document's steering is made of: paint (by version), strength, sources."""
        document = self._document
        if document.W is None or document.paint is None:
            return None
        return (self._paint_version, document.settings.guide_strength,
                tuple(c.source for c in document.components))

    def _on_paint_changed(self, *_) -> None:
        self._paint_version += 1
        self._schedule_steering()

    def _schedule_steering(self, *_) -> None:
        if self._job is not None and not self._steering_timer.isActive():
            self._steering_timer.start()

    def _update_steering(self) -> None:
        """Hand the current job the document's steering, if it changed since the job's last.

        The GUI thread only makes the :class:`Steering` (the paint and the
        components' sources); the job makes its weights in its own thread.
        """
        key = self._steering_key()
        if self._job is None or key == self._steered_by:
            return
        self._steered_by = key
        steering = self._paint_steering(self._settings)
        if steering is not None or unsteerable(self._settings) is None:
            self._job.steer(steering)
        if steering is not None:
            self._say_steered()

    def _say_steered(self) -> None:
        """Once a run: the loss shown is now the steered objective, which jumps with the paint."""
        if not self._said_steered:
            self._said_steered = True
            self._document.notice(
                "Paint steers this run: the loss is now the paint-steered objective (KL where "
                "nothing is painted), and it jumps when the paint changes.")
