"""The edit history: one Qt undo stack for the window, with Undo and Redo actions.

Features push :class:`~PySide6.QtGui.QUndoCommand` s onto :attr:`EditHistory.stack`
(Qt's undo framework, not a hand-written history); the Edit menu shows what
Undo and Redo will do. Opening other audio or a session, or a new STFT, starts
a new history: the commands of the old one refer to cells that are gone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence, QUndoStack

from .document import Document

__all__ = ["EditHistory"]


class EditHistory(QObject):
    """The window's undo stack and its actions.

    Attributes
    ----------
    stack : QUndoStack
    undo_action, redo_action : QAction
        Ctrl+Z and Ctrl+Shift+Z (and the platform's Redo), their text naming the edit.
    """

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.undo_action = self.stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = self.stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo])
        document.audio_changed.connect(lambda: self.stack.clear())

    def push(self, command) -> None:
        """Do ``command`` (its ``redo``) and keep it for Undo."""
        self.stack.push(command)
