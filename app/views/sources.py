"""The sources list: one row per source (name, solo, mute, parts); components drop onto it."""

from __future__ import annotations

import json

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
)

from ..document import Document

__all__ = ["COMPONENTS_MIME", "SourcesTable", "components_from_mime"]

#: MIME type of dragged components: a JSON list of component indices.
COMPONENTS_MIME = "application/x-partwise-components"
_NAME, _SOLO, _MUTE, _PARTS = range(4)


def components_from_mime(mime) -> list[int]:
    """Component indices carried by a drag, or [] if it carries none."""
    if mime is None or not mime.hasFormat(COMPONENTS_MIME):
        return []
    try:
        return [int(k) for k in json.loads(bytes(mime.data(COMPONENTS_MIME)).decode())]
    except (ValueError, TypeError):
        return []


class SourcesTable(QTableWidget):
    """Sources of the session; drop components on a row to move them into that source.

    Double-click a name to rename; the context menu merges a source into another.
    """

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(0, 4, parent)
        self._document = document
        self.setHorizontalHeaderLabels(("Source", "S", "M", "Parts"))
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self.setDropIndicatorShown(True)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setToolTip("Drag components here to group them; double-click a name to rename")
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        metrics = self.fontMetrics()
        header.setMinimumSectionSize(12)
        for column, text in ((_SOLO, "M"), (_MUTE, "M"), (_PARTS, "Parts")):
            header.setSectionResizeMode(column, QHeaderView.Fixed)
            self.setColumnWidth(column, metrics.horizontalAdvance(text) + 16)
        header.setSectionResizeMode(_NAME, QHeaderView.Stretch)
        for column, tip in ((_SOLO, "Solo the source"), (_MUTE, "Mute the source"),
                            (_PARTS, "Number of components in the source")):
            self.horizontalHeaderItem(column).setToolTip(tip)
        self.verticalHeader().setDefaultSectionSize(max(self.fontMetrics().height() + 10, 24))
        self.itemChanged.connect(self._on_item_changed)
        self.customContextMenuRequested.connect(self._show_menu)
        document.sources_changed.connect(self.rebuild)
        document.components_changed.connect(self.rebuild)
        document.component_changed.connect(lambda _: self.rebuild())
        self.rebuild()

    def rebuild(self) -> None:
        """Show every source with its state and number of components."""
        document = self._document
        n = document.n_sources
        with QSignalBlocker(self):
            self.setRowCount(n)
            for s in range(n):
                state = document.source_state(s)
                self.setItem(s, _NAME, QTableWidgetItem(state.name))
                parts = QTableWidgetItem(str(len(document.source_members(s))))
                parts.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                parts.setTextAlignment(Qt.AlignCenter)
                self.setItem(s, _PARTS, parts)
                for column, text, on, setter, colour, verb in (
                    (_SOLO, "S", state.solo, document.set_source_solo, "#e0c341", "Solo"),
                    (_MUTE, "M", state.mute, document.set_source_mute, "#e15759", "Mute"),
                ):
                    button = self.cellWidget(s, column)
                    if button is None:
                        button = QToolButton()
                        button.setText(text)
                        button.setCheckable(True)
                        button.setAutoRaise(True)
                        button.setStyleSheet(
                            f"QToolButton:checked {{ background: {colour}; color: #111; }}")
                        button.toggled.connect(lambda v, s=s, f=setter: f(s, v))
                        self.setCellWidget(s, column, button)
                    button.setToolTip(f"{verb} {state.name}")
                    with QSignalBlocker(button):
                        button.setChecked(on)

    def height_for_rows(self, rows: int) -> int:
        """Height that shows the header and ``rows`` sources."""
        return (self.horizontalHeader().sizeHint().height()
                + rows * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth())

    def source_at(self, pos) -> int:
        """Source under a viewport position, or -1."""
        index = self.indexAt(pos)
        return index.row() if index.isValid() else -1

    # -- drops -------------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accept dragged components."""
        if components_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accept only over a source row."""
        on_row = self.source_at(event.position().toPoint()) >= 0
        if components_from_mime(event.mimeData()) and on_row:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Move the dropped components into the source under the cursor."""
        members = components_from_mime(event.mimeData())
        source = self.source_at(event.position().toPoint())
        if not members or source < 0:
            event.ignore()
            return
        for k in members:
            if 0 <= k < len(self._document.components):
                self._document.set_source(k, source)
        event.setDropAction(Qt.MoveAction)
        event.accept()

    # -- editing -----------------------------------------------------------------------------

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == _NAME:
            if item.text().strip():
                self._document.rename_source(item.row(), item.text())
            else:
                self.rebuild()

    def _show_menu(self, pos) -> None:
        source = self.source_at(pos)
        menu = QMenu(self)
        menu.addAction("New source", self._document.add_source)
        if source >= 0:
            merge = menu.addMenu("Merge into")
            for other in range(self._document.n_sources):
                if other != source:
                    name = self._document.source_state(other).name
                    merge.addAction(name, lambda o=other: self._document.merge_sources(o, source))
            merge.setEnabled(self._document.n_sources > 1)
        menu.popup(self.viewport().mapToGlobal(pos))
        self.context_menu = menu
