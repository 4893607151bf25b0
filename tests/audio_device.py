"""A real ALSA output device without speakers, for the playback tests.

ALSA's ``file`` plugin tees everything written to a PCM into a file; its slave
``null`` throws the audio away. Two facts shape this helper (checked with
alsa-lib 1.2.8 and PortAudio 19.6):

- the bytes are exactly the stream's samples: interleaved, in the stream's
  sample format (float32 little-endian here, because the player opens float32
  and ``null`` accepts it unconverted), channel count and rate. ``format "raw"``
  is used because the plugin's WAV header mislabels float32 as 32-bit integer PCM;
- ``null`` consumes samples as fast as they come, so by itself the "device"
  runs far faster than real time. The file is therefore a FIFO read at the
  sample rate by :class:`PacedSink`: a full pipe blocks PortAudio's writes,
  which paces the stream like a sound card's clock.

ALSA reads the asoundrc when PortAudio initialises, so the player runs in a
subprocess whose HOME holds it (:func:`run_scenario`). Run as a script, this
module is that subprocess: it plays a scenario and prints a JSON report.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

FRAME_BYTES = 4  # float32
_PIPE_BYTES = 16384  # the "device buffer": ~46 ms of stereo float32 at 44.1 kHz
_MAX_BURST = 4096  # bytes read at once at most: 512 stereo float32 frames


def require_portaudio() -> None:
    """Skip without PortAudio — but fail in CI, where these tests must run."""
    import pytest

    try:
        import sounddevice  # noqa: F401
    except (OSError, ImportError) as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the playback tests, but PortAudio is unusable: {exc}")
        pytest.skip(f"PortAudio is unusable: {exc}")


def looped(samples: np.ndarray, start: int, end: int, passes: int) -> np.ndarray:
    """What the player plays from 0 into a loop over ``start:end`` for ``passes`` passes.

    The last ``FADE`` frames of every pass crossfade (raised cosine) into the
    ``FADE`` frames before ``start``, as :mod:`app.playback.engine` renders them.
    """
    from app.playback.engine import FADE

    segment = samples[start:end].copy()
    t = ((np.arange(FADE) + 1) / (FADE + 1)).astype(np.float32)
    rise = (0.5 - 0.5 * np.cos(np.pi * t))[:, None]
    segment[-FADE:] += rise * (samples[start - FADE : start] - segment[-FADE:])
    return np.concatenate([samples[:start]] + [segment] * passes)


def asoundrc(default_pcm: str) -> str:
    """An asoundrc whose default PCM is ``default_pcm`` (the body of a pcm block)."""
    return f"pcm.!default {{\n{default_pcm}\n}}\n"


def file_device(path: Path) -> str:
    """The default PCM body that tees raw samples into ``path``, discarding the audio."""
    return f'    type file\n    slave.pcm "null"\n    file "{path}"\n    format "raw"'


def environment(home: Path, rc: str) -> dict:
    """A copy of the environment with HOME holding ``rc`` as its asoundrc.

    The checkout these tests belong to comes first on the subprocess's path:
    an editable install of another checkout must not be what plays.
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / ".asoundrc").write_text(rc)
    checkout = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=path)
    env.pop("ALSA_CONFIG_PATH", None)
    return env


class PacedSink:
    """The far end of the device FIFO, consuming bytes at the sample rate.

    Parameters
    ----------
    path : Path
        Where to create the FIFO (the asoundrc's ``file``).
    rate, channels : int
        The stream's format, which sets how fast bytes are consumed.
    """

    def __init__(self, path: Path, rate: int, channels: int) -> None:
        os.mkfifo(path)
        # A reader and a spare writer of our own: the plugin's open never blocks,
        # and reads never see end-of-file when PortAudio closes and reopens the PCM.
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keep = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self._bytes_per_second = rate * channels * FRAME_BYTES
        self._frame = channels * FRAME_BYTES
        self._channels = channels
        self._data = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._consume, daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        credit, last = 0.0, time.monotonic()
        while not self._stop.wait(0.002):
            now = time.monotonic()
            # Bank at most ~one block: after this thread was held up, the "clock"
            # slips instead of gulping a burst no sound card would ever take.
            credit = min(credit + (now - last) * self._bytes_per_second, _MAX_BURST)
            last = now
            want = int(credit) // self._frame * self._frame
            if want == 0:
                continue
            try:
                chunk = os.read(self._fd, want)
            except BlockingIOError:
                continue
            self._data += chunk
            credit -= len(chunk)

    def samples(self) -> np.ndarray:
        """Stop consuming; everything that reached the device, float32 (frames, channels)."""
        self._stop.set()
        self._thread.join()
        while True:  # what is still in the pipe was written to the device too
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._data += chunk
        os.close(self._fd)
        os.close(self._keep)
        whole = len(self._data) // self._frame * self._frame
        return np.frombuffer(bytes(self._data[:whole]), np.float32).reshape(-1, self._channels)


