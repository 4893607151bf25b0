"""Saving and reopening a whole session as a versioned ``.partwise`` file.

The file is a zip archive holding ``session.json`` (format name and version,
the audio's path and content hash, STFT and solver settings, every component's
state) and the arrays ``W.npy``, ``H.npy`` and ``losses.npy``, with
``channel_gains.npy`` and the user's paint, ``paint.npy``, when there are any.
Arrays are stored without pickling, so opening a file never runs code from it;
the paint, the one array that can be large, is checked against the session's
STFT grid from its header before a byte of it is read. Writes go through a
temporary file and a rename.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from tokenize import TokenError

import numpy as np

from . import __version__
from .atomic import atomic_path
from .guide import GuideError, check_paint
from .pipeline import Settings
from .project_checks import (
    ProjectError,
    check_array_header,
    check_components,
    check_factors,
    check_settings,
    check_sources,
    check_strings,
)

__all__ = [
    "FORMAT",
    "MAX_ARRAY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_PAINT_BYTES",
    "MAX_PAINT_SOURCES",
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
#: Version 5 stores the user's paint; version 4 the multichannel model's
#: channel gains; version 3 the reference stems' files; version 2 each source's
#: mute and solo beside its name. Older files still open (without paint, as the
#: mono model that made them).
VERSION = 5
#: Most sources a stored paint may have rows for.
MAX_PAINT_SOURCES = 64
#: Largest paint read from a session without factors, whose frame count is
#: not known until its audio is: 1 GiB, 64 sources of 20 minutes at 44.1 kHz
#: with the default 2048/512 STFT.
MAX_PAINT_BYTES = 1 << 30
PAINT_MEMBER = "paint.npy"
HEADER_MEMBER = "session.json"
GAINS_MEMBER = "channel_gains.npy"
#: Largest ``session.json`` read: a session's header is a few kilobytes per
#: hundred components; 1.5 GiB of whitespace is damage, not a session.
MAX_HEADER_BYTES = 16 << 20
#: Largest W, H, losses or channel gains read (a 3-hour stereo H at k = 128
#: is 0.4 GiB).
MAX_ARRAY_BYTES = 1 << 30
#: Most channels stored channel gains may have (the audio loader's limit).
MAX_CHANNELS = 8
_MAX_MEMBER_BYTES = max(MAX_ARRAY_BYTES, MAX_PAINT_BYTES) + 4096  # and the .npy header
_MAX_SESSION_BYTES = MAX_HEADER_BYTES + 4 * MAX_ARRAY_BYTES + MAX_PAINT_BYTES


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
    paint : np.ndarray, float32, (sources, bins, frames), or None
        The user's paint on the STFT grid (:mod:`dsp.guide`), row s for source s.
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
    paint: np.ndarray | None = None


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
            if project.paint is not None:
                zf.writestr(PAINT_MEMBER, _npy_bytes(np.asarray(project.paint, np.float32)))
    except OSError as exc:
        raise ProjectError(f"cannot write '{path.name}' ({exc.strerror or exc})") from None
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a session file, every field checked before use (session files are untrusted).

    Every zip member's uncompressed size is capped from the zip directory and
    read through a bounded reader; each array's ``.npy`` header is checked
    (real dtype, dimensions, size, shape against the settings) before its data
    is read; then every field of ``session.json`` is checked for type and
    range (:mod:`dsp.project_checks`) and the factors for finite, nonnegative
    values.

    Raises
    ------
    ProjectError
        One line naming the file and what is wrong with it: missing, not a
        session file, corrupt or truncated, written by a newer version of
        Partwise, too large, or a field that is not valid.
    """
    path = Path(path)
    name = f"'{path.name}'"
    if not path.is_file():
        raise ProjectError(f"{name} does not exist or is not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            _check_members(name, zf)
            header = _read_header(name, zf)
            return _read_project(name, zf, header)
    except ProjectError:
        raise
    except (zipfile.BadZipFile, zlib.error, KeyError, TypeError, ValueError, EOFError,
            OSError, RuntimeError, NotImplementedError) as exc:
        raise ProjectError(
            f"{name} is corrupt or truncated ({type(exc).__name__}: {exc})"[:400]
        ) from None


def _check_members(name: str, zf: zipfile.ZipFile) -> None:
    """Refuse encrypted members, unknown compression and sizes beyond the caps.

    The sizes come from the zip directory; :func:`_read_member` never reads
    more than they say, so a member that lies about its size is cut short
    (and fails its CRC) instead of filling the memory.
    """
    total = 0
    for info in zf.infolist():
        if info.flag_bits & 0x1:
            raise ProjectError(f"{name}: member '{info.filename}' is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ProjectError(f"{name}: member '{info.filename}' uses an unsupported "
                               f"compression (method {info.compress_type})")
        limit = MAX_HEADER_BYTES if info.filename == HEADER_MEMBER else _MAX_MEMBER_BYTES
        if info.file_size > limit:
            raise ProjectError(f"{name}: member '{info.filename}' of {info.file_size} bytes is "
                               f"larger than a session may hold ({limit} bytes)")
        total += info.file_size
    if total > _MAX_SESSION_BYTES:
        raise ProjectError(f"{name}: its members hold {total} bytes, more than a session may "
                           f"({_MAX_SESSION_BYTES} bytes)")


def _read_member(zf: zipfile.ZipFile, member: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``member`` (KeyError if there is no such member)."""
    with zf.open(member) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"member '{member}' is larger than {limit} bytes")
    return data


def _read_header(name: str, zf: zipfile.ZipFile) -> dict:
    """``session.json`` as a dict, its format and version checked."""
    try:
        header = json.loads(_read_member(zf, HEADER_MEMBER, MAX_HEADER_BYTES))
    except RecursionError:
        raise ProjectError(f"{name}: {HEADER_MEMBER} is nested too deeply") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ProjectError(f"{name} is not a Partwise session")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{name}: the format version must be a whole number from 1, "
                           f"got {version!r}"[:300])
    if version > VERSION:
        raise ProjectError(
            f"{name} was written by a newer Partwise (format version {version}; "
            f"this version reads up to {VERSION})"
        )
    return header


def _read_project(name: str, zf: zipfile.ZipFile, header: dict) -> Project:
    """The project ``header`` and the arrays of ``zf`` describe, every field checked."""
    version = header["version"]
    audio = header.get("audio")
    if (not isinstance(audio, dict) or not isinstance(audio.get("path"), str)
            or not isinstance(audio.get("sha256"), str)):
        raise ProjectError(f"{name}: audio must give the audio file's path and sha256")
    settings = check_settings(name, header.get("settings"), version=version)
    k, bins = settings.n_components, settings.n_fft // 2 + 1
    sources = [SourceState(*item) for item in check_sources(name, header.get("sources", []))]
    components = [ComponentState(**item)
                  for item in check_components(name, header.get("components"), k, len(sources))]
    references = check_strings(name, "references", header.get("references", []))
    W = check_factors(name, "W", _read_array(name, zf, "W", 2, np.float32))
    H = check_factors(name, "H", _read_array(name, zf, "H", 2, np.float32))
    stored = W.size > 0 and H.size > 0
    if W.shape[1:] != (k,) or H.shape[:1] != (k,) or (W.size and W.shape[0] != bins):
        raise ProjectError(f"{name} is inconsistent: factors {W.shape} x {H.shape} for k = {k} "
                           f"and {bins} frequency bins")
    losses = _read_array(name, zf, "losses", 1, np.float64)
    if not np.isfinite(losses).all():
        raise ProjectError(f"{name}: losses holds NaN or infinite values")
    gains = None
    if f"{GAINS_MEMBER}" in zf.namelist():
        gains = check_factors(name, "channel gains",
                              _read_array(name, zf, "channel_gains", 2, np.float32))
        if not stored or not 1 <= gains.shape[0] <= MAX_CHANNELS or gains.shape[1] != k:
            raise ProjectError(f"{name} is inconsistent: channel gains {gains.shape} for "
                               f"k = {k}")
    return Project(
        audio_path=audio["path"],
        audio_sha256=audio["sha256"],
        settings=settings,
        W=W,
        H=H,
        losses=losses,
        components=components,
        sources=sources,
        references=references,
        channel_gains=gains,
        paint=_read_paint(name, zf, bins, H.shape[1] if stored else None),
    )


def _read_npy(name: str, zf: zipfile.ZipFile, member: str, check) -> np.ndarray:
    """The array stored as ``member``; ``check(shape, dtype)`` vets its header first.

    ``check`` returns the number of values, and only that many are read.
    """
    label = "the paint" if member == PAINT_MEMBER else member.removesuffix(".npy")
    try:
        with zf.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ProjectError(f"{name}: {label} is stored as .npy version {version}, "
                                   "not 1.0 or 2.0")
            count = check(shape, dtype)
            data = fh.read(count * dtype.itemsize)
    except KeyError:
        raise ProjectError(f"{name} is corrupt or truncated: it has no {member}") from None
    except (ValueError, EOFError, SyntaxError, TokenError) as exc:
        # numpy parses the header's dict with tokenize and ast: damage raises their errors.
        raise ProjectError(f"{name}: {label} is unreadable ({type(exc).__name__}: {exc})"[:400]
                           ) from None
    if len(data) != count * dtype.itemsize:
        raise ProjectError(f"{name}: {label} is truncated ({len(data)} of "
                           f"{count * dtype.itemsize} bytes)")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _read_array(name: str, zf: zipfile.ZipFile, key: str, ndim: int, dtype) -> np.ndarray:
    """``<key>.npy``: ``ndim`` real dimensions of at most MAX_ARRAY_BYTES, as ``dtype``."""
    array = _read_npy(name, zf, f"{key}.npy", lambda shape, stored: check_array_header(
        name, key, shape, stored, ndim, MAX_ARRAY_BYTES))
    return array.astype(dtype) if array.dtype != dtype else array.copy()


def _read_paint(name: str, zf: zipfile.ZipFile, bins: int, frames: int | None
                ) -> np.ndarray | None:
    """The session's paint, float32 (sources, bins, frames), or None if it has none.

    The member's ``.npy`` header is checked first — a real dtype, three
    dimensions, at most :data:`MAX_PAINT_SOURCES` rows on the grid of the
    factors (``frames`` from H; without factors at most
    :data:`MAX_PAINT_BYTES`) — so a damaged or hostile file cannot make this
    allocate more than the session's own grid needs.

    Raises
    ------
    ProjectError
        One line naming the file and the paint.
    """
    if PAINT_MEMBER not in zf.namelist():
        return None
    paint = _read_npy(name, zf, PAINT_MEMBER, lambda shape, dtype: _check_paint_header(
        name, shape, dtype, bins, frames))
    try:
        return check_paint(paint, paint.shape[1:], name=name, min_sources=1)
    except GuideError as exc:
        raise ProjectError(str(exc)) from None


def _check_paint_header(
    name: str, shape: tuple, dtype: np.dtype, bins: int, frames: int | None
) -> int:
    """Number of values of a paint whose ``.npy`` header is ``shape`` and ``dtype``.

    Raises
    ------
    ProjectError
        If the header is not a paint for ``bins`` (and ``frames``, when known).
    """
    if dtype.hasobject:
        raise ProjectError(f"{name}: paint holds Python objects, which are never loaded")
    if dtype.fields is not None or dtype.kind not in "iuf":
        raise ProjectError(f"{name}: paint must be real numbers, got {dtype}")
    if len(shape) != 3 or min(shape) < 0:
        raise ProjectError(f"{name}: paint must be (sources, bins, frames), got shape {shape}")
    sources, paint_bins, paint_frames = shape
    if not 1 <= sources <= MAX_PAINT_SOURCES:
        raise ProjectError(
            f"{name}: paint has {sources} sources, a session holds 1 to {MAX_PAINT_SOURCES}")
    if paint_bins != bins:
        raise ProjectError(
            f"{name}: paint has {paint_bins} frequency bins, the session's STFT {bins}")
    if frames not in (None, paint_frames):
        raise ProjectError(
            f"{name}: paint is {paint_bins} bins x {paint_frames} frames, the factors "
            f"{bins} x {frames}")
    count = sources * paint_bins * paint_frames
    if frames is None and count * dtype.itemsize > MAX_PAINT_BYTES:
        raise ProjectError(
            f"{name}: paint of {count * dtype.itemsize} bytes is too large for a session "
            f"without factors (at most {MAX_PAINT_BYTES} bytes)")
    return count
