"""Writing a set of stems as one transaction: all files appear, or none do.

Every stem and every extra file (factors, plots, CSVs) is first written to a
hidden temporary file in the target folder, and so is ``manifest.json``; only
when all of them are complete are they renamed into place, the manifest last.
A failure or cancellation part-way removes the temporary files and leaves
whatever was in the folder before untouched. :func:`manifest` builds the one
manifest that the CLI and the GUI's export both write.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .atomic import atomic_path
from .audio import FORMATS, SUBTYPES, Audio, AudioError, save

__all__ = ["StemSet", "check_writable_folder", "manifest", "safe_name", "write_json_atomic"]

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_name(text: str) -> str:
    """``text`` usable as (part of) a file name on every platform (``/`` → ``_``)."""
    return _UNSAFE.sub("_", text).strip().strip(".")


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises
    ------
    AudioError
        Naming the folder and why it cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise AudioError(f"output '{folder}' exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise AudioError(f"cannot write to folder '{folder}' ({exc.strerror})") from None
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
        **extra,
    }


class StemSet:
    """Stage stems in ``folder`` and publish them together with :meth:`commit`.

    Use as a context manager: leaving the block without ``commit()`` (an
    exception, a cancellation) deletes everything staged.

    Parameters
    ----------
    folder : path
        Target folder (created if missing).
    file_format : {'wav', 'flac'}
    subtype : {'pcm16', 'pcm24', 'float'}
    """

    def __init__(
        self, folder: str | os.PathLike, *, file_format: str = "wav", subtype: str = "pcm24"
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
        self._staged: list[tuple[Path, Path]] = []
        self.written: list[Path] = []

    def __enter__(self) -> StemSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()

    def add(self, name: str, audio: Audio) -> Path:
        """Stage one stem as ``name`` + extension; returns its final path."""
        return self.add_file(
            f"{name}.{self.file_format}",
            lambda tmp: save(audio, tmp, subtype=self.subtype, file_format=self.file_format),
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
        """Rename every staged file into place, then ``manifest.json``; returns them all.

        The manifest is staged before anything is renamed, so data it cannot
        store (NaN) fails the set with the folder untouched.
        """
        if manifest is not None:
            self._stage("manifest.json", lambda tmp: _write_json(manifest, tmp))
        for tmp, final in self._staged:
            os.replace(tmp, final)
            self.written.append(final)
        self._staged.clear()
        return list(self.written)

    def _stage(self, name: str, write: Callable[[Path], None]) -> Path:
        final = self.folder / name
        if any(final == f for _, f in self._staged):
            raise AudioError(f"two files would both be written to '{final.name}'")
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".stage", dir=self.folder)
        os.close(fd)
        # Track before writing so a failed write is cleaned up too.
        self._staged.append((Path(tmp), final))
        write(Path(tmp))
        return final

    def discard(self) -> None:
        """Delete whatever is staged and not yet committed."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()
