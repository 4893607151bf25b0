"""Small widget helpers shared by the panels.

Qt properties are set through setters, never as constructor keywords: PySide6
6.12 drops a reference to ``None`` for some keyword properties, which crashes
the interpreter at exit.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

__all__ = ["spin_box"]


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
