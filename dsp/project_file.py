"""Saving and reopening a whole session as a versioned ``.partwise`` file.

The file is a zip archive holding ``session.json`` (format name and version,
the audio's path and content hash, STFT and solver settings, every component's
state) and the arrays ``W.npy``, ``H.npy`` and ``losses.npy``. Arrays are
stored without pickling, so opening a file never runs code from it. Writes go
through a temporary file and a rename.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_path
from .pipeline import Settings

__all__ = [
    "FORMAT",
    "VERSION",
    "ComponentState",
    "Project",
    "SourceState",
    "ProjectError",
    "file_sha256",
    "load_project",
    "save_project",
]

FORMAT = "partwise-session"
#: Version 4 stores the multichannel model's channel gains; version 3 the
#: reference stems' files; version 2 each source's mute and solo beside its
#: name. Older files still open, as the mono model that made them.
VERSION = 4


class ProjectError(Exception):
    """A session file could not be read or written; the message names the file."""


@dataclass(frozen=True)
class ComponentState:
    """What the user decided about one NMF component (the app's state and the file's).

    Attributes
    ----------
    name : str
    colour : str
        ``#rrggbb``, used by every view that draws the component.
    gain : float
        Linear gain (1 = unchanged).
    mute, solo : bool
    source : int or None
        Zero-based index of the source the component belongs to (None: none yet).
    locked : bool
        The template stays fixed (bit for bit) on the next runs.
    """

    name: str
    colour: str = "#ffffff"
    gain: float = 1.0
    mute: bool = False
    solo: bool = False
    source: int | None = None
    locked: bool = False


@dataclass(frozen=True)
class SourceState:
    """What the user decided about one source (a group of components).

    A muted source silences its components; if any source is soloed, only the
    components of soloed sources sound (source solo wins over source mute).
    """

    name: str
    mute: bool = False
    solo: bool = False

    @classmethod
    def from_json(cls, item: str | dict) -> SourceState:
        """A source from a version 2 entry (a dict) or a version 1 entry (its name)."""
        return cls(item) if isinstance(item, str) else cls(**item)


@dataclass
class Project:
    """Everything needed to restore a session without re-running NMF.

    Attributes
    ----------
    audio_path : str
        The audio file, as it was when saved.
    audio_sha256 : str
        Hash of the audio file's bytes, to notice a changed file.
    settings : Settings
        STFT and solver parameters, seed included.
    W, H : np.ndarray, float32
        The factors.
    channel_gains : np.ndarray, float32, (channels, k), or None
        The multichannel model's gains, when it made the factors.
    losses : np.ndarray, float64
        Loss history.
    components : list of ComponentState
    sources : list of SourceState
        ``ComponentState.source`` indexes this list.
    references : list of str
        Files of the reference stems the separation is scored against.
    """

    audio_path: str
    audio_sha256: str
    settings: Settings
    W: np.ndarray
    H: np.ndarray
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    components: list[ComponentState] = field(default_factory=list)
    sources: list[SourceState] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    channel_gains: np.ndarray | None = None


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write ``project`` to ``path`` atomically.

    Raises
    ------
    ProjectError
        If the folder cannot be written; an existing file stays untouched.
    """
    path = Path(path)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "written_by": f"partwise {__version__}",
        "audio": {"path": project.audio_path, "sha256": project.audio_sha256},
        "settings": dataclasses.asdict(project.settings),
        "components": [dataclasses.asdict(c) for c in project.components],
        "sources": [dataclasses.asdict(source) for source in project.sources],
        "references": [str(path) for path in project.references],
    }
    try:
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("session.json", json.dumps(header, indent=2))
            zf.writestr("W.npy", _npy_bytes(np.asarray(project.W, np.float32)))
            zf.writestr("H.npy", _npy_bytes(np.asarray(project.H, np.float32)))
            zf.writestr("losses.npy", _npy_bytes(np.asarray(project.losses, np.float64)))
            if project.channel_gains is not None:
                gains = np.asarray(project.channel_gains, np.float32)
                zf.writestr("channel_gains.npy", _npy_bytes(gains))
    except OSError as exc:
        raise ProjectError(f"cannot write '{path.name}' ({exc.strerror or exc})") from None
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a session file.

    Raises
    ------
    ProjectError
        If the file is missing, not a session file, corrupt or truncated, or was
        written by a newer version of Partwise.
    """
    path = Path(path)
    name = f"'{path.name}'"
    if not path.is_file():
        raise ProjectError(f"{name} does not exist or is not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read("session.json"))
            if header.get("format") != FORMAT:
                raise ProjectError(f"{name} is not a Partwise session")
            version = header.get("version")
            if not isinstance(version, int) or version > VERSION:
                raise ProjectError(
                    f"{name} was written by a newer Partwise (format version {version}; "
                    f"this version reads up to {VERSION})"
                )
            arrays = {
                key: np.load(io.BytesIO(zf.read(f"{key}.npy")), allow_pickle=False)
                for key in ("W", "H", "losses")
            }
            if "channel_gains.npy" in zf.namelist():
                arrays["channel_gains"] = np.load(
                    io.BytesIO(zf.read("channel_gains.npy")), allow_pickle=False
                )
        # Files from before the multichannel model replay as the mono model that made them.
        settings = Settings(**{"spatial": False, **header["settings"]})
        components = [ComponentState(**c) for c in header["components"]]
        sources = [SourceState.from_json(item) for item in header.get("sources", [])]
        references = [str(path) for path in header.get("references", [])]
        audio = header["audio"]
    except ProjectError:
        raise
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, EOFError, OSError) as exc:
        raise ProjectError(
            f"{name} is corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from None
    W, H = arrays["W"], arrays["H"]
    k = settings.n_components
    if W.ndim != 2 or H.ndim != 2 or W.shape[1] != k or H.shape[0] != k or len(components) != k:
        raise ProjectError(f"{name} is inconsistent: factors {W.shape} x {H.shape} for k = {k}")
    gains = arrays.get("channel_gains")
    if gains is not None and (gains.ndim != 2 or gains.shape[1] != k or W.size == 0):
        raise ProjectError(f"{name} is inconsistent: channel gains {gains.shape} for k = {k}")
    return Project(
        audio_path=audio["path"],
        audio_sha256=audio["sha256"],
        settings=settings,
        W=W,
        H=H,
        losses=arrays["losses"],
        components=components,
        sources=sources,
        references=references,
        channel_gains=gains,
    )
