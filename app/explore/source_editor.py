"""One synthetic source of the designer: sliders for every field of a ToneSpec."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox

from dsp.demo import ToneSpec

from .sliders import ValueSlider

__all__ = ["SourceEditor"]

#: Field → (label, minimum, maximum, step, format, tooltip). f0 is a pitch slider.
_FIELDS = {
    "f0": ("Fundamental", 40.0, 1000.0, 0.0, "{:.1f} Hz", "Frequency of the first partial"),
    "n_harmonics": ("Harmonics", 1, 20, 1, "{:.0f}", "Number of partials f0, 2 f0, 3 f0, …"),
    "rolloff": ("Roll-off", 0.0, 3.0, 0.1, "{:.1f}",
                "Partial h has amplitude h^-rolloff: 0 is buzzy, 3 almost a sine"),
    "period": ("Period", 0.2, 2.0, 0.05, "{:.2f} s", "Seconds between note onsets"),
    "duty": ("Duty", 0.05, 1.0, 0.05, "{:.0%}", "Share of each period the note sounds"),
    "onset": ("Onset", 0.0, 2.0, 0.05, "{:.2f} s", "Time of the first note"),
    "decay": ("Decay", 0.0, 10.0, 0.5, "{:.1f} /s", "Exponential decay within a note (0: held)"),
    "level": ("Level", 0.05, 1.0, 0.05, "{:.2f}", "Peak amplitude"),
}


class SourceEditor(QGroupBox):
    """Edits one :class:`~dsp.demo.ToneSpec`; the name and pan are kept as given.

    Signals
    -------
    changed
        A slider moved (or the source was switched on or off).
    """

    changed = Signal()

    def __init__(self, spec: ToneSpec, colour: str, *, optional: bool = False,
                 parent=None) -> None:
        super().__init__(spec.name.capitalize(), parent)
        self._spec = spec
        self.setStyleSheet(f"QGroupBox::title {{ color: {colour}; }}")
        if optional:
            self.setCheckable(True)
            self.toggled.connect(lambda _: self.changed.emit())
        form = QFormLayout(self)
        self.sliders: dict[str, ValueSlider] = {}
        for name, (label, low, high, step, fmt, tip) in _FIELDS.items():
            slider = ValueSlider(low, high, step, getattr(spec, name), fmt=fmt,
                                 pitch=name == "f0")
            slider.setToolTip(tip)
            slider.value_changed.connect(lambda _: self.changed.emit())
            form.addRow(label, slider)
            self.sliders[name] = slider

    @property
    def enabled(self) -> bool:
        """Whether the source takes part in the mixture."""
        return not self.isCheckable() or self.isChecked()

    def spec(self) -> ToneSpec:
        """The source the sliders describe."""
        values = {name: slider.value() for name, slider in self.sliders.items()}
        values["n_harmonics"] = int(values["n_harmonics"])
        return replace(self._spec, **values)

    def set_spec(self, spec: ToneSpec) -> None:
        """Move every slider to ``spec`` (to the nearest step); emits :attr:`changed`."""
        self._spec = spec
        for name, slider in self.sliders.items():
            slider.set_value(getattr(spec, name))
        self.changed.emit()
