"""Small widget helpers shared by the panels.

Qt properties are set through setters, never as constructor keywords: PySide6
6.12 drops a reference to ``None`` for some keyword properties, which crashes
the interpreter at exit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolTip,
    QWidget,
)

__all__ = ["RangeSpinBox", "RangeDoubleSpinBox", "run_bar", "spin_box"]


class _TellsTheRange:
    """A spin box that clamps typed input to its range and says so, at the box.

    Plain Qt drops the keystroke that leaves the range (500 in a box up to 64
    becomes 50) and reverts input below the minimum when editing ends, both
    without a word.

    Signals
    -------
    refused(str)
        What was typed, the range, and the value used instead.
    """

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt's override
        result = super().validate(text, pos)
        if result[0] == QValidator.Invalid:
            clamped = self._clamp(text)
            if clamped is not None:
                return QValidator.Acceptable, clamped, len(clamped)
        return result

    def fixup(self, text: str):  # noqa: D102 - Qt's override
        clamped = self._clamp(text)
        return super().fixup(text) if clamped is None else clamped

    def _clamp(self, text: str) -> str | None:
        """The range's nearest end if ``text`` is a number outside the range (told), else None."""
        typed = text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()
        try:
            value = float(typed)
        except ValueError:
            return None
        if self.minimum() <= value <= self.maximum():
            return None
        low, high = self.textFromValue(self.minimum()), self.textFromValue(self.maximum())
        used = low if value < self.minimum() else high
        message = f"{typed} is out of range ({low} to {high}): {used} is used"
        QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())), message, self)
        self.refused.emit(message)
        return used


class RangeSpinBox(_TellsTheRange, QSpinBox):
    """An integer spin box that tells when typed input is out of range."""

    refused = Signal(str)


class RangeDoubleSpinBox(_TellsTheRange, QDoubleSpinBox):
    """A decimal spin box that tells when typed input is out of range."""

    refused = Signal(str)


def spin_box(
    kind: type[QSpinBox] | type[QDoubleSpinBox],
    minimum: float,
    maximum: float,
    value: float,
    *,
    step: float | None = None,
    decimals: int = 2,
) -> RangeSpinBox | RangeDoubleSpinBox:
    """A spin box with range, value and step, committing on Enter or focus loss.

    It tells the user (a tooltip at the box, and its ``refused`` signal) when
    what they typed is out of range, instead of clamping or reverting silently.
    """
    box = RangeDoubleSpinBox() if issubclass(kind, QDoubleSpinBox) else RangeSpinBox()
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(decimals)
    box.setRange(minimum, maximum)
    box.setValue(value)
    if step is not None:
        box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


def run_bar(
    fields: Sequence[tuple[str, QWidget]],
    run_text: str,
    on_run: Callable[[], None],
    on_stop: Callable[[], None],
) -> tuple[QHBoxLayout, QPushButton, QPushButton, QLabel]:
    """A row of labelled fields, a run and a stop button, and a status label.

    Returns
    -------
    layout, run_button, stop_button, status
    """
    run_button = QPushButton(run_text)
    run_button.clicked.connect(on_run)
    stop_button = QPushButton("Stop")
    stop_button.clicked.connect(on_stop)
    status = QLabel()
    bar = QHBoxLayout()
    for label, widget in fields:
        bar.addWidget(QLabel(label))
        bar.addWidget(widget)
    bar.addWidget(run_button)
    bar.addWidget(stop_button)
    bar.addWidget(status, 1)
    return bar, run_button, stop_button, status
