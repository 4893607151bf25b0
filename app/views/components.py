"""The components table: colour, editable name, solo, mute, gain and source of each."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dsp.grouping import group_components

from ..session import Session
from ..widgets import spin_box

__all__ = ["ComponentsView", "COLUMNS"]

COLUMNS = ("", "Name", "S", "M", "Gain", "Source")
_COLOUR, _NAME, _SOLO, _MUTE, _GAIN, _SOURCE = range(len(COLUMNS))


class ComponentsView(QWidget):
    """One row per component; edits go to the session, the session's changes come back.

    Selecting a row selects the component (the spectrogram's "Selected
    component" mode shows its share). "Group" assigns components to the chosen
    number of sources automatically (``dsp.grouping``).
    """

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self._session = session
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(_NAME, QHeaderView.Stretch)
        for column, tip in (
            (_SOLO, "Solo: only soloed components sound (solo wins over mute)"),
            (_MUTE, "Mute: silence this component"),
            (_GAIN, "Linear gain of the component in the mix"),
            (_SOURCE, "Source the component belongs to (stems are exported per source)"),
        ):
            self.table.horizontalHeaderItem(column).setToolTip(tip)

        self.sources_box = spin_box(QSpinBox, 1, 64, 3)
        self.sources_box.setPrefix("into ")
        self.sources_box.setSuffix(" sources")
        self.sources_box.setToolTip("Number of sources for automatic grouping")
        self.group_button = QPushButton("Group")
        self.group_button.setToolTip(
            "Assign components to sources by template and activation similarity"
        )
        bottom = QHBoxLayout()
        bottom.addWidget(self.group_button)
        bottom.addWidget(self.sources_box)
        bottom.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addLayout(bottom)

        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.group_button.clicked.connect(self._group)
        session.components_changed.connect(self._rebuild)
        session.component_changed.connect(self._update_row)
        session.selection_changed.connect(self._show_selection)
        session.factors_changed.connect(self._update_group_button)
        self._rebuild()

    def _rebuild(self) -> None:
        components = self._session.components
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(components))
            for k in range(len(components)):
                swatch = QTableWidgetItem()
                swatch.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                self.table.setItem(k, _COLOUR, swatch)
                self.table.setItem(k, _NAME, QTableWidgetItem())
                solo = self._toggle("S", "#e0c341", k, self._session.set_solo)
                mute = self._toggle("M", "#e15759", k, self._session.set_mute)
                self.table.setCellWidget(k, _SOLO, solo)
                self.table.setCellWidget(k, _MUTE, mute)
                gain = spin_box(QDoubleSpinBox, 0.0, 4.0, 1.0, step=0.1)
                gain.setKeyboardTracking(False)
                gain.valueChanged.connect(lambda v, k=k: self._session.set_gain(k, v))
                self.table.setCellWidget(k, _GAIN, gain)
                source = spin_box(QSpinBox, 1, max(1, len(components)), 1)
                source.valueChanged.connect(lambda v, k=k: self._session.set_source(k, v - 1))
                self.table.setCellWidget(k, _SOURCE, source)
        for k in range(len(components)):
            self._update_row(k)
        self.sources_box.setMaximum(max(1, len(components)))
        self._update_group_button()

    @staticmethod
    def _toggle(text: str, colour: str, k: int, setter) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setObjectName("solo" if text == "S" else "mute")
        button.setStyleSheet(f"QToolButton:checked {{ background: {colour}; color: #111; }}")
        button.toggled.connect(lambda on: setter(k, on))
        return button

    def _update_row(self, k: int) -> None:
        state = self._session.components[k]
        with QSignalBlocker(self.table):
            self.table.item(k, _COLOUR).setBackground(QColor(state.colour))
            self.table.item(k, _NAME).setText(state.name)
        for column, value in ((_SOLO, state.solo), (_MUTE, state.mute)):
            widget = self.table.cellWidget(k, column)
            with QSignalBlocker(widget):
                widget.setChecked(value)
        for column, value in ((_GAIN, state.gain), (_SOURCE, state.source + 1)):
            widget = self.table.cellWidget(k, column)
            with QSignalBlocker(widget):
                widget.setValue(value)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == _NAME:
            name = item.text().strip()
            if name:
                self._session.set_component_name(item.row(), name)
            else:
                self._update_row(item.row())

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._session.select_component(rows[0].row() if rows else -1)

    def _show_selection(self, k: int) -> None:
        with QSignalBlocker(self.table):
            if k < 0:
                self.table.clearSelection()
            else:
                self.table.selectRow(k)

    def _update_group_button(self) -> None:
        self.group_button.setEnabled(self._session.W is not None)

    def _group(self) -> None:
        session = self._session
        if session.W is not None:
            session.assign_sources(group_components(session.W, session.H, self.sources_box.value()))
