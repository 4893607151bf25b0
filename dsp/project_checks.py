"""Checking what a ``.partwise`` session file says before any of it is used.

Session files are untrusted input: every field of ``session.json`` and every
stored array is checked here for its type, its range and its shape against
the rest of the session, so a damaged or hostile file is refused with one
line naming the file and the field (:class:`ProjectError`) instead of a
traceback or garbage stems. :mod:`dsp.project_file` reads the file and calls
these checks; nothing here touches the file system.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields

import numpy as np

from . import nmf
from .pipeline import MAX_COUNT, MAX_MASK_POWER, MAX_N_FFT, Settings, hop_range

__all__ = [
    "MAX_COMPONENTS",
    "MAX_FACTOR",
    "ProjectError",
    "check_array_header",
    "check_components",
    "check_factors",
    "check_settings",
    "check_sources",
    "check_strings",
]

#: Most components a session may hold (the GUI and the CLI run far fewer).
MAX_COMPONENTS = 4096
#: Largest value a stored factor or channel gain may take. W H approximates a
#: magnitude spectrogram, which never exceeds n_fft / 2 (65 536 / 2) for audio
#: in [-1, 1]; far larger values only come from damage, and ones near the
#: float32 limit (3e38) overflow the masks into NaN stems.
MAX_FACTOR = 1e12
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ProjectError(Exception):
    """A session file could not be read or written; the message names the file."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _int_field(name: str, key: str, value, low: int, high: int | None = None) -> int:
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ProjectError(f"{name}: settings.{key} must be a whole number {bound}, "
                           f"got {value!r}")
    return value


def _float_field(name: str, key: str, value, low: float, high: float | None = None,
                 *, open_low: bool = False) -> float:
    if (not _is_number(value) or value < low or (open_low and value == low)
            or (high is not None and value > high)):
        above = f"above {low:g}" if open_low else f"at least {low:g}"
        bound = f"{above} and at most {high:g}" if high is not None else above
        raise ProjectError(f"{name}: settings.{key} must be a number {bound}, got {value!r}")
    return float(value)


