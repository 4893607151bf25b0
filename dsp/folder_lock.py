"""Which run owns an output folder: a lock file naming its process, and whether that process lives.

A process is named by its PID and its start time (``PID-START``), so a PID
that a later process reuses does not pass for the run that died. The lock file
``.partwise.lock`` holds ``PID START``; a lock whose owner is gone (a SIGKILL,
a power cut) is stale and is taken over.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .audio import AudioError, file_mode

__all__ = ["LOCK", "FolderLock", "alive", "owner_tag", "process_start"]

#: The lock file of a folder a stem set is being written into: "PID START" of its owner.
LOCK = ".partwise.lock"


def process_start(pid: int) -> int:
    """When process ``pid`` started (clock ticks since boot, Linux), or 0 when unknown.

    With the PID it names one process: a PID reused by a later process has
    another start time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def owner_tag() -> str:
    """This process as ``PID-START``."""
    pid = os.getpid()
    return f"{pid}-{process_start(pid)}"


def alive(pid: int, start: int) -> bool:
    """Whether the process ``pid`` that started at ``start`` (0: unknown) is still running."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    now = process_start(pid)
    return not (start and now and now != start)


def _alive_on_windows(pid: int) -> bool:
    import ctypes

    kernel = ctypes.windll.kernel32
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
    finally:
        kernel.CloseHandle(handle)


class FolderLock:
    """Hold ``folder``'s lock file until :meth:`release`.

    Raises
    ------
    AudioError
        If a live process holds it (one line naming the folder and the process),
        or the folder cannot be written.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held = False
        lock = folder / LOCK
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode())
            except FileExistsError:
                holder = self.holder(folder)
                if holder is not None:
                    raise self.busy(folder, holder) from None
                # Left by a run that is gone: move it aside (one taker wins), then retry.
                stale = folder / f"{LOCK}.{secrets.token_hex(4)}"
                try:
                    os.replace(lock, stale)
                    stale.unlink()
                except OSError:
                    pass
                continue
            except OSError as exc:
                raise AudioError(f"cannot write to folder '{folder}' ({exc.strerror})") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(owner_tag().replace("-", " ") + "\n")
            self._held = True
            return
        raise self.busy(folder, self.holder(folder) or (0, 0))

    def release(self) -> None:
        """Remove the lock file (once)."""
        if self._held:
            (self.folder / LOCK).unlink(missing_ok=True)
            self._held = False

    @staticmethod
    def holder(folder: Path) -> tuple[int, int] | None:
        """The live owner (pid, start) of ``folder``'s lock, or None when it is free or stale."""
        try:
            pid, start = (int(x) for x in (folder / LOCK).read_text().split()[:2])
        except (OSError, ValueError):
            return None  # none, or unreadable or half-written by a run that died: stale
        return (pid, start) if alive(pid, start) else None

    @staticmethod
    def busy(folder: Path, holder: tuple[int, int]) -> AudioError:
        """The error refusing ``folder`` while ``holder`` writes it."""
        return AudioError(
            f"output folder '{folder}' is in use by another partwise run or export (process "
            f"{holder[0]}); wait for it to finish or choose another folder"
        )
