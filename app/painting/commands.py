"""Paint edits as undo commands: a stroke, clearing the paint.

A stroke is applied to the document while the user drags (so the screen and
the solver follow it live); :class:`StrokeRecorder` keeps the cells' previous
values, in chunks of frames, the first time the stroke touches them, and
:meth:`StrokeRecorder.finish` turns what changed into a :class:`PaintCommand`
that Undo and Redo replay exactly.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from ..document import Document

__all__ = ["ClearPaintCommand", "PaintCommand", "StrokeRecorder"]

#: Frames per saved chunk: a stroke keeps (sources, bins, CHUNK) per chunk it touched.
CHUNK = 64


def _rows(document: Document) -> int:
    paint = document.paint
    return 0 if paint is None else len(paint)


def _block(document: Document, rows: int, frames: slice) -> np.ndarray:
    """Every source's paint on ``frames`` (zeros for rows not painted yet), (rows, bins, n)."""
    bins, count = document.paint_block(0, slice(None), frames).shape
    block = np.zeros((rows, bins, count), np.float32)
    for s in range(rows):
        block[s] = document.paint_block(s, slice(None), frames)
    return block


class PaintCommand(QUndoCommand):
    """Cells of the paint before and after an edit, chunk by chunk.

    The first :meth:`redo` (from ``QUndoStack.push``) does nothing: the edit
    was applied while it was made.
    """

    def __init__(self, document: Document, text: str,
                 chunks: list[tuple[slice, np.ndarray, np.ndarray]]) -> None:
        super().__init__(text)
        self._document = document
        self._chunks = chunks
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._apply(2)

    def undo(self) -> None:
        self._apply(1)

    def _apply(self, which: int) -> None:
        for chunk in self._chunks:
            frames, block = chunk[0], chunk[which]
            for source, values in enumerate(block):
                self._document.set_paint_block(source, slice(None), frames, values)


class StrokeRecorder:
    """What a stroke changed, kept while it is painted.

    Call :meth:`before_change` with the frames about to change, before each
    change; :meth:`finish` gives the command (None if nothing changed).
    """

    def __init__(self, document: Document) -> None:
        self._document = document
        self._before: dict[int, np.ndarray] = {}
        self._rows = _rows(document)

    def before_change(self, frames: slice) -> None:
        """Keep the previous values of every chunk of ``frames`` not kept yet."""
        start, stop, _ = frames.indices(self._document.magnitude.shape[1])
        for chunk in range(start // CHUNK, -(-stop // CHUNK)):
            if chunk not in self._before:
                self._before[chunk] = _block(self._document, self._rows, self._span(chunk))

    def _span(self, chunk: int) -> slice:
        return slice(chunk * CHUNK, min((chunk + 1) * CHUNK, self._document.magnitude.shape[1]))

    def finish(self, text: str) -> PaintCommand | None:
        """The command that undoes and redoes the stroke, or None if it changed nothing."""
        rows = _rows(self._document)
        chunks = []
        for chunk, before in sorted(self._before.items()):
            frames = self._span(chunk)
            after = _block(self._document, rows, frames)
            if len(before) < rows:  # rows the stroke created were zeros before it
                before = np.concatenate(
                    [before, np.zeros((rows - len(before), *before.shape[1:]), np.float32)])
            if not np.array_equal(before, after):
                chunks.append((frames, before, after))
        self._before.clear()
        return PaintCommand(self._document, text, chunks) if chunks else None


class ClearPaintCommand(QUndoCommand):
    """Clear every source's paint; Undo brings it back."""

    def __init__(self, document: Document) -> None:
        super().__init__("Clear paint")
        self._document = document
        paint = document.paint
        self._before = None if paint is None else np.array(paint)

    def redo(self) -> None:
        self._document.set_paint(None)

    def undo(self) -> None:
        self._document.set_paint(self._before)
