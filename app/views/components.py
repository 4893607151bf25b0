"""The components panel: the sources list above one row per component.

Each component row shows colour, editable name, solo, mute, gain, source,
lock, and the labels that help grouping (estimated pitch, percussiveness).
Rows drag onto the sources list; the context menu moves, locks, splits,
zeroes or deletes components (edits go through the steering controller
once :meth:`ComponentsView.set_steering` installed one).
"""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QMimeData, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dsp.grouping import group_components
from dsp.guide import order_groups
from dsp.labels import component_labels

from ..document import Document
from ..jobs import FunctionJob, Latest, coalesced
from ..widgets import spin_box
from .sources import COMPONENTS_MIME, SourcesTable

__all__ = ["ComponentsView", "COLUMNS"]

COLUMNS = ("", "Name", "S", "M", "Gain", "Source", "L", "Pitch", "Perc.")
_COLOUR, _NAME, _SOLO, _MUTE, _GAIN, _SOURCE, _LOCK, _PITCH, _PERC = range(len(COLUMNS))
_TIPS = {
    _NAME: "Component name (double-click to rename)",
    _SOLO: "Solo: only soloed components sound (solo wins over mute)",
    _MUTE: "Mute: silence this component",
    _GAIN: "Linear gain of the component in the mix (scroll or type)",
    _SOURCE: "Source the component belongs to (or drag the row onto a source)",
    _LOCK: "Lock: the template stays fixed on the next runs",
    _PITCH: "Estimated pitch from the harmonic peaks of the template",
    _PERC: "Percussiveness: broadband template and sharp activation (0–100)",
}
# Each fixed column is as wide as its widest usual text (plus room for a combo's arrow), so
# the whole table fits a ~420-px dock and the name column takes what is left.
_SAMPLES = {_COLOUR: ("", 12), _SOLO: ("M", 16), _MUTE: ("M", 16), _GAIN: ("0.00", 12),
            _SOURCE: ("Source 10", 34), _LOCK: ("M", 16), _PITCH: ("392 Hz G♯4", 12),
            _PERC: ("Perc.", 12)}
_NAME_SAMPLE = "Part 12 a"  # readable before the table scrolls sideways
_LABEL_DELAY_MS = 250  # labels follow the factors, but not at the solver's snapshot rate


