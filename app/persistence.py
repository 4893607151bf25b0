"""Keeping the work: sessions saved and reopened, unsaved changes, autosave and recovery.

A :class:`~app.document.Document` is converted to and from a
:class:`dsp.project_file.Project` (the versioned ``.partwise`` format), so a
reopened session has exactly the saved factors, loss history, component
states and paint without re-running NMF. Audio is not stored in the file: it is found
again by path and checked by content hash. Audio that never came from a file
(the demo mixture) is written beside the session as a lossless float WAV.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import platformdirs
from PySide6.QtCore import QObject, QTimer, Signal

from dsp.audio import Audio, AudioError, load, save
from dsp.project_file import (
    Project,
    ProjectError,
    file_sha256,
    load_project,
    save_project,
)
from dsp.stft import Spectrogram, StftError, analyse

from .autosaves import (
    PREFIX,
    Owner,
    Recovery,
    autosave_name,
    lock_path,
    orphans,
    set_aside,
    write_lock,
)
from .document import Document
from .jobs import FunctionJob, Latest, describe

__all__ = [
    "AUTOSAVE_INTERVAL_MS",
    "Autosaver",
    "DocumentFile",
    "apply_project",
    "audio_has_changed",
    "autosave_path",
    "data_dir",
    "discard_recovery",
    "locate_audio",
    "open_session",
    "pending_recovery",
    "project_from_document",
    "read_audio",
    "read_references",
    "Recovery",
    "References",
    "save_session",
    "set_aside_recovery",
]

#: How often the autosaver writes a changed session.
AUTOSAVE_INTERVAL_MS = 60_000
#: Environment variable that overrides the user data folder (tests, portable installs).
DATA_DIR_VARIABLE = "PARTWISE_DATA_DIR"

#: ``ask_location(missing_path) -> new path or None`` (None: give up opening).
AskLocation = Callable[[Path], "str | os.PathLike | None"]
#: ``confirm_changed(audio_path) -> bool``: use audio whose content hash differs?
ConfirmChanged = Callable[[Path], bool]


def data_dir() -> Path:
    """The user's Partwise data folder (``$PARTWISE_DATA_DIR`` if set)."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    return Path(override) if override else Path(platformdirs.user_data_dir("Partwise"))


@functools.cache
def _this_instance() -> Owner:
    return Owner.this_process()


def autosave_path() -> Path:
    """Where this instance's autosaver keeps the session.

    ``<data dir>/autosave-<pid>-<start>.partwise``: one file per running
    instance (:mod:`app.autosaves`), so two never share one.
    """
    return data_dir() / autosave_name(_this_instance())


def pending_recovery() -> Recovery | None:
    """The newest autosave left by an instance that is gone, or None.

    Autosaves of instances still running (this one included) are never
    offered. Call at start-up and offer to restore it with :func:`open_session`
    — or, when :attr:`Recovery.session_is_newer`, the session file it was saved
    as.
    """
    folder = data_dir()
    found = orphans(folder) if folder.is_dir() else []
    return found[0] if found else None


@functools.lru_cache(maxsize=8)
def _cached_sha256(path: Path, mtime_ns: int, size: int) -> str:
    return file_sha256(path)


def _audio_sha256(path: Path) -> str:
    """Content hash of ``path``, computed again only when the file changes.

    The autosaver saves every minute; hashing a long recording each time would
    stall the GUI thread.
    """
    stat = path.stat()
    return _cached_sha256(path, stat.st_mtime_ns, stat.st_size)


def discard_recovery(autosave: Path) -> None:
    """Delete an autosave, its audio sidecar and its lock (declined, or restored and resaved)."""
    for path in (autosave, _mixture_path(autosave), lock_path(autosave)):
        path.unlink(missing_ok=True)


def set_aside_recovery(autosave: Path) -> Path:
    """Keep a damaged autosave as ``….partwise.damaged``, never offered again; the new name.

    Raises
    ------
    OSError
        If it cannot be renamed.
    """
    return set_aside(autosave)


