"""The solver transport as QActions (toolbar, menu, shortcuts), enabled by the solver's state."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from .document import Document
from .solver_control import SolverControl
from .theme import icon

__all__ = ["SolverActions"]


class SolverActions(QObject):
    """Run, Pause, Step, Continue, Stop and Reset, each wired to :class:`SolverControl`."""

    def __init__(self, control: SolverControl, document: Document, parent: QWidget) -> None:
        super().__init__(parent)
        self._control = control
        self._document = document

        def action(text, icon_name, shortcut, tip, slot) -> QAction:
            act = QAction(icon(icon_name), text, parent)
            act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
            act.triggered.connect(slot)
            return act

        self.run = action("Run", "run", "Ctrl+R",
                          "Factorise from a fresh start with the current parameters (with "
                          "paint, continue the current factors steered by it)", control.run)
        self.pause = action("Pause", "pause", "F6",
                            "Pause after the current iteration", control.pause)
        self.step = action("Step", "step", "F10",
                           "Do exactly one iteration", control.step)
        self.resume = action("Continue", "continue", "F5",
                             "Continue the paused run, or run more iterations from the "
                             "current factors", control.resume)
        self.stop = action("Stop", "stop", "Shift+F5",
                           "End the run and keep its result", control.stop)
        self.reset = action("Reset", "reset", "Ctrl+Shift+R",
                            "End the run and discard the factors", control.reset)
        self.all = (self.run, self.pause, self.step, self.resume, self.stop, self.reset)
        control.state_changed.connect(lambda _: self.update_enabled())
        document.audio_changed.connect(self.update_enabled)
        document.factors_changed.connect(self.update_enabled)
        self.update_enabled()

    def update_enabled(self) -> None:
        """Enable what makes sense in the current state."""
        state = self._control.state
        has_audio = self._document.magnitude is not None
        has_factors = self._document.W is not None
        self.run.setEnabled(has_audio)
        self.pause.setEnabled(state == "running")
        self.step.setEnabled(has_audio)
        self.resume.setEnabled(has_audio and (state in ("paused", "done") or has_factors)
                               and state != "running")
        self.stop.setEnabled(state != "idle")
        self.reset.setEnabled(has_factors or state != "idle")
