"""Small widget helpers shared by the panels.

Qt properties are set through setters, never as constructor keywords: PySide6
6.12 drops a reference to ``None`` for some keyword properties, which crashes
the interpreter at exit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

__all__ = ["run_bar", "spin_box"]


def spin_box(
    kind: type[QSpinBox] | type[QDoubleSpinBox],
    minimum: float,
    maximum: float,
    value: float,
    *,
    step: float | None = None,
    decimals: int = 2,
) -> QSpinBox | QDoubleSpinBox:
    """A spin box with range, value and step, committing on Enter or focus loss."""
    box = kind()
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