def _is_autosave_mixture(path: Path) -> bool:
    """Whether ``path`` is an autosave's copy of a mixture without a file of its own."""
    path = path.resolve()
    return (path.parent == data_dir().resolve() and path.name.startswith(PREFIX)
            and path.name.endswith("_mixture.wav"))


def _mixture_path(session_path: Path) -> Path:
    """Sidecar file for audio that has no file of its own."""
    return session_path.with_name(f"{session_path.stem}_mixture.wav")


def project_from_document(document: Document, path: str | os.PathLike) -> Project:
    """Describe ``document`` as a :class:`Project` to be written to ``path``.

    Audio without a file (the demo mixture) is saved beside ``path`` first.
    Without factors (nothing run yet) W and H are stored empty; paint is
    stored only if some cell is painted.

    Raises
    ------
    ProjectError
        If no audio is open or the audio sidecar cannot be written.
    """
    project, audio = _describe(document)
    return _with_audio_file(replace(project, paint=document.paint_copy()), audio, path)


def _describe(document: Document) -> tuple[Project, Audio]:
    """The document as a project whose audio file and paint are still to come: fast.

    Every part is an immutable snapshot, so a job may finish it
    (:func:`_with_audio_file`, ``Document.paint_copy``) while the user goes on
    editing.
    """
    audio = document.audio
    if audio is None:
        raise ProjectError("nothing to save: no audio is open")
    k = len(document.components)
    W = document.W if document.W is not None else np.zeros((0, k), np.float32)
    H = document.H if document.H is not None else np.zeros((k, 0), np.float32)
    project = Project(
        audio_path="",
        audio_sha256="",
        settings=document.settings,
        W=W,
        H=H,
        losses=np.asarray(document.losses, np.float64),
        components=list(document.components),
        sources=[document.source_state(s) for s in range(document.n_sources)],
        references=[str(Path(p).resolve()) for p in document.reference_paths],
        channel_gains=document.channel_gains,
        paint=None,
    )
    return project, audio


def _with_audio_file(project: Project, audio: Audio, path: str | os.PathLike) -> Project:
    """``project`` with its audio's file and hash: a sidecar written first if it has none.

    Slow (a write, a hash of the whole file): run it in a job where it can be.
    """
    audio_path = audio.path
    if audio_path is None:
        audio_path = _mixture_path(Path(path))
        try:
            save(audio, audio_path, subtype="float")
        except AudioError as exc:
            raise ProjectError(f"cannot save the mixture beside the session ({exc})") from None
    audio_path = Path(audio_path).resolve()
    return replace(project, audio_path=str(audio_path), audio_sha256=_audio_sha256(audio_path))


def _write_autosave(project: Project, audio: Audio, path: Path, paint_copy) -> Path:
    """The autosave job: copy the paint, find the audio's file, zip and write the session.

    The paint is copied here, not on the GUI thread: hundreds of megabytes on
    a long file (``Document.paint_copy`` is safe from any thread).
    """
    project = replace(project, paint=paint_copy())
    return save_project(_with_audio_file(project, audio, path), path)


def save_session(document: Document, path: str | os.PathLike) -> Path:
    """Write ``session`` to ``path`` (a ``.partwise`` file) atomically.

    Raises
    ------
    ProjectError
        If nothing is open or the file cannot be written; an existing file stays.
    """
    return save_project(project_from_document(document, path), path)


def locate_audio(project: Project, ask_location: AskLocation | None = None) -> Path:
    """The project's audio file: where it was, or where ``ask_location`` says it moved.

    Raises
    ------
    ProjectError
        If the file is missing and no new location was given.
    """
    path = Path(project.audio_path)
    while not path.is_file():
        answer = ask_location(path) if ask_location is not None else None
        if not answer:
            raise ProjectError(f"the session's audio '{path.name}' was not found ({path})")
        path = Path(answer)
    return path


def audio_has_changed(project: Project, audio_path: str | os.PathLike) -> bool:
    """Whether the content of ``audio_path`` differs from the audio the project was saved with."""
    return file_sha256(audio_path) != project.audio_sha256


