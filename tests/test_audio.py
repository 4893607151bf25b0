"""dsp.audio: every supported file loads with its channels; bad files fail clearly."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dsp.audio import Audio, AudioError, load, save


def tone(frames: int, channels: int, rate: int) -> np.ndarray:
    t = np.arange(frames) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], 1)


@pytest.mark.parametrize(
    "suffix, fmt, subtype, tolerance",
    [
        ("wav", "WAV", "PCM_16", 1e-4),
        ("wav", "WAV", "PCM_24", 1e-6),
        ("wav", "WAV", "PCM_32", 1e-6),
        ("wav", "WAV", "FLOAT", 0),
        ("flac", "FLAC", "PCM_16", 1e-4),
        ("flac", "FLAC", "PCM_24", 1e-6),
        ("aiff", "AIFF", "PCM_16", 1e-4),
        ("ogg", "OGG", "VORBIS", 0.1),
        ("mp3", "MP3", "MPEG_LAYER_III", 0.2),
    ],
)
def test_formats_load_as_float32_with_their_samples(tmp_path, suffix, fmt, subtype, tolerance):
    x = tone(8000, 2, 16000)
    path = tmp_path / f"x.{suffix}"
    sf.write(path, x, 16000, format=fmt, subtype=subtype)
    audio = load(path)
    assert audio.samples.dtype == np.float32
    assert audio.rate == 16000 and audio.channels == 2 and audio.path == path
    if fmt in ("OGG", "MP3"):  # lossy codecs add delay and padding: compare energy
        assert abs(audio.frames - 8000) < 3000
        assert np.isclose(np.sqrt(np.mean(audio.samples**2)), np.sqrt(np.mean(x**2)), rtol=0.2)
    else:
        assert audio.frames == 8000
        assert np.max(np.abs(audio.samples - x)) <= tolerance + 1e-7


@pytest.mark.parametrize("rate", [8000, 11025, 44100, 96000, 192000])
@pytest.mark.parametrize("channels", [1, 2, 6, 8])
def test_rates_and_channel_counts_are_kept(tmp_path, rate, channels):
    path = tmp_path / "x.wav"
    sf.write(path, tone(1000, channels, rate), rate, subtype="PCM_16")
    audio = load(path)
    assert (audio.rate, audio.channels, audio.frames) == (rate, channels, 1000)


@pytest.mark.parametrize("subtype", ["pcm16", "pcm24", "float"])
@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_save_round_trips(tmp_path, subtype, suffix):
    if suffix == "flac" and subtype == "float":
        with pytest.raises(AudioError, match="FLAC"):
            save(Audio(tone(100, 1, 8000), 8000), tmp_path / "x.flac", subtype="float")
        return
    x = tone(4000, 2, 22050).astype(np.float32)
    out = save(Audio(x, 22050), tmp_path / f"x.{suffix}", subtype=subtype)
    back = load(out)
    step = {"pcm16": 2**-15, "pcm24": 2**-23, "float": 0}[subtype]
    assert back.rate == 22050 and back.samples.shape == x.shape
    assert np.max(np.abs(back.samples - x)) <= step
    assert [p.name for p in tmp_path.iterdir()] == [f"x.{suffix}"]


def test_save_keeps_existing_file_when_write_fails(tmp_path):
    target = tmp_path / "keep.wav"
    target.write_bytes(b"precious")
    with pytest.raises(AudioError, match="unsupported format"):
        save(Audio(tone(100, 1, 8000), 8000), tmp_path / "keep.mp4")
    # A failing write (bad sample format) must neither touch the file nor leave a temp.
    with pytest.raises(AudioError):
        save(Audio(tone(100, 1, 8000), 8000), target, subtype="pcm12")
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]


def test_save_into_missing_folder_names_it(tmp_path):
    with pytest.raises(AudioError, match="cannot write to folder"):
        save(Audio(tone(100, 1, 8000), 8000), tmp_path / "no" / "such" / "x.wav")


def write_wav(path: Path, x: np.ndarray, rate=8000, subtype="PCM_16") -> Path:
    sf.write(path, x, rate, subtype=subtype)
    return path


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input and the words its error must contain."""
    (tmp_path / "folder.wav").mkdir()
    text = tmp_path / "notes.wav"
    text.write_text("these are my lyrics, not audio\n" * 20)
    empty = tmp_path / "empty.wav"
    empty.touch()
    full = write_wav(tmp_path / "full.wav", tone(8000, 1, 8000))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(full.read_bytes()[: 44 + 4000])
    nan = tone(4000, 1, 8000)
    nan[100] = np.nan
    inf = tone(4000, 1, 8000)
    inf[7] = np.inf
    return {
        "missing": (tmp_path / "missing.wav", "does not exist"),
        "directory": (tmp_path / "folder.wav", "is a directory"),
        "text": (text, "not a readable audio file"),
        "empty": (empty, "is empty"),
        "truncated": (truncated, "is truncated"),
        "nan": (write_wav(tmp_path / "nan.wav", nan, subtype="FLOAT"), "NaN or infinite"),
        "inf": (write_wav(tmp_path / "inf.wav", inf, subtype="FLOAT"), "NaN or infinite"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "directory", "text", "empty", "truncated", "nan", "inf"]
)
def test_bad_files_raise_an_error_naming_file_and_problem(tmp_path, case):
    path, words = bad_files(tmp_path)[case]
    with pytest.raises(AudioError) as err:
        load(path)
    assert f"'{path.name}'" in str(err.value)
    assert words in str(err.value)


def test_truncated_message_gives_both_durations(tmp_path):
    path, _ = bad_files(tmp_path)["truncated"]
    with pytest.raises(AudioError, match=r"header says 1\.00 s, 0\.25 s present"):
        load(path)


def test_unsupported_rate_is_refused(tmp_path):
    path = write_wav(tmp_path / "slow.wav", tone(100, 1, 4000), rate=4000)
    with pytest.raises(AudioError, match="4000 Hz"):
        load(path)


def test_a_truncated_wav_whose_data_starts_after_64_kib_is_refused(tmp_path):
    full = write_wav(tmp_path / "full.wav", tone(8000, 1, 8000)).read_bytes()
    fmt_end = 12 + 8 + int.from_bytes(full[16:20], "little")
    padding = b"LIST" + (70_000).to_bytes(4, "little") + b"\0" * 70_000
    data = full[fmt_end:]
    assert data[:4] == b"data"
    body = full[12:fmt_end] + padding + data
    whole = b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body
    path = tmp_path / "metadata_first.wav"
    path.write_bytes(whole[: len(whole) - 12_000])  # 6000 of 8000 frames
    with pytest.raises(AudioError, match=r"is truncated \(header says 1.00 s, 0.25 s present\)"):
        load(path)
