"""A labelled slider over a float range, linear or on a musical (quarter-tone) grid."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

__all__ = ["ValueSlider", "note_name"]

_NOTES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def note_name(hz: float) -> str:
    """Nearest equal-tempered note, ``'A4'``, with ``+`` or ``-`` when a quarter tone off."""
    midi = 69 + 12 * np.log2(hz / 440.0)
    nearest = int(round(midi))
    off = midi - nearest
    mark = "+" if off > 0.25 else "-" if off < -0.25 else ""
    return f"{_NOTES[nearest % 12]}{nearest // 12 - 1}{mark}"


class ValueSlider(QWidget):
    """A horizontal slider with its value printed beside it.

    Parameters
    ----------
    minimum, maximum, step : float
        The range and its resolution (linear scale).
    value : float
    fmt : str
        ``str.format`` pattern of the printed value.
    pitch : bool
        A frequency slider: quarter-tone steps between ``minimum`` and
        ``maximum`` Hz (``step`` is ignored), printed with the note name.

    Signals
    -------
    value_changed(float)
    """

    value_changed = Signal(float)

    def __init__(self, minimum: float, maximum: float, step: float, value: float, *,
                 fmt: str = "{:g}", pitch: bool = False, parent=None) -> None:
        super().__init__(parent)
        self._pitch = pitch
        self._fmt = fmt
        if pitch:
            # Anchor the grid on A440 so every note (and quarter tone) is on it exactly.
            self._step = 0.5
            self._low = np.ceil(12 * np.log2(minimum / 440.0) / self._step) * self._step
            count = int(round((12 * np.log2(maximum / 440.0) - self._low) / self._step))
        else:
            self._low, self._step = minimum, step
            count = int(round((maximum - minimum) / step))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, count)
        self.label = QLabel()
        self.label.setMinimumWidth(92 if pitch else 48)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.set_value(value)
        self._show()
        self.slider.valueChanged.connect(self._on_moved)

    def value(self) -> float:
        """The current value (Hz for a pitch slider)."""
        x = self._low + self.slider.value() * self._step
        return float(440.0 * 2 ** (x / 12)) if self._pitch else round(float(x), 6)

    def set_value(self, value: float) -> None:
        """Move to the grid position nearest ``value``."""
        x = 12 * np.log2(value / 440.0) if self._pitch else value
        self.slider.setValue(int(round((x - self._low) / self._step)))

    def _on_moved(self) -> None:
        self._show()
        self.value_changed.emit(self.value())

    def _show(self) -> None:
        value = self.value()
        text = self._fmt.format(value)
        self.label.setText(f"{text} {note_name(value)}" if self._pitch else text)
