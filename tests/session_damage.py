"""Damaged ``.partwise`` files for the tests of session files as untrusted input (issue 18 §3).

A small good session on its own real audio (so the CLI replays its stored
factors), and every kind of damage the issue found, as functions of the
file's members.
"""

import io
import json
import math
import struct
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from dsp import nmf
from dsp.pipeline import MAX_COUNT, MAX_MASK_POWER, MAX_N_FFT, Settings, hop_range
from dsp.project_file import (
    ComponentState,
    Project,
    SourceState,
    file_sha256,
    save_project,
)

RATE, SECONDS, K = 8000, 1.0, 3
SETTINGS = Settings(n_components=K, n_sources=2, n_fft=1024, hop=256, iterations=5, seed=1)
BINS = SETTINGS.n_fft // 2 + 1
FRAMES = 1 + int(RATE * SECONDS) // SETTINGS.hop


def good_session(folder: Path) -> Path:
    """``folder/s.partwise`` on ``folder/take.wav``: factors that fit it, two sources."""
    rng = np.random.default_rng(0)
    audio = folder / "take.wav"
    samples = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(RATE * SECONDS)) / RATE))
    sf.write(audio, samples.astype(np.float32), RATE, subtype="FLOAT")
    project = Project(
        audio_path=str(audio),
        audio_sha256=file_sha256(audio),
        settings=SETTINGS,
        W=rng.random((BINS, K), dtype=np.float32),
        H=rng.random((K, FRAMES), dtype=np.float32),
        losses=np.array([3.0, 2.0, 1.5]),
        components=[ComponentState(f"c{i}", source=i % 2) for i in range(K)],
        sources=[SourceState("low"), SourceState("high")],
    )
    return save_project(project, folder / "s.partwise")


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_members(path: Path, contents: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for n, data in contents.items():
            zf.writestr(n, data)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, dtype="<f4") -> bytes:
    """A .npy file that declares ``shape`` and holds 64 bytes of data."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(64)


def header_change(path: Path, change) -> None:
    contents = members(path)
    header = json.loads(contents["session.json"])
    change(header)
    contents["session.json"] = json.dumps(header).encode()
    write_members(path, contents)


def member_change(path: Path, **changes: bytes) -> None:
    contents = members(path)
    contents.update({name.replace("_npy", ".npy").replace("_json", ".json"): data
                     for name, data in changes.items()})
    write_members(path, contents)


def patch_directory(path: Path, member: str, offset: int, fmt: str, value) -> None:
    """Write ``value`` at ``offset`` of ``member``'s central-directory entry (and, for the
    flags and the method, its local header)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    name = member.encode()
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into(fmt, data, central + offset, value)
    if offset in (8, 10):  # flags, method: the same field sits 2 bytes earlier locally
        struct.pack_into(fmt, data, info.header_offset + offset - 2, value)
    path.write_bytes(bytes(data))


def flip_deflate_byte(path: Path, member: str = "W.npy") -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    local_name, local_extra = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + local_name + local_extra
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def settings_change(key, value):
    return lambda h: h["settings"].__setitem__(key, value)


def component_change(key, value, index=1):
    return lambda h: h["components"][index].__setitem__(key, value)


def array_change(key, change):
    """Change the stored array ``key`` (W, H) by ``change(array)``."""
    def damage(path):
        with zipfile.ZipFile(path) as zf:
            array = np.load(io.BytesIO(zf.read(f"{key}.npy"))).copy()
        member_change(path, **{f"{key}_npy": npy(change(array))})
    return damage


def _set(array, index, value):
    array[index] = value
    return array


