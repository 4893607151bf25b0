"""Opening audio and computing its spectrogram off the GUI thread.

A failed open leaves the session as it was; only a newer request's result is
applied, so opening a second file while the first still loads is safe.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dsp.audio import Audio, load
from dsp.demo import make_demo
from dsp.stft import Spectrogram, analyse

from .session import Session
from .worker import BackgroundJob

__all__ = ["Loader"]


def _analysed(audio: Audio, n_fft: int, hop: int) -> tuple[Audio, Spectrogram]:
    return audio, analyse(audio.samples, audio.rate, n_fft=n_fft, hop=hop)


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

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._jobs: list[BackgroundJob] = []
        self._latest: BackgroundJob | None = None
        session.settings_changed.connect(self._on_settings_changed)

    @property
    def busy(self) -> bool:
        """Whether a job is still running."""
        return any(job.isRunning() for job in self._jobs)

    def open_file(self, path: str | Path) -> None:
        """Load ``path`` and analyse it with the session's STFT parameters."""
        path = Path(path)
        settings = self._session.settings
        self._submit(
            f"Loading {path.name}…",
            lambda: _analysed(load(path), settings.n_fft, settings.hop),
        )

    def open_demo(self, **options) -> None:
        """Open the built-in synthetic mixture (``options`` go to :func:`make_demo`)."""
        settings = self._session.settings
        self._submit(
            "Building the demo mixture…",
            lambda: _analysed(make_demo(**options).mixture, settings.n_fft, settings.hop),
        )

    def wait(self) -> None:
        """Block until every job has finished (the window is closing)."""
        for job in list(self._jobs):
            job.wait()

    def _on_settings_changed(self, settings) -> None:
        audio, spec = self._session.audio, self._session.spectrogram
        if audio is None or self._session.spectrogram_is_current():
            return
        self._submit(
            f"Computing the spectrogram (FFT {settings.n_fft}, hop {settings.hop})…",
            lambda: _analysed(audio, settings.n_fft, settings.hop),
            on_failure=partial(self._restore_stft, spec),
        )

    def _restore_stft(self, spec: Spectrogram) -> None:
        if self._session.spectrogram is spec:
            self._session.set_settings(
                replace(self._session.settings, n_fft=spec.n_fft, hop=spec.hop)
            )

    def _submit(self, message: str, function, on_failure=None) -> None:
        job = BackgroundJob(function)
        job.succeeded.connect(partial(self._on_succeeded, job))
        job.failed.connect(partial(self._on_failed, job, on_failure))
        job.finished.connect(partial(self._on_finished, job))
        self._jobs.append(job)
        self._latest = job
        self.busy_changed.emit(message)
        job.start()

    def _on_succeeded(self, job: BackgroundJob, result: tuple[Audio, Spectrogram]) -> None:
        if job is self._latest:
            audio, spec = result
            self._session.set_audio(audio, spec)
            self.loaded.emit(audio.name if audio.path else "Demo mixture")

    def _on_failed(self, job: BackgroundJob, on_failure, message: str) -> None:
        if job is self._latest:
            if on_failure is not None:
                on_failure()
            self.failed.emit(message)

    def _on_finished(self, job: BackgroundJob) -> None:
        self._jobs.remove(job)
        if job is self._latest:
            self._latest = None
            self.busy_changed.emit("")
        job.deleteLater()
