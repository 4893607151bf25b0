"""Which files a batch separates, and the subfolder of the output each one's stems go to."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .engine import FileTask

__all__ = [
    "AUDIO_SUFFIXES",
    "Input",
    "InputError",
    "expand_inputs",
    "plan_tasks",
    "subfolder_names",
]

#: What a folder is searched for (the formats the loader reads).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
_GLOB_CHARS = "*?["


class InputError(ValueError):
    """A folder or pattern given as input names no audio file; the message says which."""


@dataclass(frozen=True)
class Input:
    """One file of a batch.

    Attributes
    ----------
    path : Path
        The file, as given or as found (not resolved: the manifest records it).
    label : str
        How it is named to the user and the base of its output subfolder: its
        file name, or, when a folder or a pattern found it, its path below that
        folder (``a/song.wav``), so that the output mirrors the input tree.
    """

    path: Path
    label: str


def expand_inputs(
    inputs: Iterable[str | os.PathLike],
    *,
    recursive: bool = False,
    exclude: str | os.PathLike | None = None,
) -> list[Input]:
    """The files that ``inputs`` (files, folders, glob patterns) name, each once, in order.

    A folder gives its audio files (:data:`AUDIO_SUFFIXES`, hidden ones left
    out), with ``recursive`` those of its subfolders too; a pattern that names
    no existing path is expanded (``**`` spans folders). A file is taken as it
    is: one that cannot be read fails on its own when it is separated. Files
    that a folder or a pattern finds inside ``exclude`` (the output folder) are
    left out, so a batch never separates its own stems; a file named outright
    is kept (writing its stems over it is refused when they are written).

    Raises
    ------
    InputError
        If a folder holds no audio file or a pattern matches no file.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    found: list[Input] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            files = [p for p in path.glob(pattern) if p.suffix.lower() in AUDIO_SUFFIXES
                     and p.is_file() and not _hidden(p.relative_to(path))
                     and not _inside(p, skip)]
            if not files:
                hint = "" if recursive else "; --recursive searches its subfolders too"
                raise InputError(f"'{path.name}' is a directory holding no audio file "
                                 f"({' '.join(AUDIO_SUFFIXES)}){hint}")
            found += _below(path, files)
        elif not path.exists() and any(c in str(item) for c in _GLOB_CHARS):
            files = [Path(p) for p in glob.glob(str(item), recursive=True)]
            files = [p for p in files if p.is_file() and not _inside(p, skip)]
            if not files:
                raise InputError(f"'{item}' matches no file")
            found += _below(_glob_root(str(item)), files)
        else:
            found.append(Input(path, path.name))
    unique: dict[Path, Input] = {}
    for entry in found:
        unique.setdefault(entry.path.resolve(), entry)
    return list(unique.values())


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _glob_root(pattern: str) -> Path:
    """The folder of ``pattern`` before its first wildcard (``music/**/*.wav`` → ``music``)."""
    fixed = []
    for part in Path(pattern).parts:
        if any(c in part for c in _GLOB_CHARS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _below(root: Path, files: list[Path]) -> list[Input]:
    """``files`` labelled by their path below ``root``, in the order of those paths."""
    labelled = [Input(p, p.relative_to(root).as_posix()) for p in files]
    return sorted(labelled, key=lambda entry: entry.label)


def subfolder_names(labels: Sequence[str]) -> list[str]:
    """A distinct relative subfolder per input: its label without the suffix, ``_2``… on clashes.

    ``d1/song.wav d2/song.wav`` and ``song.wav song.flac`` would otherwise
    write into one folder, the second replacing the first. A label below a
    folder keeps it (``a/song.wav`` → ``a/song``); a name that is also a
    folder of another's path gets a suffix, so no set is written into a
    folder that holds other sets. Names are compared without case (case-
    insensitive file systems); the same labels give the same names, so a
    resumed run finds its earlier output.
    """
    bases = []
    for label in labels:
        path = PurePosixPath(label)
        bases.append(str(path.with_name(path.stem or "input")) if path.name else "input")
    parents = {str(parent).lower() for base in bases
               for parent in PurePosixPath(base).parents if str(parent) != "."}
    used: set[str] = set()
    names = []
    for base in bases:
        name, n = base, 1
        while name.lower() in used or name.lower() in parents:
            n += 1
            name = f"{base}_{n}"
        used.add(name.lower())
        names.append(name)
    return names


def plan_tasks(
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    recursive: bool = False,
    demo: bool = False,
) -> list[FileTask]:
    """A task per file that ``inputs`` name (and the built-in demo first, with ``demo``).

    One file given on its own writes its stems into ``out`` itself; several
    files, or any folder, each into a subfolder of ``out`` (:func:`subfolder_names`).

    Raises
    ------
    InputError
        As :func:`expand_inputs`.
    """
    out = Path(out)
    found = expand_inputs(inputs, recursive=recursive, exclude=out)
    labelled: list[tuple[str, Path | None]] = [("demo", None)] if demo else []
    labelled += [(entry.label, entry.path) for entry in found]
    several = len(labelled) > 1 or any(Path(item).is_dir() for item in inputs)
    names = subfolder_names([label for label, _ in labelled]) if several else [""]
    return [FileTask(label, path, out / name) for (label, path), name in zip(labelled, names)]