#: name → (damage(path), words the one-line error must hold besides the file's name)
DAMAGE = {
    "encrypted member": (lambda p: patch_directory(p, "session.json", 8, "<H", 1), "encrypted"),
    "unknown compression": (lambda p: patch_directory(p, "W.npy", 10, "<H", 99), "compression"),
    "flipped deflate byte": (flip_deflate_byte, "corrupt"),
    "session.json is a list": (lambda p: member_change(p, session_json=b"[1, 2]"),
                               "not a Partwise session"),
    "session.json is null": (lambda p: member_change(p, session_json=b"null"),
                             "not a Partwise session"),
    "session.json is a string": (lambda p: member_change(p, session_json=b'"hello"'),
                                 "not a Partwise session"),
    "session.json nested 200 000 deep": (
        lambda p: member_change(p, session_json=b"[" * 200_000 + b"]" * 200_000), "nested"),
    "audio is a string": (lambda p: header_change(p, lambda h: h.__setitem__("audio", "x")),
                          "audio"),
    "audio without sha256": (lambda p: header_change(p, lambda h: h["audio"].pop("sha256")),
                             "sha256"),
    "complex W": (array_change("W", lambda a: a.astype(np.complex64)), "W must be real"),
    "structured W": (array_change("W", lambda a: np.zeros(a.shape, [("x", "<f4")])),
                     "W must be real"),
    "W declares 10^6 x 10^6": (lambda p: member_change(p, W_npy=npy_header((10**6, 10**6))),
                               "W of shape"),
    "n_fft is a string": (lambda p: header_change(p, settings_change("n_fft", "2048")),
                          "settings.n_fft"),
    "hop is a string": (lambda p: header_change(p, settings_change("hop", "512")),
                        "settings.hop"),
    "mask_power null": (lambda p: header_change(p, settings_change("mask_power", None)),
                        "settings.mask_power"),
    "tol null": (lambda p: header_change(p, settings_change("tol", None)), "settings.tol"),
    "seed 1.5": (lambda p: header_change(p, settings_change("seed", 1.5)), "settings.seed"),
    "seed 2^31 (beyond any front end)": (
        lambda p: header_change(p, settings_change("seed", 2**31)), "settings.seed"),
    "iterations 10^20": (lambda p: header_change(p, settings_change("iterations", 10**20)),
                         "settings.iterations"),
    "mask_power -1 with stored factors": (
        lambda p: header_change(p, settings_change("mask_power", -1)), "settings.mask_power"),
    "hop 0 with stored factors": (lambda p: header_change(p, settings_change("hop", 0)),
                                  "settings.hop"),
    "2-D losses": (lambda p: member_change(p, losses_npy=npy(np.ones((2, 3)))), "losses"),
    "W with NaN": (array_change("W", lambda a: _set(a, (4, 1), np.nan)), "W holds NaN"),
    "W negative": (array_change("W", lambda a: _set(a, (4, 1), -0.5)), "W holds negative"),
    "W 3e38": (array_change("W", lambda a: _set(a, (4, 1), 3e38)), "W holds values up to"),
    "H with inf": (array_change("H", lambda a: _set(a, (0, 3), np.inf)), "H holds NaN"),
    "source 99": (lambda p: header_change(p, component_change("source", 99)),
                  r"components\[1\].source"),
    "source -1": (lambda p: header_change(p, component_change("source", -1)),
                  r"components\[1\].source"),
    "source null": (lambda p: header_change(p, component_change("source", None)),
                    r"components\[1\].source"),
    "member declared 3.5 GB in the directory": (
        lambda p: patch_directory(p, "H.npy", 24, "<I", 3_500_000_000), "larger than"),
    "17 MiB of whitespace in session.json": (
        lambda p: member_change(p, session_json=members(p)["session.json"] + b" " * (17 << 20)),
        "larger than"),
    "W of another FFT size": (array_change("W", lambda a: a[:100]), "inconsistent"),
}
#: Damage only the audio can reveal: valid on its own, refused when replayed on its audio.
H_OF_OTHER_AUDIO = array_change("H", lambda a: a[:, :10])


def assert_valid(project: Project, path: Path) -> None:
    """Every field of a loaded ``project`` is of its type, in its range and fits the rest."""
    s = project.settings
    assert isinstance(project.audio_path, str) and isinstance(project.audio_sha256, str)
    for key in ("n_components", "iterations", "seed", "n_fft", "hop", "guide_iterations"):
        value = getattr(s, key)
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, key
    for key in ("iterations", "seed", "guide_iterations"):
        assert getattr(s, key) <= MAX_COUNT, key
    assert s.n_components >= 1 and s.n_sources in (None, *range(1, s.n_components + 1))
    assert 16 <= s.n_fft <= MAX_N_FFT and s.n_fft & (s.n_fft - 1) == 0
    low, high = hop_range(s.n_fft)
    assert low <= s.hop <= high
    for key in ("tol", "sparsity", "smoothness", "guide_strength", "mask_power"):
        value = getattr(s, key)
        assert isinstance(value, float) and math.isfinite(value) and value >= 0, key
    assert 0 < s.mask_power <= MAX_MASK_POWER
    assert s.loss in nmf.LOSSES and s.algorithm in nmf.ALGORITHMS and s.init in nmf.SOLVER_INITS
    assert isinstance(s.spatial, bool)
    k, bins = s.n_components, s.n_fft // 2 + 1
    W, H = project.W, project.H
    assert W.dtype == H.dtype == np.float32 and W.ndim == H.ndim == 2
    assert W.shape[1] == k and H.shape[0] == k and (W.size == 0 or W.shape[0] == bins)
    for factor in (W, H):
        assert np.isfinite(factor).all() and (factor >= 0).all() and (factor <= 1e12).all()
    assert project.losses.ndim == 1 and np.isfinite(project.losses).all()
    assert len(project.components) == k
    n_sources = len(project.sources)
    for c in project.components:
        assert isinstance(c.name, str) and isinstance(c.colour, str)
        assert isinstance(c.gain, float) and math.isfinite(c.gain) and c.gain >= 0
        assert all(isinstance(flag, bool) for flag in (c.mute, c.solo, c.locked))
        if n_sources:
            assert isinstance(c.source, int) and 0 <= c.source < n_sources
    for source in project.sources:
        assert isinstance(source.name, str) and isinstance(source.mute, bool)
    assert all(isinstance(r, str) for r in project.references)
    if project.channel_gains is not None:
        g = project.channel_gains
        assert g.ndim == 2 and g.shape[1] == k and np.isfinite(g).all() and (g >= 0).all()
    if project.paint is not None:
        p = project.paint
        assert p.ndim == 3 and p.shape[1] == bins and (H.size == 0 or p.shape[2] == H.shape[1])
        assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