def _choice_field(name: str, key: str, value, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ProjectError(f"{name}: settings.{key} must be one of {', '.join(choices)}, "
                           f"got {value!r}")
    return value


def check_settings(name: str, raw, *, version: int) -> Settings:
    """The :class:`Settings` a session's ``settings`` object describes.

    Files from before the multichannel model (version < 4) without
    ``spatial`` replay as the mono model that made them; other fields a file
    lacks take their defaults.

    Raises
    ------
    ProjectError
        Naming ``name`` (the quoted file name) and the first bad field.
    """
    if not isinstance(raw, dict):
        raise ProjectError(f"{name}: settings must be an object, got {type(raw).__name__}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ProjectError(f"{name}: settings has unknown fields {', '.join(map(repr, unknown))}")
    # A field an older version did not write takes today's default, as it always has.
    values = {"spatial": False, **raw} if version < 4 else dict(raw)
    defaults = Settings()
    get = lambda key: values.get(key, getattr(defaults, key))  # noqa: E731 - one use each
    k = _int_field(name, "n_components", get("n_components"), 1, MAX_COMPONENTS)
    sources = get("n_sources")
    if sources is not None:
        _int_field(name, "n_sources", sources, 1, k)
    n_fft = get("n_fft")
    if not _is_int(n_fft) or not 16 <= n_fft <= MAX_N_FFT or n_fft & (n_fft - 1):
        raise ProjectError(f"{name}: settings.n_fft must be a power of two from 16 to "
                           f"{MAX_N_FFT}, got {n_fft!r}")
    shortest, longest = hop_range(n_fft)
    layers = get("layers")
    if layers is not None and (not isinstance(layers, list) or not layers
                               or not all(_is_int(r) and 1 <= r <= MAX_COMPONENTS
                                          for r in layers)):
        raise ProjectError(f"{name}: settings.layers must be null or a list of ranks from 1 "
                           f"to {MAX_COMPONENTS}, got {layers!r}")
    if not isinstance(get("spatial"), bool):
        raise ProjectError(f"{name}: settings.spatial must be true or false, "
                           f"got {get('spatial')!r}")
    return Settings(
        n_components=k,
        n_sources=sources,
        loss=_choice_field(name, "loss", get("loss"), nmf.LOSSES),
        algorithm=_choice_field(name, "algorithm", get("algorithm"), nmf.ALGORITHMS),
        init=_choice_field(name, "init", get("init"), nmf.SOLVER_INITS),
        iterations=_int_field(name, "iterations", get("iterations"), 0, MAX_COUNT),
        tol=_float_field(name, "tol", get("tol"), 0.0),
        seed=_int_field(name, "seed", get("seed"), 0, MAX_COUNT),
        sparsity=_float_field(name, "sparsity", get("sparsity"), 0.0),
        smoothness=_float_field(name, "smoothness", get("smoothness"), 0.0),
        n_fft=n_fft,
        hop=_int_field(name, "hop", get("hop"), shortest, longest),
        mask_power=_float_field(name, "mask_power", get("mask_power"), 0.0, MAX_MASK_POWER,
                                open_low=True),
        layers=layers,
        spatial=get("spatial"),
        guide_strength=_float_field(name, "guide_strength", get("guide_strength"), 0.0),
        guide_iterations=_int_field(name, "guide_iterations", get("guide_iterations"), 0,
                                    MAX_COUNT),
    )


def check_strings(name: str, key: str, raw) -> list[str]:
    """A list of strings (``references``), or ProjectError naming ``key``."""
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ProjectError(f"{name}: {key} must be a list of file names")
    return list(raw)


def check_sources(name: str, raw) -> list:
    """The ``sources`` entries as (name, mute, solo) triples, version 1's bare names too."""
    if not isinstance(raw, list) or len(raw) > MAX_COMPONENTS:
        raise ProjectError(f"{name}: sources must be a list of at most {MAX_COMPONENTS}")
    checked = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"name": item}
        if (not isinstance(item, dict) or set(item) - {"name", "mute", "solo"}
                or not isinstance(item.get("name"), str)
                or not all(isinstance(item.get(key, False), bool) for key in ("mute", "solo"))):
            raise ProjectError(f"{name}: sources[{i}] must be a name with mute and solo "
                               f"true or false, got {item!r}"[:300])
        checked.append((item["name"], item.get("mute", False), item.get("solo", False)))
    return checked


_COMPONENT_TYPES = {"name": str, "colour": str, "mute": bool, "solo": bool, "locked": bool}


def check_components(name: str, raw, k: int, n_sources: int) -> list[dict]:
    """The ``components`` entries, one per component, each field checked.

    A component's source indexes the session's sources; a file that lists no
    sources (one saved before grouping existed) may leave it null or give
    each component one of k.
    """
    if not isinstance(raw, list) or len(raw) != k:
        count = len(raw) if isinstance(raw, list) else type(raw).__name__
        raise ProjectError(f"{name} is inconsistent: components must list {k} entries "
                           f"(one per component), got {count}")
    checked = []
    for i, item in enumerate(raw):
        where = f"{name}: components[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProjectError(f"{where} must be an object with a name")
        unknown = set(item) - {*_COMPONENT_TYPES, "gain", "source"}
        if unknown:
            raise ProjectError(f"{where} has unknown fields {', '.join(sorted(unknown))}")
        for key, kind in _COMPONENT_TYPES.items():
            if key in item and not isinstance(item[key], kind):
                raise ProjectError(f"{where}.{key} must be a {kind.__name__}, "
                                   f"got {item[key]!r}"[:300])
        if "colour" in item and not _COLOUR.fullmatch(item["colour"]):
            raise ProjectError(f"{where}.colour must be #rrggbb, got {item['colour']!r}"[:300])
        gain = item.get("gain", 1.0)
        if not _is_number(gain) or not 0 <= gain <= MAX_FACTOR:
            raise ProjectError(f"{where}.gain must be a number from 0, got {gain!r}")
        source = item.get("source")
        limit = n_sources or k
        if not (source is None and not n_sources) and not (
                _is_int(source) and 0 <= source < limit):
            raise ProjectError(f"{where}.source must be one of the {limit} sources "
                               f"(0 to {limit - 1}), got {source!r}")
        checked.append({**item, "gain": float(gain)})
    return checked


def check_array_header(name: str, label: str, shape: tuple, dtype: np.dtype, ndim: int,
                       max_bytes: int) -> int:
    """Number of values of a stored array whose ``.npy`` header says ``shape``, ``dtype``.

    Checked before a byte of its data is read: real numbers, ``ndim``
    dimensions and at most ``max_bytes``.
    """
    if dtype.hasobject:
        raise ProjectError(f"{name}: {label} holds Python objects, which are never loaded")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "iuf":
        raise ProjectError(f"{name}: {label} must be real numbers, got {dtype}")
    if len(shape) != ndim:
        raise ProjectError(f"{name}: {label} must have {ndim} dimensions, got shape {shape}")
    count = math.prod(shape)
    if count * dtype.itemsize > max_bytes:
        raise ProjectError(f"{name}: {label} of shape {shape} ({count * dtype.itemsize} "
                           f"bytes) is larger than a session may hold ({max_bytes} bytes)")
    return count


def check_factors(name: str, label: str, array: np.ndarray) -> np.ndarray:
    """``array`` as float32 if every value is finite, nonnegative and at most MAX_FACTOR."""
    values = np.asarray(array)
    if values.size and not np.isfinite(values).all():
        raise ProjectError(f"{name}: {label} holds NaN or infinite values")
    if values.size and values.min() < 0:
        raise ProjectError(f"{name}: {label} holds negative values (min {values.min():g})")
    if values.size and values.max() > MAX_FACTOR:
        raise ProjectError(f"{name}: {label} holds values up to {values.max():g}, beyond "
                           f"any magnitude (at most {MAX_FACTOR:g})")
    return np.ascontiguousarray(values, np.float32)
