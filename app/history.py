"""The edit history: one Qt undo stack for the window, with Undo and Redo actions.

Features push :class:`~PySide6.QtGui.QUndoCommand` s onto :attr:`EditHistory.stack`
(Qt's undo framework, not a hand-written history); the Edit menu shows what
Undo and Redo will do. Opening other audio or a session, or a new STFT, starts
a new history: the commands of the old one refer to cells that are gone.

Edits of components and sources are not wrapped where they are made: the
history watches the document. The signals one edit emits (a merge emits many)
are gathered until the event loop turns; then what changed since the last
edit (:meth:`Document.edit_state`) becomes one :class:`EditCommand`, named
from the change. The solver's snapshots change only the factors: they move
what the next edit starts from and are never commands, so undoing a gain
after a run keeps the run.
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import partial

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack

from .document import Document, EditState
from .jobs import coalesced

__all__ = ["EditCommand", "EditHistory", "describe"]

#: Signals of the user's edits of components and sources.
_EDITS = ("component_changed", "components_changed", "sources_changed", "locks_changed")
#: Signals of other changes, which move the starting point of the next edit.
_OTHERS = ("settings_changed", "factors_changed", "selection_changed", "paint_changed")
#: Fields of the factorization: part of an edit only if it rebuilt the components (or zeroed one).
_FACTORS = ("W", "H", "channel_gains", "losses", "kept_templates")
_GAIN_ID = 1  # commands of one component's gain merge: a slider drag is one step


class EditCommand(QUndoCommand):
    """An edit of the document: the fields it changed, before and after.

    Only those fields are put back (the rest stays as it is then), so undoing
    a gain keeps the factors a later run found. ``settings`` parts hold only
    the settings' fields the edit changed. The first :meth:`redo` (from
    ``QUndoStack.push``) does nothing: the edit was already made.
    """

    def __init__(self, history: EditHistory, text: str, before: dict, after: dict,
                 merge_key=None) -> None:
        super().__init__(text)
        self._history = history
        self.before, self.after = before, after
        self.merge_key = merge_key
        self._applied = True

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _GAIN_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if getattr(other, "merge_key", None) != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._history.apply(self.after)

    def undo(self) -> None:
        self._history.apply(self.before)


class EditHistory(QObject):
    """The window's undo stack and its actions; records the user's edits of the document.

    Parameters
    ----------
    document : Document
    control : SolverControl, optional
        Undoing or redoing an edit of the factors ends the run first, so none
        of its snapshots lands on the restored factors.

    Attributes
    ----------
    stack : QUndoStack
    undo_action, redo_action : QAction
        Ctrl+Z and Ctrl+Shift+Z (and the platform's Redo), their text naming the edit.
    """

    def __init__(self, document: Document, parent: QObject | None = None, *,
                 control=None) -> None:
        super().__init__(parent)
        self._document = document
        self._control = control
        self.stack = QUndoStack(self)
        self.undo_action = self._action("&Undo", self.undo, self.stack.canUndoChanged,
                                        self.stack.undoTextChanged, [QKeySequence.Undo])
        self.redo_action = self._action(
            "&Redo", self.redo, self.stack.canRedoChanged, self.stack.redoTextChanged,
            [QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo])
        self._baseline = document.edit_state()  # the document after the last edit
        self._signals: set[str] = set()  # what the document said since then
        self._applying = False
        self._flush_timer = coalesced(self, self.flush)
        for name in _EDITS + _OTHERS:
            getattr(document, name).connect(partial(self._on_signal, name))
        document.audio_changed.connect(self._start_over)

    def _action(self, prefix: str, slot, enabled_signal, text_signal, keys) -> QAction:
        """An action like ``QUndoStack.createUndoAction``'s, that records a pending edit first."""
        action = QAction(prefix, self)
        action.setShortcuts(keys)
        action.setEnabled(False)
        enabled_signal.connect(action.setEnabled)
        text_signal.connect(lambda text: action.setText(f"{prefix} {text}".strip()))
        action.triggered.connect(slot)
        return action

    def push(self, command) -> None:
        """Do ``command`` (its ``redo``) and keep it for Undo, after any edit not yet recorded."""
        self.flush()
        self.stack.push(command)

    def undo(self) -> None:
        """Undo the latest edit (recording one just made first)."""
        self.flush()
        self.stack.undo()

    def redo(self) -> None:
        """Redo the latest undone edit."""
        self.flush()
        self.stack.redo()

    # -- recording ---------------------------------------------------------------------------

    def _on_signal(self, name: str, *_) -> None:
        if not self._applying:
            self._signals.add(name)
            self._flush_timer.start()

    def _start_over(self) -> None:
        self.stack.clear()
        self._signals.clear()
        self._flush_timer.stop()
        self._baseline = self._document.edit_state()

    def flush(self) -> None:
        """Turn what changed since the last edit into a command (if it was an edit)."""
        self._flush_timer.stop()
        signals, self._signals = self._signals, set()
        before, after = self._baseline, self._document.edit_state()
        self._baseline = after
        command = self._command(signals, before, after) if signals else None
        if command is not None:
            self.stack.push(command)

    def _command(self, signals: set[str], before: EditState, after: EditState):
        changed = after.changed(before)
        settings = []  # the settings' fields an edit changed (a new k)
        if signals & set(_EDITS):
            parts = [f for f in ("components", "sources", "paint") if f in changed]
            if "components_changed" in signals:  # rebuilt: the factors and k go with them
                parts += [f for f in (*_FACTORS, "selected") if f in changed]
                settings = [f.name for f in fields(after.settings)
                            if getattr(before.settings, f.name) != getattr(after.settings, f.name)]
        elif "factors_changed" in signals and _factors_edited(before, after):
            parts = [f for f in _FACTORS if f in changed]
        else:
            return None
        if set(parts) & set(_FACTORS):  # a factorization is put back whole, never mixed
            parts = [f for f in parts if f not in _FACTORS] + list(_FACTORS)
        if not parts and not settings:
            return None
        text, key = describe(before, after)
        before_parts, after_parts = ({f: getattr(state, f) for f in parts}
                                     for state in (before, after))
        if settings:
            before_parts["settings"] = {f: getattr(before.settings, f) for f in settings}
            after_parts["settings"] = {f: getattr(after.settings, f) for f in settings}
        return EditCommand(self, text, before_parts, after_parts, key)

    def apply(self, parts: dict) -> None:
        """Put ``parts`` of a state back (for :class:`EditCommand`), without recording it."""
        document = self._document
        self._applying = True
        try:
            current = document.edit_state()
            if self._control is not None and parts.keys() & set(_FACTORS):
                # End the run (forgetting the factors, put back below): its late
                # snapshots must not land on the restored factors.
                self._control.reset()
            values = dict(parts)
            if "settings" in values:
                values["settings"] = replace(current.settings, **values["settings"])
            document.restore_edit_state(replace(current, **values))
        finally:
            self._applying = False
        self._signals.clear()
        self._flush_timer.stop()
        self._baseline = document.edit_state()


def _factors_edited(before: EditState, after: EditState) -> bool:
    """Whether the activations changed without an iteration (Zero), unlike a solver's snapshot."""
    return (before.W is not None and after.W is before.W and after.H is not before.H
            and after.losses == before.losses)


# -- naming an edit ------------------------------------------------------------------------


def _names(components) -> str:
    names = [c.name for c in components]
    if len(names) > 3:
        return f"{names[0]}, {names[1]} and {len(names) - 2} more"
    return ", ".join(names)


def describe(before: EditState, after: EditState) -> tuple[str, object]:
    """What the edit from ``before`` to ``after`` was, for the Edit menu, and its merge key.

    The merge key is not None only for a change of one component's gain.
    """
    old, new = before.components, after.components
    if len(old) != len(new):
        return _describe_rebuild(before, after), None
    if after.sources != before.sources and len(after.sources) == before.n_sources - 1:
        return _describe_merge(before, after), None  # merge_sources lists every other source
    if old == new:
        if after.H is not before.H:
            silent = [old[k] for k in range(len(old))
                      if not after.H[k].any() and before.H[k].any()]
            return (f"Zero {_names(silent)}" if silent else "Edit the activations"), None
        return _describe_sources(before, after), None
    edited = [k for k in range(len(new)) if new[k] != old[k]]
    kinds = {f.name for k in edited for f in fields(new[k])
             if getattr(new[k], f.name) != getattr(old[k], f.name)}
    names = _names(old[k] for k in edited)
    if kinds == {"source"}:
        targets = {new[k].source for k in edited}
        if len(targets) > 1:
            return "Group parts into sources", None
        return f"Move {names} to {after.source_state(targets.pop()).name}", None
    if len(kinds) > 1:
        return f"Edit {names}", None
    kind = kinds.pop()
    on = getattr(new[edited[0]], kind)
    if kind == "gain" and len(edited) == 1:
        return f"Gain of {names}", ("gain", edited[0])
    if kind == "name" and len(edited) == 1:
        return f"Rename {names} to {new[edited[0]].name}", None
    verbs = {"mute": ("Mute", "Unmute"), "solo": ("Solo", "Unsolo"),
             "locked": ("Lock", "Unlock")}
    if kind in verbs:
        return f"{verbs[kind][0 if on else 1]} {names}", None
    return f"{kind.capitalize()} of {names}", None


def _describe_rebuild(before: EditState, after: EditState) -> str:
    """A new number of components: split, learned templates, delete, or a new k."""
    old, new = before.components, after.components
    if len(new) == len(old) + 1:
        for k, c in enumerate(old):
            if [d.name for d in new[k : k + 2]] == [f"{c.name} a", f"{c.name} b"]:
                return f"Split {c.name}"
    names = {c.name for c in old}
    learned = [c for c in new if c.locked and c.name not in names]
    if learned:
        return f"Learn {after.source_state(learned[0].source).name}"
    remaining = iter(old)
    kept = all(any(c == o for o in remaining) for c in new)  # new is old with some left out
    if kept and after.W is not None and not after.losses:
        gone = list(old)
        for c in new:
            gone.remove(c)
        return f"Delete {_names(gone)}"
    return f"Components {len(old)} → {len(new)}"


def _describe_merge(before: EditState, after: EditState) -> str:
    n = after.n_sources
    removed = next((s for s in range(n) if before.source_state(s) != after.source_state(s)),
                   before.n_sources - 1)
    name = before.source_state(removed).name
    moved = [k for k, c in enumerate(before.components) if c.source == removed]
    if not moved:
        return f"Merge {name}"
    return f"Merge {name} into {after.source_state(after.components[moved[0]].source).name}"


def _describe_sources(before: EditState, after: EditState) -> str:
    if after.n_sources > before.n_sources:
        return f"New source {after.source_state(after.n_sources - 1).name}"
    edited = [s for s in range(after.n_sources)
              if before.source_state(s) != after.source_state(s)]
    if len(edited) != 1:
        return "Edit sources"
    old, new = before.source_state(edited[0]), after.source_state(edited[0])
    if old.name != new.name:
        return f"Rename source {old.name} to {new.name}"
    if old.mute != new.mute:
        return f"{'Mute' if new.mute else 'Unmute'} source {new.name}"
    if old.solo != new.solo:
        return f"{'Solo' if new.solo else 'Unsolo'} source {new.name}"
    return f"Edit source {new.name}"

