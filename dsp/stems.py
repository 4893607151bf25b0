"""Writing a set of stems as one transaction: all files appear, or none do.

A set is written into a folder by one run at a time: :class:`StemSet` takes
the folder's lock file (``.partwise.lock``, its owner's PID and start time) and
refuses, with one line, a folder whose lock a live run holds. Every stem and
every extra file (factors, plots, CSVs) is first written into a hidden staging
folder inside the target (``.partwise-PID-START-TOKEN.stage``), and so is
``manifest.json``; a failure or cancellation part-way deletes the staging folder
and leaves the folder as it was. ``commit()`` then replaces the previous set
whole: with the stopping signals held back, the old manifest and every file it
lists are moved aside, the new files moved in and the new manifest last, so a
reader sees the old set, or the new one, never a mix (a failure rolls back).
Staging left by runs that are gone (a SIGKILL, a power cut) is removed by the
next set written into the folder; a live run's never is. Files get the mode the
umask gives (not ``mkstemp``'s 0600). A stem that would clip in pcm16/pcm24 is
written as float (WAV) or scaled (FLAC), said in its manifest entry and in
:attr:`StemSet.warnings`. :func:`manifest` builds the one manifest that the CLI
and the GUI's export both write.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_path
from .audio import FORMATS, SUBTYPES, Audio, AudioError, file_mode, save, write_reason
from .folder_lock import LOCK, FolderLock, alive, owner_tag

__all__ = [
    "StemSet",
    "check_writable_folder",
    "complete_set_hash",
    "manifest",
    "safe_name",
    "write_json_atomic",
]

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_name(text: str) -> str:
    """``text`` usable as (part of) a file name on every platform (``/`` → ``_``)."""
    return _UNSAFE.sub("_", text).strip().strip(".")


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises
    ------
    AudioError
        Naming the folder and why it cannot be written: an empty name, a file,
        no permission, or another live run holding its lock.
    """
    folder = Path(folder)
    if not str(folder).strip():
        raise AudioError("the output folder is an empty name; give a folder")
    if folder.exists() and not folder.is_dir():
        raise AudioError(f"output '{folder}' exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise AudioError(f"cannot write to folder '{folder}' ({exc.strerror})") from None
    holder = FolderLock.holder(folder)
    if holder is not None and holder[0] != os.getpid():
        raise FolderLock.busy(folder, holder)
    return folder


def _write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_json_atomic(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_json(data, tmp)
    return path


def manifest(
    audio: Audio,
    settings,
    losses: Sequence[float],
    stems: Sequence[dict],
    *,
    file_format: str,
    subtype: str,
    settings_hash: str | None = None,
    **extra,
) -> dict:
    """What ``manifest.json`` says of a stem set, the same for the CLI and the GUI.

    Parameters
    ----------
    audio : Audio
        The mixture (its path, rate, channels and length are recorded).
    settings : dataclass
        The parameters of the separation (``dsp.pipeline.Settings``).
    losses : sequence of float
        The loss after each iteration.
    stems : sequence of dict
        One entry per stem: ``file``, the 1-based ``components`` and any more keys.
    file_format, subtype : str
        How the stems are stored.
    settings_hash : str, optional
        A digest of everything that made the set besides the audio (a batch
        run's settings): a later run with the same one may skip the file
        (see :func:`complete_set_hash`).
    **extra
        More keys for the caller's own purpose (scores, the export's choices).
    """
    return {
        "partwise": __version__,
        "input": str(audio.path) if audio.path else None,
        "sample_rate": audio.rate,
        "channels": audio.channels,
        "frames": audio.frames,
        "format": file_format,
        "sample_format": subtype,
        "parameters": asdict(settings),
        "iterations": len(losses),
        "final_loss": float(losses[-1]) if len(losses) else None,
        "stems": list(stems),
        **({"settings_hash": settings_hash} if settings_hash else {}),
        **extra,
    }


def complete_set_hash(folder: str | os.PathLike) -> tuple[str, str | None] | None:
    """The settings hash and input of the stem set in ``folder``, if that set is complete.

    Complete: ``manifest.json`` reads, records a settings hash, and every file
    it lists is there (a set is published whole, so this fails only when a
    file was removed by hand). None otherwise.
    """
    folder = Path(folder)
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("settings_hash"), str):
        return None
    if not all((folder / name).is_file() for name in _previous_set(folder)):
        return None
    return data["settings_hash"], data.get("input")




#: Hidden staging folders are named ``.partwise-PID-START-TOKEN.stage``.
_STAGING = re.compile(r"^\.partwise-(\d+)-(\d+)-\w+\.stage$")
#: Signals held back while a set is renamed into place, so the commit is not cut in half.
_HELD = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class StemSet:
    """Stage stems in a hidden folder in ``folder``; publish them together with :meth:`commit`.

    Use as a context manager: leaving the block without ``commit()`` (an
    exception, a cancellation) deletes everything staged and frees the folder.

    Parameters
    ----------
    folder : path
        Target folder (created if missing).
    file_format : {'wav', 'flac'}
    subtype : {'pcm16', 'pcm24', 'float'}
    protect : iterable of path
        Files the set must never replace or remove (the inputs): a set that
        would is refused before anything is moved.

    Raises
    ------
    AudioError
        If the folder cannot be written or a live run holds its lock.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        file_format: str = "wav",
        subtype: str = "pcm24",
        protect: Iterable[str | os.PathLike] = (),
    ) -> None:
        if file_format not in FORMATS:
            raise AudioError(f"unsupported format {file_format!r}; use one of {list(FORMATS)}")
        if subtype not in SUBTYPES:
            raise AudioError(f"unsupported sample format {subtype!r}; use one of {list(SUBTYPES)}")
        if file_format == "flac" and subtype == "float":
            raise AudioError("FLAC stores integers: choose pcm16 or pcm24")
        self.folder = check_writable_folder(folder)
        self.file_format = file_format
        self.subtype = subtype
        self._protected = [Path(p) for p in protect]
        self._names: list[str] = []
        #: Per file name, what was changed so it would not clip (merged into the manifest).
        self.adjusted: dict[str, dict] = {}
        #: One line per stem that would have clipped.
        self.warnings: list[str] = []
        self.written: list[Path] = []
        self._lock = FolderLock(self.folder)
        self._remove_stale_staging()
        self._staging = self.folder / f".partwise-{owner_tag()}-{secrets.token_hex(4)}.stage"
        try:
            self._staging.mkdir()
        except OSError as exc:
            self._lock.release()
            raise AudioError(f"cannot write to folder '{self.folder}' ({exc.strerror})") from None

    def __enter__(self) -> StemSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()

    def add(self, name: str, audio: Audio) -> Path:
        """Stage one stem as ``name`` + extension; returns its final path.

        A stem whose peak exceeds full scale is not clipped: in WAV it is
        written as 32-bit float, in FLAC (integers only) scaled to full scale;
        either is recorded in :attr:`adjusted` and :attr:`warnings`.
        """
        file_name = f"{name}.{self.file_format}"
        subtype, samples = self.subtype, audio.samples
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if subtype != "float" and peak > 1.0:
            if self.file_format == "wav":
                subtype = "float"
                self.adjusted[file_name] = {"sample_format": "float", "peak": round(peak, 4)}
                self.warnings.append(f"'{file_name}' peaks at {peak:.3f}, above full scale: "
                                     f"written as 32-bit float instead of {self.subtype}")
            else:
                gain = 1.0 / peak
                samples = samples * np.float32(gain)
                self.adjusted[file_name] = {"gain": round(gain, 6), "peak": round(peak, 4)}
                self.warnings.append(f"'{file_name}' peaks at {peak:.3f}, above full scale: "
                                     f"scaled by {gain:.4f} (FLAC stores no float)")
        return self._stage(
            file_name,
            lambda path: save(Audio(samples, audio.rate), path, subtype=subtype,
                              file_format=self.file_format),
        )

    def add_all(self, named: Iterable[tuple[str, Audio]]) -> list[Path]:
        """Stage several stems."""
        return [self.add(name, audio) for name, audio in named]

    def add_file(self, name: str, write: Callable[[Path], None]) -> Path:
        """Stage any other file of the set: ``write(path)`` writes it; returns its final path."""
        if name == "manifest.json":
            raise AudioError("'manifest.json' is written by commit(), not added")
        return self._stage(name, write)

    def commit(self, manifest: dict | None = None) -> list[Path]:
        """Replace the folder's previous set with this one; returns the files, manifest last.

        The manifest is staged before anything is moved, so data it cannot
        store (NaN) fails the set with the folder untouched. The previous set
        is what the folder's ``manifest.json`` lists; its files that this set
        does not have are removed, so no stale stem stays beside the new
        manifest.
        """
        if manifest is not None:
            for entry in manifest.get("stems", []):
                if isinstance(entry, dict) and entry.get("file") in self.adjusted:
                    entry.update(self.adjusted[entry["file"]])
            self._stage("manifest.json", lambda tmp: _write_json(manifest, tmp))
        names = list(self._names)
        if manifest is None and (self.folder / "manifest.json").exists():
            names.append("manifest.json")  # the old one does not describe this set
        old = [n for n in _previous_set(self.folder) if n not in names]
        self._check_replaceable(names, old)
        aside = self._staging / ".previous"
        aside.mkdir()
        moves: list[tuple[Path, Path]] = []
        # A signal held back here arrives once the set is in place (or rolled back).
        with _signals_held():
            try:
                # The manifest first, so no manifest ever lists a half-moved set.
                for name in ["manifest.json", *old, *names]:
                    target = self.folder / name
                    if (target.exists() or target.is_symlink()) and not (aside / name).exists():
                        _move(target, aside / name, moves)
                for name in names:
                    if (self._staging / name).exists():
                        _move(self._staging / name, self.folder / name, moves)
            except BaseException:
                for source, target in reversed(moves):
                    os.replace(target, source)
                raise
        self.written = [self.folder / n for n in names if n != "manifest.json" or manifest]
        self._names.clear()
        self.discard()
        return list(self.written)

    def _check_replaceable(self, names: list[str], old: list[str]) -> None:
        for name in [*names, *old]:
            target = self.folder / name
            if target.is_dir() and not target.is_symlink():
                raise AudioError(f"'{target}' is a folder; a stem set's file cannot replace it")
            for path in self._protected:
                if _same_file(path, target):
                    raise AudioError(f"the output would replace the input '{path}'; choose "
                                     f"another output folder")

    def _stage(self, name: str, write: Callable[[Path], None]) -> Path:
        final = self.folder / name
        if name in self._names:
            raise AudioError(f"two files would both be written to '{final.name}'")
        for path in self._protected:
            if _same_file(path, final):
                raise AudioError(f"the output would replace the input '{path}'; choose "
                                 f"another output folder")
        self._names.append(name)
        tmp = self._staging / name
        try:
            write(tmp)
            os.chmod(tmp, file_mode())
        except OSError as exc:
            reason = write_reason(exc, self.folder)
            raise AudioError(f"could not write '{name}' ({reason})") from None
        return final

    def discard(self) -> None:
        """Delete whatever is staged and not yet committed, and free the folder."""
        self._names.clear()
        shutil.rmtree(self._staging, ignore_errors=True)
        self._lock.release()

    def _remove_stale_staging(self) -> None:
        """Delete staging folders of runs that are gone (we hold the lock: none is live)."""
        for entry in self.folder.iterdir():
            match = _STAGING.match(entry.name)
            if match and not alive(int(match[1]), int(match[2])):
                shutil.rmtree(entry, ignore_errors=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _move(source: Path, target: Path, moves: list[tuple[Path, Path]]) -> None:
    os.replace(source, target)
    moves.append((source, target))


def _previous_set(folder: Path) -> list[str]:
    """File names of the set ``folder/manifest.json`` describes (stems, extra files, mixture)."""
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    names = [e.get("file") for e in data.get("stems", []) if isinstance(e, dict)]
    names += [n for n in data.get("files", []) if isinstance(n, str)]
    names.append(data.get("mixture"))
    # Only plain names inside the folder: a manifest is not trusted to point elsewhere.
    return [n for n in names if isinstance(n, str) and n and n == Path(n).name
            and n not in (".", "..", LOCK)]


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl+C, SIGTERM and SIGHUP back until the block ends, then handle the first one.

    Python runs signal handlers on the main thread only, so only there can a
    signal cut the block short. (Blocking the signals with ``pthread_sigmask``
    would not do: the kernel hands them to another thread — numba's, BLAS's —
    and Python still runs the handler on the main thread at once.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in _HELD}
    for signum in _HELD:
        signal.signal(signum, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])