class _ComponentsTable(QTableWidget):
    """The component rows; a drag carries the selected component indices."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        """Only our own type: components dropped elsewhere mean nothing."""
        return [COMPONENTS_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt override
        """The rows of the dragged items as a JSON list of component indices."""
        rows = sorted({item.row() for item in items})
        return self.components_mime(rows)

    @staticmethod
    def components_mime(rows) -> QMimeData:
        """MIME data carrying component indices ``rows``."""
        mime = QMimeData()
        mime.setData(COMPONENTS_MIME, json.dumps([int(r) for r in rows]).encode())
        return mime


class ComponentsView(QWidget):
    """Sources list and component table; edits go to the session, its changes come back.

    Selecting a row selects the component (the spectrogram's "Selected
    component" mode shows its share). "Auto-group" assigns components to the
    chosen number of sources (``dsp.grouping`` with the audio's rate). Labels
    and grouping are computed in jobs, the newest request winning.

    Signals
    -------
    labels_updated
        The pitch and percussiveness columns show the labels of the factors.
    grouped
        An automatic grouping was applied to the session.
    """

    labels_updated = Signal()
    grouped = Signal()

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self._steering = None
        self.sources = SourcesTable(document)
        self.table = _ComponentsTable(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
        )
        self.table.setDragEnabled(True)
        self.table.setDragDropMode(QAbstractItemView.DragOnly)
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self._size_columns()
        for column, tip in _TIPS.items():
            self.table.horizontalHeaderItem(column).setToolTip(tip)

        self.sources_box = spin_box(QSpinBox, 1, 64, 3)
        self.sources_box.setPrefix("into ")
        self.sources_box.setSuffix(" sources")
        self.sources_box.setToolTip("Number of sources for automatic grouping")
        self.group_button = QPushButton("Auto-group")
        self.group_button.setToolTip(
            "Assign components to sources by the timbre of their templates"
        )
        self.new_source_button = QPushButton("New source")
        self.new_source_button.setToolTip("Add an empty source to drag components onto")
        bottom = QHBoxLayout()
        bottom.addWidget(self.group_button)
        bottom.addWidget(self.sources_box)
        bottom.addStretch(1)
        bottom.addWidget(self.new_source_button)
        # The sources list is short (a few rows) and grows only if the user drags the handle.
        self.splitter = splitter = QSplitter(Qt.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.sources)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([self.sources.height_for_rows(3), 10 * self.sources.height_for_rows(3)])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(splitter)
        layout.addLayout(bottom)

        self._label_timer = coalesced(self, self.update_labels, _LABEL_DELAY_MS)
        # A superseded labelling is still shown: it is newer than the table.
        self._labels = Latest(self, drop_superseded=False)
        self._labels.returned.connect(self._show_labels)
        self._grouping = Latest(self)
        self._grouping.returned.connect(self._on_grouped)
        self._group_size = 0  # components when the newest grouping was asked for

        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.group_button.clicked.connect(self._group)
        self.new_source_button.clicked.connect(lambda: document.add_source())
        document.components_changed.connect(self._rebuild)
        document.component_changed.connect(self._update_row)
        document.selection_changed.connect(self._show_selection)
        document.factors_changed.connect(self._update_group_button)
        document.settings_changed.connect(self._on_settings_changed)
        document.factors_changed.connect(self._schedule_labels)
        document.sources_changed.connect(self._update_source_choices)
        self._rebuild()

    @property
    def labelling(self) -> bool:
        """Whether new labels are on their way (the factors settling, or a job computing)."""
        return self._label_timer.isActive() or self._labels.busy

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        header.setMinimumSectionSize(12)
        header.setHighlightSections(False)
        for column, (text, padding) in _SAMPLES.items():
            header.setSectionResizeMode(column, QHeaderView.Fixed)
            self.table.setColumnWidth(column, metrics.horizontalAdvance(text) + padding)
        header.setSectionResizeMode(_NAME, QHeaderView.Stretch)
        row = max(metrics.height() + 10, 24)
        self.table.verticalHeader().setDefaultSectionSize(row)
        self.table.verticalHeader().setMinimumSectionSize(row)
        self._name_width = metrics.horizontalAdvance(_NAME_SAMPLE) + 12

    def preferred_width(self) -> int:
        """Width that shows every column (and a vertical scroll bar) without scrolling sideways."""
        table = self.table
        columns = sum(table.columnWidth(c) for c in range(len(COLUMNS)) if c != _NAME)
        scroll_bar = table.style().pixelMetric(QStyle.PM_ScrollBarExtent)
        margins = self.layout().contentsMargins()
        return (columns + self._name_width + scroll_bar + 2 * table.frameWidth()
                + margins.left() + margins.right())

    def set_steering(self, steering) -> None:
        """Enable the edits (lock, split, zero, delete) through a SteeringController."""
        self._steering = steering

    # -- rows --------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        components = self._document.components
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(components))
            for k in range(len(components)):
                swatch = QTableWidgetItem()
                swatch.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self.table.setItem(k, _COLOUR, swatch)
                self.table.setItem(k, _NAME, QTableWidgetItem())
                for column in (_PITCH, _PERC):
                    label = QTableWidgetItem("—")
                    label.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                    self.table.setItem(k, column, label)
                for column, name, colour, setter in (
                    (_SOLO, "solo", "#e0c341", self._document.set_solo),
                    (_MUTE, "mute", "#e15759", self._document.set_mute),
                    (_LOCK, "lock", "#9ab0c9", self._document.set_locked),
                ):
                    self.table.setCellWidget(k, column, self._toggle(column, name, colour,
                                                                     k, setter))
                gain = spin_box(QDoubleSpinBox, 0.0, 4.0, 1.0, step=0.1)
                gain.setButtonSymbols(QAbstractSpinBox.NoButtons)  # the column stays narrow
                gain.setAlignment(Qt.AlignRight)
                gain.setFrame(False)
                gain.setToolTip(_TIPS[_GAIN])
                gain.valueChanged.connect(lambda v, k=k: self._document.set_gain(k, v))
                self.table.setCellWidget(k, _GAIN, gain)
                source = QComboBox()
                source.setToolTip(_TIPS[_SOURCE])
                source.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
                source.setMinimumContentsLength(4)
                source.activated.connect(lambda i, k=k: self._choose_source(k, i))
                self.table.setCellWidget(k, _SOURCE, source)
        self._update_source_choices()
        self.sources_box.setMaximum(max(1, len(components)))
        self._update_group_button()
        self.update_labels()

    @staticmethod
    def _toggle(column: int, name: str, colour: str, k: int, setter) -> QToolButton:
        button = QToolButton()
        button.setText(COLUMNS[column])
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setObjectName(name)
        button.setToolTip(_TIPS[column])
        button.setStyleSheet(f"QToolButton:checked {{ background: {colour}; color: #111; }}")
        button.toggled.connect(lambda on: setter(k, on))
        return button

    def _update_source_choices(self) -> None:
        """Every row's source menu lists the sources by name, then "New source…"."""
        names = [self._document.source_state(s).name for s in range(self._document.n_sources)]
        for k in range(self.table.rowCount()):
            box = self.table.cellWidget(k, _SOURCE)
            with QSignalBlocker(box):
                box.clear()
                box.addItems([*names, "New source…"])
            self._update_row(k)

    def _choose_source(self, k: int, choice: int) -> None:
        if choice >= self._document.n_sources:
            choice = self._document.add_source()
        self._document.set_source(k, choice)

    def _update_row(self, k: int) -> None:
        if k >= self.table.rowCount():
            return
        state = self._document.components[k]
        with QSignalBlocker(self.table):
            self.table.item(k, _COLOUR).setBackground(QColor(state.colour))
            self.table.item(k, _NAME).setText(state.name)
        for column, value in ((_SOLO, state.solo), (_MUTE, state.mute), (_LOCK, state.locked)):
            widget = self.table.cellWidget(k, column)
            with QSignalBlocker(widget):
                widget.setChecked(value)
        gain = self.table.cellWidget(k, _GAIN)
        with QSignalBlocker(gain):
            gain.setValue(state.gain)
        source = self.table.cellWidget(k, _SOURCE)
        if source.count() <= state.source + 1:  # a source index beyond the named ones
            self._update_source_choices()
            return
        with QSignalBlocker(source):
            source.setCurrentIndex(state.source)

    def _schedule_labels(self) -> None:
        self._label_timer.start()

    def update_labels(self) -> None:
        """Label every component from the current factors (in a job; ``labels_updated`` follows).

        Pitch and percussiveness (``dsp.labels``); without factors, dashes.
        """
        document = self._document
        if document.W is None or document.audio is None:
            self._labels.cancel()
            self._show_labels([None] * self.table.rowCount())
            return
        self._labels.submit(FunctionJob(component_labels, document.W, document.H,
                                        rate=document.audio.rate, low_priority=True,
                                        name="partwise-labels"))

    def _show_labels(self, labels: list) -> None:
        with QSignalBlocker(self.table):
            for k, label in enumerate(labels[: self.table.rowCount()]):
                pitch = self.table.item(k, _PITCH)
                perc = self.table.item(k, _PERC)
                pitch.setText(label.pitch_text if label else "—")
                perc.setText(f"{100 * label.percussive:.0f}" if label else "—")
                perc.setData(Qt.UserRole, label.percussive if label else np.nan)
                pitch.setData(Qt.UserRole, label.pitch if label else np.nan)
        self.labels_updated.emit()

    def label_texts(self, column: str) -> list[str]:
        """Texts of the ``'Pitch'`` or ``'Perc.'`` column, row by row."""
        c = COLUMNS.index(column)
        return [self.table.item(k, c).text() for k in range(self.table.rowCount())]

    # -- edits -------------------------------------------------------------------------------

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == _NAME:
            name = item.text().strip()
            if name:
                self._document.set_component_name(item.row(), name)
            else:
                self._update_row(item.row())

    def selected_components(self) -> list[int]:
        """Indices of the selected rows."""
        return sorted(i.row() for i in self.table.selectionModel().selectedRows())

    def _on_selection(self) -> None:
        rows = self.selected_components()
        self._document.select_component(rows[0] if rows else -1)

    def _show_selection(self, k: int) -> None:
        with QSignalBlocker(self.table):
            if k < 0:
                self.table.clearSelection()
            elif k not in self.selected_components():
                self.table.selectRow(k)

    def _on_settings_changed(self, settings) -> None:
        # The sources the user said the mixture holds are what Auto-group makes.
        if settings.n_sources:
            self.sources_box.setValue(min(settings.n_sources, self.sources_box.maximum()))

    def _update_group_button(self) -> None:
        self.group_button.setEnabled(self._document.W is not None)

    def _group(self) -> None:
        """Group the components automatically (in a job; ``grouped`` follows)."""
        document = self._document
        if document.W is not None:
            rate = document.audio.rate if document.audio is not None else 22_050
            n = min(self.sources_box.value(), document.W.shape[1])
            self._group_size = len(document.components)
            self._grouping.submit(FunctionJob(group_components, document.W, document.H, n,
                                              rate=rate, channel_gains=document.channel_gains,
                                              low_priority=True, name="partwise-grouping"))

    def _on_grouped(self, groups: list[list[int]]) -> None:
        # Groups name components by index: they apply while the number is the same.
        document = self._document
        if len(document.components) == self._group_size:
            if document.has_paint() and document.W is not None:
                # The paint stays on the parts it was painted on: group i becomes the
                # source whose paint overlaps it most (the one matching rule).
                rows = np.zeros((len(groups), *document.magnitude.shape), np.float32)
                painted = document.paint
                rows[: min(len(groups), len(painted))] = painted[: len(groups)]
                groups = order_groups(document.W, document.H, groups, rows)
            document.assign_sources(groups)
            self.grouped.emit()

    def build_menu(self, rows: list[int]) -> QMenu:
        """The context menu for the components ``rows``."""
        document, steering = self._document, self._steering
        menu = QMenu(self)
        move = menu.addMenu("Move to source")
        for s in range(document.n_sources):
            move.addAction(document.source_state(s).name,
                           lambda s=s: [document.set_source(k, s) for k in rows])
        move.addAction("New source", lambda: self._move_to_new_source(rows))
        if steering is None or document.W is None:
            return menu
        locked = all(document.components[k].locked for k in rows)
        menu.addAction("Unlock template" if locked else "Lock template",
                       lambda: [steering.set_locked(k, not locked) for k in rows])
        if len(rows) == 1:
            menu.addAction("Split in two", lambda: steering.split(rows[0]))
            menu.addAction("Zero (silence)", lambda: steering.zero(rows[0]))
        delete = menu.addAction("Delete", lambda: steering.delete(rows))
        delete.setEnabled(len(rows) < len(document.components))
        return menu

    def _move_to_new_source(self, rows: list[int]) -> None:
        source = self._document.add_source()
        for k in rows:
            self._document.set_source(k, source)

    def _show_menu(self, pos) -> None:
        rows = self.selected_components()
        row = self.table.indexAt(pos).row()
        if row >= 0 and row not in rows:
            self.table.selectRow(row)
            rows = [row]
        if rows:
            self.context_menu = self.build_menu(rows)
            self.context_menu.popup(self.table.viewport().mapToGlobal(pos))