@dataclass(frozen=True)
class References:
    """Reference stems read from files, and why any file could not be used."""

    stems: tuple[np.ndarray, ...] = ()
    names: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def read_references(paths, audio: Audio | None) -> References:
    """Load reference stems; a file that is unreadable or does not fit ``audio`` is a problem.

    Free of Qt and slow for long files: run it in a worker.
    """
    stems, names, kept, problems = [], [], [], []
    for path in paths:
        try:
            ref = load(path)
        except AudioError as exc:
            problems.append(str(exc))
            continue
        if audio is not None and (ref.rate, ref.frames) != (audio.rate, audio.frames):
            problems.append(f"'{ref.name}' does not match the mixture's rate and "
                            f"length ({audio.rate} Hz, {audio.frames} frames)")
            continue
        stems.append(ref.samples)
        names.append(ref.name)
        kept.append(str(path))
    return References(tuple(stems), tuple(names), tuple(kept), tuple(problems))


def read_audio(
    project: Project, audio_path: str | os.PathLike
) -> tuple[Audio, Spectrogram, References]:
    """Load the audio at ``audio_path``, analyse it with the project's STFT, read its references.

    The slow half of opening a session, and free of Qt: run it in a worker,
    then pass the result to :func:`apply_project` as ``prepared``.

    Raises
    ------
    ProjectError
        If the audio cannot be read or analysed (references that cannot be
        read are left out, and said so when the project is applied).
    """
    settings = project.settings
    try:
        audio = load(audio_path)
        spec = analyse(audio.samples, audio.rate, n_fft=settings.n_fft, hop=settings.hop)
    except (AudioError, StftError) as exc:
        raise ProjectError(f"cannot use the session's audio: {exc}") from None
    if _is_autosave_mixture(Path(audio_path)):
        # The autosave's copy of a mixture without a file goes on the next clean close:
        # restored, the mixture has no file of its own again, and saving copies it.
        audio = replace(audio, path=None)
    spec.magnitude()  # cached in this worker: restoring it on the GUI thread costs nothing
    return audio, spec, read_references(project.references, audio)


def apply_project(
    project: Project,
    audio_path: str | os.PathLike,
    document: Document,
    *,
    prepared: tuple[Audio, Spectrogram, References] | None = None,
) -> None:
    """Restore ``project`` into ``session`` with the audio at ``audio_path``.

    ``prepared`` is :func:`read_audio`'s result if it already ran (in a
    worker); otherwise the audio is read here. Everything goes in at once
    (:meth:`Session.restore`), so no listener sees a spectrogram that does not
    match the settings or factors that do not match the components.

    Raises
    ------
    ProjectError
        If the audio cannot be read or does not fit the stored factors or paint; the
        session is then unchanged.
    """
    audio, spec, references = (
        prepared if prepared is not None else read_audio(project, audio_path)
    )
    has_factors = project.W.size > 0 and project.H.size > 0
    try:
        document.restore(
            audio,
            spec,
            project.settings,
            W=project.W if has_factors else None,
            H=project.H if has_factors else None,
            losses=tuple(project.losses),
            channel_gains=project.channel_gains if has_factors else None,
            components=project.components or None,
            sources=project.sources,
            references=(references.stems, references.names, references.paths),
            paint=project.paint,
        )
    except ValueError as exc:
        raise ProjectError(f"'{audio.name}' does not fit this session: {exc}") from None
    for problem in references.problems:
        document.notice(f"Reference left out: {problem}")


def open_session(
    path: str | os.PathLike,
    document: Document,
    *,
    ask_location: AskLocation | None = None,
    confirm_changed: ConfirmChanged | None = None,
) -> Project:
    """Read the session file ``path`` and restore it into ``session``.

    Parameters
    ----------
    ask_location : callable, optional
        Called with the missing audio path when the file moved; returns the new
        location, or None to give up.
    confirm_changed : callable, optional
        Called with the audio path when its content hash differs from the saved
        one; returns True to use it anyway. Without it a changed file is refused.

    Raises
    ------
    ProjectError
        Corrupt, truncated or newer file; audio missing, refused or unreadable.
        ``session`` is unchanged in every such case.
    """
    project = load_project(path)
    audio_path = locate_audio(project, ask_location)
    if audio_has_changed(project, audio_path) and not (
        confirm_changed is not None and confirm_changed(audio_path)
    ):
        raise ProjectError(
            f"'{audio_path.name}' has changed since the session was saved (content hash differs)"
        )
    apply_project(project, audio_path, document)
    return project


