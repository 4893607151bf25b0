"""Writing a set of stems as one transaction: all files appear, or none do.

Every stem is first written to a hidden temporary file in the target folder;
only when all of them (and the manifest) are complete are they renamed into
place. A failure or cancellation part-way removes the temporary files and
leaves whatever was in the folder before untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .atomic import atomic_path
from .audio import FORMATS, SUBTYPES, Audio, AudioError, save

__all__ = ["StemSet", "check_writable_folder", "write_json_atomic"]


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


def write_json_atomic(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


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
        final = self.folder / f"{name}.{self.file_format}"
        if any(final == f for _, f in self._staged):
            raise AudioError(f"two stems would both be written to '{final.name}'")
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".stage", dir=self.folder)
        os.close(fd)
        # Track before writing so a failed write is cleaned up too.
        self._staged.append((Path(tmp), final))
        save(audio, tmp, subtype=self.subtype, file_format=self.file_format)
        return final

    def add_all(self, named: Iterable[tuple[str, Audio]]) -> list[Path]:
        """Stage several stems."""
        return [self.add(name, audio) for name, audio in named]

    def commit(self, manifest: dict | None = None) -> list[Path]:
        """Rename every staged stem into place, then write ``manifest.json``."""
        for tmp, final in self._staged:
            os.replace(tmp, final)
            self.written.append(final)
        self._staged.clear()
        if manifest is not None:
            write_json_atomic(manifest, self.folder / "manifest.json")
        return list(self.written)

    def discard(self) -> None:
        """Delete whatever is staged and not yet committed."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()
