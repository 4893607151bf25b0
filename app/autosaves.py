"""One autosave per running instance, and the autosaves of instances that are gone.

Every running Partwise autosaves to a file of its own in the data folder,
``autosave-<pid>-<start>.partwise``, beside a lock, ``….lock``, that names its
owner (process id and the process's start time, so a reused process id is not
mistaken for it) and the session file the work was last saved as or opened
from. At start-up only autosaves whose owner is gone are offered for
recovery, so a second instance never offers, or deletes, the autosave of one
still running. Plain Python (no Qt): the autosaver and the start-up offer in
:mod:`app.persistence` and :mod:`app.session_files` use it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dsp.folder_lock import alive, process_start

__all__ = ["Owner", "Recovery", "autosave_name", "lock_path", "orphans", "read_lock", "set_aside",
           "write_lock"]

PREFIX = "autosave"
DAMAGED = ".damaged"


@dataclass(frozen=True)
class Owner:
    """A process: its id and its start time (:func:`dsp.folder_lock.process_start`, 0 unknown)."""

    pid: int
    started: int

    @classmethod
    def this_process(cls) -> Owner:
        return cls(os.getpid(), process_start(os.getpid()))

    def is_running(self) -> bool:
        """Whether this process still runs (the same one, not a later one with its id)."""
        return self.pid > 0 and alive(self.pid, self.started)


def autosave_name(owner: Owner) -> str:
    """The file name of ``owner``'s autosave."""
    started = f"-{owner.started}" if owner.started else ""
    return f"{PREFIX}-{owner.pid}{started}.partwise"


def lock_path(autosave: Path) -> Path:
    """The lock beside an autosave: its owner and the session file it belongs to."""
    return autosave.with_suffix(".lock")


def write_lock(autosave: Path, owner: Owner, session: Path | None) -> None:
    """Claim ``autosave`` for ``owner``, linked to the saved ``session`` (or None)."""
    lock = lock_path(autosave)
    tmp = lock.with_name(f".{lock.name}.tmp")
    tmp.write_text(json.dumps({"pid": owner.pid, "started": owner.started,
                               "session": str(session) if session is not None else None}))
    os.replace(tmp, lock)


def read_lock(autosave: Path) -> tuple[Owner | None, Path | None]:
    """The owner and linked session a lock names; (None, None) if it is missing or damaged."""
    try:
        data = json.loads(lock_path(autosave).read_text())
        owner = Owner(int(data["pid"]), int(data["started"] or 0))
        session = data.get("session")
        return owner, Path(session) if isinstance(session, str) and session else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None, None


@dataclass(frozen=True)
class Recovery:
    """An autosave left by an instance that is gone.

    Attributes
    ----------
    autosave : Path
    session : Path or None
        The session file the work was last saved as or opened from.
    """

    autosave: Path
    session: Path | None = None

    @property
    def session_is_newer(self) -> bool:
        """Whether the linked session file was written after the autosave (a Save, then a crash)."""
        if self.session is None:
            return False
        try:
            return self.session.stat().st_mtime_ns >= self.autosave.stat().st_mtime_ns
        except OSError:
            return False


def orphans(folder: Path) -> list[Recovery]:
    """Autosaves in ``folder`` whose owner is gone, newest first (an unlocked one is gone)."""
    found = []
    for autosave in folder.glob(f"{PREFIX}*.partwise"):
        owner, session = read_lock(autosave)
        if owner is not None and owner.is_running():
            continue
        try:
            found.append((autosave.stat().st_mtime_ns, Recovery(autosave, session)))
        except OSError:
            continue
    return [recovery for _, recovery in sorted(found, key=lambda item: -item[0])]


def set_aside(autosave: Path) -> Path:
    """Rename a damaged autosave ``….partwise.damaged`` (kept, never offered again)."""
    target = autosave.with_name(autosave.name + DAMAGED)
    counter = 1
    while target.exists():
        counter += 1
        target = autosave.with_name(f"{autosave.name}.{counter}{DAMAGED}")
    os.replace(autosave, target)
    lock_path(autosave).unlink(missing_ok=True)
    return target
