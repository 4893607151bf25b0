"""Audio files in and out: loading with clear errors, atomic saving.

Samples are always float32 with shape ``(frames, channels)``; channels are kept
as they are in the file, because the stems are reconstructed per channel.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic import atomic_path

__all__ = [
    "Audio", "AudioError", "FORMATS", "SUBTYPES", "file_mode", "load", "save", "write_reason",
]

MIN_RATE = 8_000
MAX_RATE = 192_000
MAX_CHANNELS = 8

#: Output sample formats a user can choose, mapped to soundfile subtypes.
SUBTYPES = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}
#: Output containers, mapped to soundfile formats.
FORMATS = {"wav": "WAV", "flac": "FLAC"}


class AudioError(Exception):
    """An audio file could not be read or written; the message names the file."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio.

    Attributes
    ----------
    samples : np.ndarray, float32, shape (frames, channels)
        Samples in [-1, 1] (float files may exceed it; they are not clipped).
    rate : int
        Sample rate in Hz.
    path : Path or None
        The file the audio came from, if any.
    """

    samples: np.ndarray
    rate: int
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[:, None]
        if samples.ndim != 2:
            raise ValueError(f"samples must be (frames, channels), got shape {samples.shape}")
        object.__setattr__(self, "samples", np.ascontiguousarray(samples))

    @property
    def frames(self) -> int:
        """Number of sample frames."""
        return self.samples.shape[0]

    @property
    def channels(self) -> int:
        """Number of channels."""
        return self.samples.shape[1]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate

    @property
    def name(self) -> str:
        """File name for messages, or ``'<memory>'``."""
        return self.path.name if self.path is not None else "<memory>"


def _expected_frames(info: sf._SoundFileInfo, path: Path) -> float | None:
    """Frames the header of a WAV promises, from its data chunk size, or None."""
    if info.format not in ("WAV", "WAVEX") or info.subtype not in _BYTES_PER_SAMPLE:
        return None
    # Walk the chunk headers wherever they are: metadata may push the data
    # chunk far into the file.
    with open(path, "rb") as fh:
        pos = 12
        while True:
            fh.seek(pos)
            header = fh.read(8)
            if len(header) < 8:
                return None
            chunk, size = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                if size in (0, 0xFFFFFFFF):
                    return None
                return size / (_BYTES_PER_SAMPLE[info.subtype] * info.channels)
            pos += 8 + size + (size & 1)


#: Frames an MP3 may decode short of its header's count and still be whole (two MPEG frames).
_MPEG_SLACK = 2 * 1152

_BYTES_PER_SAMPLE = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def load(path: str | os.PathLike) -> Audio:
    """Read an audio file (WAV, FLAC, OGG, AIFF, MP3, …) keeping its channels.

    Parameters
    ----------
    path : str or PathLike
        The file to read.

    Returns
    -------
    Audio
        float32 samples ``(frames, channels)`` at the file's own rate.

    Raises
    ------
    AudioError
        If the file is missing, a directory, not audio, empty, truncated, has an
        unsupported rate or channel count, or holds NaN or infinite samples.
    """
    path = Path(path)
    name = f"'{path.name}'"
    if not path.exists():
        raise AudioError(f"{name} does not exist ({path})")
    if path.is_dir():
        raise AudioError(f"{name} is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{name} is empty (0 bytes)")
    try:
        info = sf.info(str(path))
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{name} is not a readable audio file ({_reason(exc)})") from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{name} has sample rate {rate} Hz; {MIN_RATE}–{MAX_RATE} Hz supported")
    if not 1 <= samples.shape[1] <= MAX_CHANNELS:
        raise AudioError(f"{name} has {samples.shape[1]} channels; 1–{MAX_CHANNELS} supported")
    if samples.shape[0] == 0:
        raise AudioError(f"{name} contains no audio (0 frames)")
    expected = _expected_frames(info, path)
    if info.format in ("MP3", "MPEG") and info.frames > 0:
        # The Xing/Info header counts the frames; a file cut short decodes
        # fewer (its duration allows for the encoder's rounding).
        expected, slack = info.frames, max(_MPEG_SLACK, info.frames // 100)
    else:
        slack = 1
    if expected is not None and samples.shape[0] < int(expected) - slack:
        raise AudioError(
            f"{name} is truncated (header says {expected / rate:.2f} s, "
            f"{samples.shape[0] / rate:.2f} s present)"
        )
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise AudioError(f"{name} contains {bad} NaN or infinite samples")
    return Audio(samples, int(rate), path)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[-1] if "Error opening" in text else text


def save(
    audio: Audio,
    path: str | os.PathLike,
    *,
    subtype: str = "pcm24",
    file_format: str | None = None,
) -> Path:
    """Write audio atomically: to a temporary file in the target folder, then rename.

    Parameters
    ----------
    audio : Audio
        What to write.
    path : str or PathLike
        Destination; its suffix picks the container unless ``file_format`` is given.
    subtype : {'pcm16', 'pcm24', 'float'}
        Sample format.
    file_format : {'wav', 'flac'} or None
        Container; default from the suffix.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    AudioError
        If the folder cannot be written or the format is unsupported. No partial
        file is left behind and an existing file at ``path`` stays untouched.
    """
    path = Path(path)
    fmt = (file_format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise AudioError(f"'{path.name}': unsupported format {fmt!r}; use one of {list(FORMATS)}")
    if subtype not in SUBTYPES:
        raise AudioError(f"'{path.name}': unsupported sample format {subtype!r}")
    if fmt == "flac" and subtype == "float":
        raise AudioError(f"'{path.name}': FLAC stores integers; use pcm16 or pcm24")
    if not path.parent.is_dir():
        raise AudioError(f"cannot write to folder '{path.parent}' (it does not exist)")
    try:
        with atomic_path(path) as tmp:
            sf.write(tmp, audio.samples, audio.rate, subtype=SUBTYPES[subtype], format=FORMATS[fmt])
            os.chmod(tmp, file_mode())
    except (OSError, sf.LibsndfileError, RuntimeError) as exc:
        reason = write_reason(exc, path.parent)
        raise AudioError(f"could not write '{path.name}' ({reason})") from None
    return path


def file_mode() -> int:
    """The mode a new file gets from the umask (``0o666 & ~umask``), as ``open`` gives it.

    Temporary files start as 0600; the files a user keeps get this mode.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it elsewhere
    os.umask(mask)
    return 0o666 & ~mask


#: Below this many free bytes a failed write is put down to a full disk.
_NEARLY_FULL = 1 << 20


def write_reason(exc: BaseException, folder: str | os.PathLike) -> str:
    """Why a write into ``folder`` failed, in plain words.

    libsndfile reports a full disk as "System error."; the folder's free space
    tells that case apart.
    """
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    try:
        if shutil.disk_usage(folder).free < _NEARLY_FULL:
            return "no space left on device"
    except OSError:
        pass
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _reason(exc)
