"""A small library of learned templates, one ``.npz`` per source, in the user data folder.

``<data dir>/templates/<name>.npz`` holds ``templates`` (bins × n, float32),
``rate`` and ``n_fft``. Templates learned at another rate or FFT size are
resampled along frequency when used (linear interpolation of the bins'
frequencies), so a library entry is reusable on other files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from dsp.atomic import atomic_path

from ..persistence import data_dir

__all__ = ["library_dir", "save_templates", "list_templates", "load_templates"]


def library_dir() -> Path:
    """``<data dir>/templates`` (``$PARTWISE_DATA_DIR`` overrides the data dir)."""
    return data_dir() / "templates"


def _file_name(name: str) -> str:
    safe = re.sub(r"[^\w\- ]+", "_", name).strip() or "templates"
    return f"{safe}.npz"


def save_templates(name: str, templates: np.ndarray, *, rate: int, n_fft: int) -> Path:
    """Store templates under ``name`` (replacing an entry of that name); returns the file."""
    folder = library_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(name)
    with atomic_path(path, suffix=".part.npz") as temporary:
        np.savez(temporary, templates=np.asarray(templates, np.float32), rate=int(rate),
                 n_fft=int(n_fft), name=str(name))
    return path


def list_templates() -> list[str]:
    """Names of the stored template sets, sorted."""
    folder = library_dir()
    return sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []


def load_templates(name: str, *, rate: int, n_fft: int) -> np.ndarray:
    """Templates ``name`` on the bins of ``rate``/``n_fft``, float32 (n_fft // 2 + 1, n).

    Raises
    ------
    OSError
        If the entry is missing or unreadable.
    """
    path = library_dir() / _file_name(name)
    try:
        with np.load(path) as data:
            templates = np.asarray(data["templates"], np.float32)
            stored_rate, stored_fft = int(data["rate"]), int(data["n_fft"])
    except (KeyError, ValueError) as exc:
        raise OSError(f"'{path.name}' is not a template set: {exc}") from None
    if (stored_rate, stored_fft) == (rate, n_fft):
        return templates
    source = np.fft.rfftfreq(stored_fft, 1 / stored_rate)
    target = np.fft.rfftfreq(n_fft, 1 / rate)
    resampled = np.stack(
        [np.interp(target, source, t, right=0.0) for t in templates.T], axis=1)
    return np.ascontiguousarray(resampled, dtype=np.float32)
