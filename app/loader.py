"""Opening audio and computing its spectrogram off the GUI thread.

A failed open leaves the session as it was; so does a file (or new STFT
settings) whose separation the memory could not hold, refused with one line
before the STFT is computed. Requests go through one
:class:`~app.jobs.Latest`: a newer request replaces a waiting one and only
the newest result is applied, so opening a second file while the first still
loads is safe.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from dsp.audio import Audio, load
from dsp.demo import make_demo
from dsp.memory import refusal
from dsp.pipeline import Settings
from dsp.stft import Spectrogram, analyse

from .document import Document
from .jobs import FunctionJob, Latest, describe

__all__ = ["MEMORY_HINT", "Loader"]

#: What the window suggests when a separation would not fit in memory (loading and Run).
MEMORY_HINT = "choose a larger hop or FFT size, or a shorter file"


def _analysed(audio: Audio, settings: Settings) -> tuple[Audio, Spectrogram]:
    """The audio and its spectrogram, with the magnitude V (as slow as the STFT) cached.

    Raises
    ------
    MemoryError
        With one line, before the STFT, when a separation of this audio with
        these settings would need more memory than there is.
    """
    problem = refusal(audio.channels, audio.frames, settings,
                      hint=MEMORY_HINT)
    if problem:
        raise MemoryError(f"{_named(audio)} {problem}")
    spec = analyse(audio.samples, audio.rate, n_fft=settings.n_fft, hop=settings.hop)
    spec.magnitude()
    return audio, spec


def _named(audio: Audio) -> str:
    return f"'{audio.name}'" if audio.path else "The demo mixture"


class Loader(QObject):
    """Loads files (or the demo) and recomputes spectrograms in background jobs.

    Signals
    -------
    busy_changed(str)
        What is being done (for the status bar); empty when idle.
    loaded(str)
        The session holds a new mixture with this name.
    failed(str)
        A load or analysis failed with this message; the session is unchanged.
    """

    busy_changed = Signal(str)
    loaded = Signal(str)
    failed = Signal(str)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._jobs = Latest(self)
        self._on_failure = None  # what undoes the newest request's setting, if it fails
        self._jobs.returned.connect(self._on_loaded)
        self._jobs.errored.connect(self._on_failed)
        self._jobs.idle.connect(lambda: self.busy_changed.emit(""))
        document.settings_changed.connect(self._on_settings_changed)

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        return self._jobs.busy

    def open_file(self, path: str | Path) -> None:
        """Load ``path`` and analyse it with the session's STFT parameters."""
        path = Path(path)
        settings = self._document.settings
        self._submit(
            f"Loading {path.name}…",
            lambda: _analysed(load(path), settings),
        )

    def open_demo(self, **options) -> None:
        """Open the built-in synthetic mixture (``options`` go to :func:`make_demo`)."""
        settings = self._document.settings
        self._submit(
            "Building the demo mixture…",
            lambda: _analysed(make_demo(**options).mixture, settings),
        )

    def _on_settings_changed(self, settings) -> None:
        audio, spec = self._document.audio, self._document.spectrogram
        if audio is None or self._document.spectrogram_is_current():
            return
        self._submit(
            f"Computing the spectrogram (FFT {settings.n_fft}, hop {settings.hop})…",
            lambda: _analysed(audio, settings),
            on_failure=partial(self._restore_stft, spec),
        )

    def _restore_stft(self, spec: Spectrogram) -> None:
        if self._document.spectrogram is spec:
            self._document.set_settings(
                replace(self._document.settings, n_fft=spec.n_fft, hop=spec.hop)
            )

    def _submit(self, message: str, function, on_failure=None) -> None:
        self._on_failure = on_failure
        self.busy_changed.emit(message)
        self._jobs.submit(FunctionJob(function, low_priority=True, name="partwise-load"))

    def _on_loaded(self, result: tuple[Audio, Spectrogram, np.ndarray]) -> None:
        audio, spec = result
        self._document.set_audio(audio, spec)
        self.loaded.emit(audio.name if audio.path else "Demo mixture")

    def _on_failed(self, error: Exception) -> None:
        if self._on_failure is not None:
            self._on_failure()
        self.failed.emit(describe(error))
