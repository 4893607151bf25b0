"""What the window remembers between runs (QSettings): parameters and recent files."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from PySide6.QtCore import QSettings

from dsp.pipeline import Settings

__all__ = ["load_parameters", "save_parameters", "recent_files", "add_recent_file", "MAX_RECENT"]

MAX_RECENT = 8


def load_parameters(store: QSettings) -> Settings:
    """The parameters saved last time; defaults for anything missing or unreadable."""
    try:
        saved = json.loads(str(store.value("parameters", "{}")))
    except json.JSONDecodeError:
        return Settings()
    known = {f.name: f.type for f in fields(Settings)}
    defaults = Settings()
    values = {}
    for name, value in saved.items() if isinstance(saved, dict) else ():
        default = getattr(defaults, name, None) if name in known else None
        if default is not None and isinstance(value, type(default)):
            values[name] = value
    try:
        return Settings(**values)
    except (TypeError, ValueError):
        return Settings()


def save_parameters(store: QSettings, settings: Settings) -> None:
    """Remember ``settings`` for the next start."""
    store.setValue("parameters", json.dumps(asdict(settings)))


def recent_files(store: QSettings) -> list[str]:
    """Recently opened files, most recent first."""
    value = store.value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value or []]


def add_recent_file(store: QSettings, path: str) -> list[str]:
    """Put ``path`` first in the recent files and return the new list."""
    files = [path] + [p for p in recent_files(store) if p != path]
    store.setValue("recent_files", files[:MAX_RECENT])
    return files[:MAX_RECENT]