def run_scenario(env: dict, material: Path, scenario: str, timeout: float = 60.0) -> dict:
    """Play ``scenario`` of ``material`` (an .npz) in a subprocess; its JSON report."""
    done = subprocess.run(
        [sys.executable, __file__, str(material), scenario],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"player subprocess failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _play(material: Path, scenario: str) -> dict:
    """Subprocess side: play the material through the default device as ``scenario`` says."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.playback.player import Player
    from dsp.stft import analyse

    app = QApplication([])  # widgets: the "paint" scenario plays through PlaybackControl
    saved = np.load(material)
    spec = analyse(saved["samples"], int(saved["rate"]))
    W, H = saved["W"], saved["H"]
    player = Player()
    report = {"available": player.available, "reason": player.unavailable_reason}
    if not player.available:
        return report
    power = float(saved["power"])
    player.set_material(spec, W, H, power=power)
    k = W.shape[1]
    report.update(rate=spec.rate, channels=spec.channels, errors=[], toggle=None)
    player.error_occurred.connect(report["errors"].append)
    player.state_changed.connect(lambda state: state == "stopped" and app.quit())
    if scenario == "solo":
        player.set_gains(np.eye(k, dtype=np.float32)[2])
    elif scenario == "mute":
        player.set_gains(np.ones(k, np.float32))
        muted = np.ones(k, np.float32)
        muted[2] = 0.0
        watch = QTimer(interval=1)

        def toggle_when_due() -> None:
            if player.position >= float(saved["toggle_at"]):
                player.set_gains(muted)
                # Frames the device has consumed when the change was asked for.
                report["toggle"] = round(player.position * spec.rate)
                watch.stop()

        watch.timeout.connect(toggle_when_due)
        watch.start()
    elif scenario == "snapshot":
        # Start on a one-component model (the mixture), as before the solver runs;
        # then the solver's factors arrive mid-playback, with component 2 soloed.
        bins, frames = spec.shape
        player.set_material(
            spec, np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32), power=power
        )

        def arrive() -> None:
            report["toggle"] = round(player.position * spec.rate)
            player.set_factors(W, H)
            player.set_gains(np.eye(k, dtype=np.float32)[2])

        QTimer.singleShot(int(float(saved["toggle_at"]) * 1000), arrive)
    elif scenario == "paint":
        keep = _paint_scenario(player, spec, saved, report)  # noqa: F841 - alive while playing
    elif scenario in ("region", "region_off"):
        keep = _region_scenario(player, spec, saved, report, scenario)  # noqa: F841
    elif scenario == "devices":
        report["devices"] = Player.output_devices()
        default = next(d for d in report["devices"] if d["default"])
        player.set_device(default["name"])
        report["device"] = player.device
        QTimer.singleShot(300, player.stop)
    elif scenario == "loop":
        player.set_loop(float(saved["loop"][0]), float(saved["loop"][1]))
        QTimer.singleShot(int(saved["loop"][2] * 1000), player.stop)
    player.play()
    QTimer.singleShot(30_000, app.quit)  # never hang the test run
    app.exec()
    report["underruns"] = player._engine.underruns
    player.close()
    return report


def _paint_scenario(player, spec, saved, report):
    """The window's wiring without the window: a document whose source 0 (components 0
    and 1) is soloed plays through ``PlaybackControl``; at ``toggle_at`` a stroke paints
    every cell for source 1. Returns what must stay alive while playing."""
    from PySide6.QtCore import QTimer

    document, parent, control = _two_source_document(player, spec, saved)
    document.set_source_solo(0, True)
    watch = QTimer(interval=1)

    def stroke_when_due() -> None:
        if player.position >= float(saved["toggle_at"]):
            document.set_paint_block(1, slice(None), slice(None), np.ones(spec.shape))
            report["toggle"] = round(player.position * spec.rate)
            watch.stop()

    watch.timeout.connect(stroke_when_due)
    watch.start()
    return document, parent, control, watch


def _two_source_document(player, spec, saved):
    """A document of ``saved``'s audio and factors, components 0–1 and 2–3 as two
    sources, played through a real ``PlaybackControl``: (document, parent, control)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QWidget

    from app.document import Document
    from app.playback.control import PlaybackControl
    from dsp.audio import Audio
    from dsp.pipeline import Settings

    k = saved["W"].shape[1]
    document = Document(Settings(n_components=k, mask_power=float(saved["power"])))
    parent = QWidget()
    store = QSettings(str(Path.home() / "partwise.ini"), QSettings.IniFormat)
    control = PlaybackControl(document, player, parent, store=store)
    document.set_audio(Audio(saved["samples"], spec.rate), spec)
    document.set_factors(saved["W"], saved["H"], ())
    document.assign_sources([[0, 1], [2, 3]])
    return document, parent, control


def _region_scenario(player, spec, saved, report, scenario):
    """Hear painted region through ``PlaybackControl``: source 0 (components 0 and 1) has
    ``saved["paint"]``'s row 0; listening to it through itself starts playback. "region"
    stops after ``loop[2]`` seconds; "region_off" turns listening off ``region_off_at``
    seconds after the start and plays on to the end. Returns what must stay alive."""
    from PySide6.QtCore import QTimer

    from app.playback.region import Listening

    document, parent, control = _two_source_document(player, spec, saved)
    document.set_paint(saved["paint"])
    control.listen(Listening(0, 0))
    report["loop"] = control.loop
    if scenario == "region":
        QTimer.singleShot(int(saved["loop"][2] * 1000), player.stop)
    else:
        def turn_off() -> None:
            report["toggle"] = round(player.position * spec.rate)
            control.listen(None)
            report["loop_after"] = control.loop

        QTimer.singleShot(int(float(saved["region_off_at"]) * 1000), turn_off)
    return document, parent, control


if __name__ == "__main__":
    print(json.dumps(_play(Path(sys.argv[1]), sys.argv[2])))
