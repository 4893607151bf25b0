"""The steering controller: applies the user's edits of components to the session.

Edits that change the factors (split, delete, zero, learned templates) stop a
run first, replace factors and component states at once
(:meth:`Session.replace_components`), and leave Continue to iterate from the
edited state; locks reach the solver through the solver control.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from dsp import refine

from ..document import ComponentState, Document
from ..jobs import FunctionJob, Job, describe
from ..solver_control import SolverControl
from ..theme import component_colour

__all__ = ["SteeringController"]


class SteeringController(QObject):
    """Lock, split, zero, delete components; learn a source from an example.

    Signals
    -------
    busy_changed(str)
        A background edit started (its description) or ended (``''``).
    failed(str)
        An edit could not be done.
    learned(np.ndarray)
        Templates (bins × n) were learned from an example.
    """

    busy_changed = Signal(str)
    failed = Signal(str)
    learned = Signal(object)

    def __init__(self, document: Document, control: SolverControl, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self._control = control
        self._jobs: set[Job] = set()

    @property
    def busy(self) -> bool:
        """Whether a background edit is running."""
        return bool(self._jobs)

    def set_locked(self, index: int, locked: bool) -> None:
        """Lock or unlock a component's template."""
        self._document.set_locked(index, locked)

    def delete(self, indices) -> None:
        """Remove components (at least one must remain)."""
        document = self._document
        if document.W is None:
            return
        try:
            W, H = refine.delete_components(document.W, document.H, indices)  # noqa: N806
        except ValueError as exc:
            self.failed.emit(str(exc))
            return
        kept = [k for k in range(len(document.components)) if k not in set(indices)]
        gains = document.channel_gains
        self._apply(W, H, [document.components[k] for k in kept],
                    None if gains is None else gains[:, kept])

    def zero(self, index: int) -> None:
        """Silence a component: its activation goes to zero and stays there on Continue."""
        document = self._document
        if document.W is not None:
            self._control.stop()
            document.set_factors(document.W, refine.zero_component(document.H, index),
                                 document.losses, document.channel_gains)

    def split(self, index: int) -> None:
        """Replace a component by two refitted to its share (in the background)."""
        document = self._document
        if document.W is None:
            return
        V, W, H = document.magnitude, document.W, document.H  # noqa: N806
        loss, seed = document.settings.loss, document.settings.seed
        old = document.components[index]
        gains = document.channel_gains

        def done(factors):
            states = list(self._document.components)
            first = replace(old, name=f"{old.name} a", locked=False)
            second = replace(old, name=f"{old.name} b", locked=False,
                             colour=component_colour(len(states)))
            states[index : index + 1] = [first, second]
            # Both halves start where the component sat in the stereo image.
            halves = None if gains is None else np.insert(gains, index + 1, gains[:, index], 1)
            self._apply(*factors, states, halves)

        self._run(f"Splitting {old.name}…",
                  lambda: refine.split_component(V, W, H, index, loss=loss, seed=seed), done)

    def learn(self, example: np.ndarray, n_templates: int, n_free: int, *, name: str,
              silent_frames=None) -> None:
        """Learn ``n_templates`` from ``example`` (bins × frames), lock them, fit the rest.

        The mixture is refactored as the learned templates (locked, in a new
        source called ``name``) plus ``n_free`` free components; Continue then
        fits the rest of the mixture around them.
        """
        document = self._document
        V, loss, seed = document.magnitude, document.settings.loss, document.settings.seed

        def work():
            templates = refine.learn_templates(example, n_templates, loss=loss, seed=seed)
            return templates, *refine.semi_supervised_start(
                V, templates, n_free, silent_frames=silent_frames, loss=loss, seed=seed)

        def done(result):
            self.learned.emit(result[1][:, : result[0].shape[1]].copy())  # as locked
            self._use_templates(result[1], result[2], n_free, name)

        self._run(f"Learning {name}…", work, done)

    def use_templates(self, templates: np.ndarray, n_free: int, *, name: str) -> None:
        """Lock given templates (e.g. from the library) and fit the rest around them."""
        document = self._document
        V, loss, seed = document.magnitude, document.settings.loss, document.settings.seed
        self._run(f"Fitting around {name}…",
                  lambda: refine.semi_supervised_start(V, templates, n_free, loss=loss, seed=seed),
                  lambda result: self._use_templates(*result, n_free, name))

    def _use_templates(self, W, H, n_free: int, name: str) -> None:  # noqa: N803
        document = self._document
        n_learned = W.shape[1] - n_free
        source = 0
        states = [
            ComponentState(f"{name} {i + 1}", component_colour(i), source=source, locked=True)
            for i in range(n_learned)
        ] + [
            ComponentState(f"Part {i + 1}", component_colour(n_learned + i), source=1)
            for i in range(n_free)
        ]
        self._apply(W, H, states)
        document.rename_source(0, name)
        document.rename_source(1, "Rest")
        self._control.resume()

    def _apply(self, W, H, states, channel_gains=None) -> None:  # noqa: N803
        self._control.stop()
        self._document.replace_components(W, H, states, channel_gains=channel_gains)

    def _run(self, description: str, function, on_success) -> None:
        if self._document.magnitude is None:
            return
        self._control.stop()
        job = FunctionJob(function, low_priority=True, name="partwise-steering")
        job.returned.connect(on_success)
        job.errored.connect(lambda error: self.failed.emit(describe(error)))
        job.finished.connect(lambda: self._finish(job))
        self._jobs.add(job)
        self.busy_changed.emit(description)
        job.start()

    def _finish(self, job: Job) -> None:
        self._jobs.discard(job)
        if not self._jobs:
            self.busy_changed.emit("")
