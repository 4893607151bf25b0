"""Writing files so that a reader never sees a partial one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".part") -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file lives in the target folder, so the final ``os.replace``
    is atomic. If the block raises (a failed write, a full disk, Ctrl+C), the
    temporary file is deleted and an existing file at ``path`` is untouched.

    Raises
    ------
    OSError
        If no file can be created in the folder (callers turn this into their
        own error naming the file).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