def _connect_changes(document: Document, slot: Callable[..., None]) -> None:
    """Call ``slot`` on every change a user would want saved."""
    for signal in (
        document.audio_changed,
        document.settings_changed,
        document.factors_changed,
        document.components_changed,
        document.component_changed,
        document.sources_changed,
        document.paint_changed,
    ):
        signal.connect(slot)


class DocumentFile(QObject):
    """The session as a document: its file, and whether it has unsaved changes.

    Signals
    -------
    dirty_changed(bool)
        Unsaved changes appeared (True) or were saved (False).
    saved(Path)
        The session was written to this file.
    """

    dirty_changed = Signal(bool)
    saved = Signal(Path)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._path: Path | None = None
        self._dirty = False
        # Where the session was last saved (track_undo): the edit state then, whether
        # anything outside the edit state (the audio) changed since, the undo stack.
        self._saved_state = None
        self._outside_edits = False
        self._stack = None
        _connect_changes(document, self._on_changed)
        document.audio_changed.connect(self._on_audio_changed)

    def track_undo(self, stack) -> None:
        """Undoing back to where the session was saved makes it clean again.

        ``stack`` is the window's ``QUndoStack``. At each save (or open) its
        clean index is set; when undo or redo comes back to it and the
        document's edit state is the saved one (arrays by identity: the
        document replaces them, and the strokes that change the paint in place
        are on the stack) and the audio did not change meanwhile, the
        unsaved-changes mark goes. A solver run since the save leaves other
        factors, and an edit still being recorded at the save another state,
        so the mark stays: never clean when it is not.
        """
        self._stack = stack
        stack.cleanChanged.connect(self._on_clean_changed)
        self._mark_saved()

    @property
    def path(self) -> Path | None:
        """The file the session was last saved to or opened from."""
        return self._path

    @property
    def dirty(self) -> bool:
        """Whether the session changed since it was last saved or opened."""
        return self._dirty

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Save to ``path`` (default: the current file) and clear :attr:`dirty`.

        Raises
        ------
        ProjectError
            If the file cannot be written, or no path is known yet.
        """
        target = Path(path) if path is not None else self._path
        if target is None:
            raise ProjectError("the session has no file yet: choose where to save it")
        written = save_session(self._document, target)
        self._path = written
        self._mark_saved()
        self.saved.emit(written)
        return written

    def open(self, path: str | os.PathLike, **hooks) -> Project:
        """Open ``path`` into the session (``hooks`` as :func:`open_session`)."""
        project = open_session(path, self._document, **hooks)
        self._path = Path(path)
        self._mark_saved()
        return project

    def restore(
        self,
        project: Project,
        audio_path: str | os.PathLike,
        path: str | os.PathLike | None = None,
        *,
        prepared: tuple[Audio, Spectrogram, References] | None = None,
        unsaved: bool = False,
    ) -> None:
        """Restore a project already read (:func:`load_project`, :func:`locate_audio`).

        With ``path`` (the file it was read from) the document becomes that
        file, unchanged. Without it (an autosave recovered after a crash) the
        document has no file and its content counts as unsaved changes; with
        it and ``unsaved`` (an autosave of work saved as ``path``) the document
        is that file with unsaved changes.
        ``prepared`` is as for :func:`apply_project`.

        Raises
        ------
        ProjectError
            As :func:`apply_project`; the session and the document are unchanged.
        """
        apply_project(project, audio_path, self._document, prepared=prepared)
        self._path = Path(path) if path is not None else None
        if path is None or unsaved:
            # Work no file holds: no state of it is clean, however far it is undone.
            self._saved_state = None
            self._set_dirty(True)
        else:
            self._mark_saved()

    def start_new(self) -> None:
        """A new mixture was opened: no file yet, and nothing to save until it changes."""
        self._path = None
        self._mark_saved()

    def mark_clean(self) -> None:
        """Forget changes (e.g. after restoring an autosave the user saved elsewhere)."""
        self._mark_saved()

    def _mark_saved(self) -> None:
        """The document as it is now is what is saved: clean, and where undo makes it clean."""
        self._set_dirty(False)
        self._outside_edits = False
        if self._stack is not None:
            self._saved_state = self._document.edit_state()
            self._stack.setClean()

    def _on_changed(self, *_) -> None:
        self._set_dirty(True)

    def _on_audio_changed(self, *_) -> None:
        self._outside_edits = True

    def _on_clean_changed(self, clean: bool) -> None:
        if (clean and self._dirty and not self._outside_edits and self._saved_state is not None
                and not self._document.edit_state().changed(self._saved_state)):
            self._set_dirty(False)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)


class Autosaver(QObject):
    """Writes the document to the data folder every minute and after each completed run.

    Only a document that changed since the last autosave (or, the first time,
    one with audio) is written: its state taken on the GUI thread (immutable
    snapshots, no file work), the audio's sidecar and hash, the zip and the
    write done by a job (a newer autosave replaces one still waiting). Call
    :meth:`clear` on a clean close; a file still there at the next start means
    the app did not close cleanly (see :func:`pending_recovery`). The file is
    this instance's own, beside a lock naming this process and the session
    file the work belongs to (:meth:`link`), so a crash after Save can offer
    the newer of the two and keep the link.

    Signals
    -------
    saved(Path)
        An autosave was written.
    failed(str)
        An autosave could not be written (the work goes on; the message says why).
    """

    saved = Signal(Path)
    failed = Signal(str)

    def __init__(
        self,
        document: Document,
        *,
        interval_ms: int = AUTOSAVE_INTERVAL_MS,
        path: str | os.PathLike | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._document = document
        self._path = Path(path) if path is not None else autosave_path()
        self._owner = _this_instance()
        self._session: Path | None = None
        self._adopted: list[Path] = []
        # Whatever the session holds when autosaving begins has not been autosaved yet.
        self._changed = True
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.save_now)
        self._jobs = Latest(self)
        self._jobs.returned.connect(self._on_saved)
        self._jobs.errored.connect(self._on_failed)
        _connect_changes(document, self._on_changed)

    @property
    def path(self) -> Path:
        """The autosave file."""
        return self._path

    def start(self) -> None:
        """Start the periodic autosave."""
        self._timer.start()

    def stop(self) -> None:
        """Stop the periodic autosave (the file stays)."""
        self._timer.stop()

    def save_now(self) -> None:
        """Write the session soon if it changed (connect to "run completed"); ``saved`` follows."""
        if not self._changed or self._document.audio is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_lock(self._path, self._owner, self._session)
        except OSError as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return
        project, audio = _describe(self._document)
        self._changed = False
        # The sidecar of audio without a file, the audio's hash and the zip: all in the job.
        self._jobs.submit(FunctionJob(_write_autosave, project, audio, self._path,
                                      self._document.paint_copy, low_priority=True,
                                      name="partwise-autosave"))

    def clear(self) -> None:
        """Stop and delete the autosave (the app is closing cleanly)."""
        self._timer.stop()
        self._jobs.cancel()
        self._jobs.wait()
        for path in (self._path, *self._adopted):
            discard_recovery(path)
        self._adopted = []

    def link(self, session: Path | None) -> None:
        """The work belongs to the session file ``session`` (saved or opened), or to none."""
        self._session = session
        if lock_path(self._path).exists():
            try:
                write_lock(self._path, self._owner, session)
            except OSError as exc:
                self.failed.emit(f"Autosave failed: {exc}")

    def adopt(self, autosave: Path) -> None:
        """Take over a recovered ``autosave``: deleted once this one is written, or on close."""
        self._adopted.append(autosave)

    def _on_saved(self, path: Path) -> None:
        for adopted in self._adopted:
            discard_recovery(adopted)
        self._adopted = []
        self.saved.emit(path)

    def _on_changed(self, *_) -> None:
        self._changed = True

    def _on_failed(self, error: Exception) -> None:
        self._changed = True
        self.failed.emit(f"Autosave failed: {describe(error)}")
