"""The solver and STFT parameters, each one control with a tooltip, bound to the session."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from dsp import nmf
from dsp.pipeline import MAX_COUNT, Settings, default_components

from .document import Document
from .widgets import spin_box

__all__ = ["ParametersPanel", "FFT_SIZES"]

FFT_SIZES = (256, 512, 1024, 2048, 4096, 8192)
_LOSS_LABELS = {"kl": "Kullback–Leibler", "euclidean": "Euclidean", "is": "Itakura–Saito"}
_ALGORITHM_LABELS = {"mu": "Multiplicative updates", "hals": "HALS"}
_INIT_LABELS = {
    "random": "Random",
    "nndsvd": "NNDSVD",
    "nndsvda": "NNDSVDa",
    "comb": "Harmonic combs",
}


def _combo(options, labels: dict, tip: str) -> QComboBox:
    box = QComboBox()
    for option in options:
        box.addItem(labels.get(option, str(option)), option)
    box.setToolTip(tip)
    return box


class ParametersPanel(QWidget):
    """A form of every parameter of :class:`dsp.pipeline.Settings` a user tunes.

    Edits call :meth:`Session.set_settings`; the session's changes (for
    example restored settings) come back to the controls. The choices of loss,
    algorithm and initialisation are read from ``dsp.nmf`` at run time.

    Signals
    -------
    refused(str)
        A typed value was out of its control's range; the message says what was used.

    Attributes
    ----------
    discard_box : QMessageBox or None
        The question a new FFT size or hop asks before it discards a
        factorization or paint (the last one asked).
    """

    refused = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self.discard_box: QMessageBox | None = None
        self.sources = spin_box(QSpinBox, 0, 16, 0)
        self.sources.setSpecialValueText("—")
        self.sources.setToolTip(
            "How many sources the mixture holds (— not said): sets the number of components "
            "to the default for that many sources, and Auto-group's number of sources"
        )
        self.components = spin_box(QSpinBox, 1, 64, 8)
        self.components.setToolTip("Number of components k: how many templates NMF learns")
        self.loss = _combo(
            nmf.LOSSES,
            _LOSS_LABELS,
            "Divergence minimised: Euclidean (loud parts dominate), Kullback–Leibler "
            "(balanced, the usual choice for audio) or Itakura–Saito (scale-invariant, "
            "quiet detail counts as much as loud)",
        )
        self.algorithm = _combo(
            nmf.ALGORITHMS, _ALGORITHM_LABELS, "Update rule used at each iteration"
        )
        self.iterations = spin_box(QSpinBox, 1, 100_000, 200, step=50)
        self.iterations.setToolTip("Iterations per Run or Continue")
        self.sparsity = spin_box(QDoubleSpinBox, 0.0, 100.0, 0.0, step=0.05, decimals=3)
        self.sparsity.setToolTip(
            "L1 penalty on the activations: higher values make each component sound "
            "less often (0 = none)"
        )
        self.init = _combo(
            nmf.SOLVER_INITS,
            _INIT_LABELS,
            "Initial factors: harmonic combs (notes) with free components (drums, speech) "
            "that explain the spectrogram best; random; or NNDSVD/NNDSVDa from its singular "
            "vectors",
        )
        self.seed = spin_box(QSpinBox, 0, MAX_COUNT, 0)
        self.seed.setToolTip("Random seed: the same seed and parameters give the same result")
        self.n_fft = _combo(
            FFT_SIZES,
            {},
            "STFT frame length in samples: longer frames resolve pitch "
            "better and time worse (recomputes the spectrogram)",
        )
        self.hop = spin_box(QSpinBox, 16, 4096, 512, step=64)
        self.hop.setToolTip(
            "STFT hop in samples, at most half the frame length: smaller hops give finer "
            "time steps and more columns to factorise (recomputes the spectrogram)"
        )
        self.spatial = QCheckBox("Each channel")
        self.spatial.setToolTip(
            "Stereo model: factorise every channel with a gain per channel and component, "
            "so sounds in different places of the stereo image become different parts and "
            "each channel gets its own mask (multiplicative updates without sparsity; "
            "otherwise the channels' mean is factorised)"
        )
        for spin in (self.sources, self.components, self.iterations, self.sparsity, self.seed,
                     self.hop):
            spin.setKeyboardTracking(False)
            spin.refused.connect(self.refused)

        form = QFormLayout(self)
        form.addRow("Sources", self.sources)
        form.addRow("Components", self.components)
        form.addRow("Loss", self.loss)
        form.addRow("Algorithm", self.algorithm)
        form.addRow("Iterations", self.iterations)
        form.addRow("Sparsity", self.sparsity)
        form.addRow("Initialisation", self.init)
        form.addRow("Seed", self.seed)
        form.addRow("FFT size", self.n_fft)
        form.addRow("Hop", self.hop)
        form.addRow("Stereo", self.spatial)
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.LabelRole).widget()
            label.setToolTip(form.itemAt(row, QFormLayout.FieldRole).widget().toolTip())

        self.show_settings(document.settings)
        document.settings_changed.connect(self.show_settings)
        self.sources.valueChanged.connect(self._on_sources_changed)
        self.components.valueChanged.connect(lambda v: self._change(n_components=v))
        self.loss.currentIndexChanged.connect(lambda _: self._change(loss=self.loss.currentData()))
        self.algorithm.currentIndexChanged.connect(
            lambda _: self._change(algorithm=self.algorithm.currentData())
        )
        self.iterations.valueChanged.connect(lambda v: self._change(iterations=v))
        self.sparsity.valueChanged.connect(lambda v: self._change(sparsity=v))
        self.init.currentIndexChanged.connect(lambda _: self._change(init=self.init.currentData()))
        self.seed.valueChanged.connect(lambda v: self._change(seed=v))
        self.n_fft.currentIndexChanged.connect(self._on_n_fft_changed)
        self.hop.valueChanged.connect(lambda v: self._change_stft(hop=v))
        self.spatial.toggled.connect(lambda on: self._change(spatial=on))

    def show_settings(self, settings: Settings) -> None:
        """Show ``settings`` in the controls without echoing edits back."""
        controls = (
            self.sources,
            self.components,
            self.loss,
            self.algorithm,
            self.iterations,
            self.sparsity,
            self.init,
            self.seed,
            self.n_fft,
            self.hop,
            self.spatial,
        )
        blockers = [QSignalBlocker(c) for c in controls]
        self.sources.setValue(settings.n_sources or 0)
        self.components.setValue(settings.n_components)
        for box, value in (
            (self.loss, settings.loss),
            (self.algorithm, settings.algorithm),
            (self.init, settings.init),
            (self.n_fft, settings.n_fft),
        ):
            box.setCurrentIndex(max(0, box.findData(value)))
        self.iterations.setValue(settings.iterations)
        self.sparsity.setValue(settings.sparsity)
        self.seed.setValue(settings.seed)
        self.hop.setMaximum(settings.n_fft // 2)
        self.hop.setValue(settings.hop)
        self.spatial.setChecked(settings.spatial)
        self.spatial.setEnabled(settings.algorithm == "mu" and not settings.sparsity)
        del blockers

    def _on_sources_changed(self, value: int) -> None:
        # The same rule as the command line's --sources without --components.
        n_sources = value or None
        V = self._document.magnitude  # noqa: N806 - the domain's name
        frames = None if V is None else V.shape[1]
        self._change(n_sources=n_sources,
                     n_components=default_components(n_sources, frames=frames))

    def _on_n_fft_changed(self) -> None:
        n_fft = self.n_fft.currentData()
        # Keep the overlap ratio when the frame changes, so the hop stays valid.
        ratio = self._document.settings.n_fft // max(1, self._document.settings.hop)
        self._change_stft(n_fft=n_fft, hop=max(16, n_fft // max(2, ratio)))

    def _change_stft(self, **change) -> None:
        """A new FFT size or hop: a new spectrogram, so ask before discarding work on the old."""
        lost = self._work_lost()
        if not lost:
            self._change(**change)
            return
        document = self._document
        audio = document.audio
        name = audio.name if audio.path is not None else "the demo mixture"
        iterations = f" ({document.n_iter} iterations)" if document.W is not None else ""
        box = QMessageBox(
            QMessageBox.Question, "Discard the factorization?",
            f"Discard {lost} of {name}{iterations}?",
            QMessageBox.Discard | QMessageBox.Cancel, self,
        )
        box.setInformativeText("A new FFT size or hop makes a new spectrogram, which the "
                               "templates and the paint do not fit. This cannot be undone.")
        box.setDefaultButton(QMessageBox.Cancel)
        discard = box.button(QMessageBox.Discard)
        box.finished.connect(lambda _: self._answered(box.clickedButton() is discard, change))
        self.discard_box = box
        box.open()

    def _work_lost(self) -> str:
        """What a new spectrogram would discard ('' if nothing)."""
        document = self._document
        lost = [what for what, present in (("the factorization", document.W is not None),
                                           ("the paint", document.has_paint())) if present]
        return " and ".join(lost)

    def _answered(self, discard: bool, change: dict) -> None:
        if discard:
            self._change(**change)
        else:
            self.show_settings(self._document.settings)  # the controls show what holds

    def _change(self, **change) -> None:
        self._document.set_settings(replace(self._document.settings, **change))
