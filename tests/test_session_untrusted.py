"""Session files are untrusted input (issue 18 §3): every damaged file is refused with one
line naming the file and the field — in process, through the CLI — and nothing is written."""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp.project_file import ProjectError, load_project

from .session_damage import (
    DAMAGE,
    H_OF_OTHER_AUDIO,
    assert_valid,
    good_session,
    members,
    write_members,
)
from .test_cli import run


def test_the_good_session_is_valid(tmp_path):
    path = good_session(tmp_path)
    assert_valid(load_project(path), path)


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_session_is_refused_in_one_line_naming_the_file_and_the_field(tmp_path, kind):
    damage, words = DAMAGE[kind]
    path = good_session(tmp_path)
    damage(path)
    with pytest.raises(ProjectError, match=words) as error:
        load_project(path)
    message = str(error.value)
    assert "'s.partwise'" in message and "\n" not in message and len(message) < 500


@pytest.mark.parametrize("kind", ["session.json nested 200 000 deep", "W declares 10^6 x 10^6",
                                  "n_fft is a string", "W with NaN", "source 99",
                                  "mask_power -1 with stored factors", "flipped deflate byte",
                                  "H of other audio"])
def test_the_cli_refuses_a_damaged_session_in_one_line_and_writes_nothing(tmp_path, kind):
    damage = H_OF_OTHER_AUDIO if kind == "H of other audio" else DAMAGE[kind][0]
    path = good_session(tmp_path)
    damage(path)
    out = tmp_path / "out"
    proc = run("separate", "--session", str(path), "--out", str(out), "--quiet")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'s.partwise'" in lines[0], proc.stderr
    assert not out.exists() or not any(out.rglob("*"))


# Values a field is retyped to: wrong types, out of range, huge, nested.
ODD_VALUES = st.sampled_from([None, "x", "2048", 1.5, -1, 0, 99, 2**70, 1e308, -0.0, True,
                              [], [1, 2], {}, {"a": 1}, float("nan")])


def _paths(value, prefix=()):
    """Every (path to a value) inside a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _at(document, path):
    for key in path:
        document = document[key]
    return document


@st.composite
def damaged_session(draw):
    """A mutation of the good session: a field removed or retyped, bytes flipped, an array
    replaced by another of a random dtype and shape, or members swapped or dropped."""
    kind = draw(st.sampled_from(["remove", "retype", "flip", "array", "swap", "drop"]))
    if kind in ("remove", "retype"):
        return kind, draw(st.integers(0, 10**6)), draw(ODD_VALUES)
    if kind == "flip":
        return kind, draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4)), None
    if kind == "array":
        dtype = draw(st.sampled_from(["<f4", "<f8", "<i4", "<c8", "|u1", "<f2"]))
        shape = draw(st.lists(st.integers(0, 40), max_size=3))
        fill = draw(st.sampled_from([0.5, -1.0, np.inf, np.nan, 3e38, 0.0]))
        return kind, draw(st.sampled_from(["W", "H", "losses", "channel_gains", "paint"])), (
            dtype, tuple(shape), fill)
    names = ["session.json", "W.npy", "H.npy", "losses.npy"]
    return kind, draw(st.sampled_from(names)), draw(st.sampled_from(names))


def apply_damage(path, damage):
    kind, where, value = damage
    contents = members(path)
    if kind in ("remove", "retype"):
        header = json.loads(contents["session.json"])
        paths = [p for p in _paths(header) if p]
        target = paths[where % len(paths)]
        parent = _at(header, target[:-1])
        if kind == "remove":
            del parent[target[-1]]
        else:
            parent[target[-1]] = value
        contents["session.json"] = json.dumps(header).encode()
    elif kind == "array":
        dtype, shape, fill = value
        with np.errstate(over="ignore", invalid="ignore"):
            array = np.full(shape, fill if np.dtype(dtype).kind in "fc" else 1, dtype)
        buffer = io.BytesIO()
        np.save(buffer, array)
        contents[f"{where}.npy"] = buffer.getvalue()
    elif kind == "swap":
        contents[where], contents[value] = contents[value], contents[where]
    elif kind == "drop":
        del contents[where]
    write_members(path, contents)
    if kind == "flip":
        data = bytearray(path.read_bytes())
        for offset in where:
            data[offset % len(data)] ^= 0xFF
        path.write_bytes(bytes(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage=damaged_session())
def test_a_mutated_session_is_either_refused_or_entirely_valid(tmp_path_factory, damage):
    path = good_session(tmp_path_factory.mktemp("mutated"))
    apply_damage(path, damage)
    try:
        project = load_project(path)
    except ProjectError as error:
        message = str(error)
        assert "'s.partwise'" in message and "\n" not in message
        return
    assert_valid(project, path)


def test_a_stored_zip_is_read_as_well_as_a_deflated_one(tmp_path):
    path = good_session(tmp_path)
    write_members(path, members(path), zipfile.ZIP_STORED)
    assert_valid(load_project(path), path)
    assert np.isfinite(load_project(path).W).all()


def _bomb(path, member, header: bytes, size: int) -> None:
    """Replace ``member`` by ``header`` and ``size`` bytes of zeros (spaces for JSON), deflated:
    a zip bomb of a few megabytes."""
    contents = members(path)
    del contents[member]
    write_members(path, contents)
    fill = b" " if member.endswith(".json") else b"\0"
    chunk = fill * (16 << 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            fh.write(header)
            for start in range(0, size, len(chunk)):
                fh.write(chunk[:size - start])


@pytest.mark.parametrize("member", ["H.npy", "session.json"])
def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path, member):
    import tracemalloc

    from .session_damage import FRAMES, K

    path = good_session(tmp_path)
    if member == "H.npy":  # H of 1.2 GB: 3 components x 10^8 frames, zeros
        frames = 100_000_000
        header = npy_header_only((K, frames))
        _bomb(path, member, header, K * frames * 4)
    else:  # 200 MiB of whitespace after the header
        header = members(path)["session.json"]
        _bomb(path, member, header, 200 << 20)
    assert path.stat().st_size < 8 << 20 and FRAMES < 100  # megabytes that expand to a gigabyte
    tracemalloc.start()
    try:
        with pytest.raises(ProjectError, match="larger than"):
            load_project(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def npy_header_only(shape) -> bytes:
    header = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
