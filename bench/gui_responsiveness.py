"""How responsive the window stays while NMF runs, and how fast a long spectrogram draws.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_responsiveness.py [--iterations 200]

1. Generates a 3-minute stereo 44.1 kHz mixture (``dsp.demo`` tones), opens it
   through the window's loader, and runs KL NMF with k = 16 in the worker while
   a 10 ms QTimer probe records how late the GUI thread wakes up.
   Meanwhile the playhead moves at 30 Hz as it does during playback (the
   player reports its position on a 33 ms timer), unless ``--no-playhead``.
2. Reports the probe's lateness (p50/p99/max); view refreshes per second, where
   a refresh is one repaint of the activations view (the time plot that shows
   both new factors and the moving playhead; Qt repaints only on a change), and
   the same count for the mixture spectrogram (which changes only with the playhead);
   new factor snapshots shown per second (bounded by the solver's iteration
   rate); and the GUI-thread time of one snapshot's slots (the repaint excluded,
   it is merged with the next paint and covered by the probe).
3. Draws the spectrogram of a 10-minute file: time from the finished STFT to
   the views updated.

With ``--long`` step 1 takes a 60-minute stereo file instead, and the probe
runs from the moment the file is opened, so the load (reading, STFT, the
first drawing) is covered too: ``load_lateness_max_ms`` is the GUI thread's
longest stall while it loaded. After the run the window then plays from the
start while its time views pan across the whole hour a minute at a time
(``browse_*``: the probe's lateness, the underruns the player counted).
PortAudio plays into ALSA's ``file`` device, a FIFO read at the sample rate
(``tests/audio_device.py``), so the player's producer runs at the pace of a
sound card: the benchmark re-runs itself in a subprocess whose HOME holds that
asoundrc.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's app, dsp and tests (the paced device)

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402

from app.gui import create_application, make_player  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.session_files import ASK_TO_SAVE_KEY  # noqa: E402
from dsp.audio import save  # noqa: E402
from dsp.demo import make_demo  # noqa: E402
from dsp.nmf.kernels import warm_up  # noqa: E402
from dsp.stft import analyse  # noqa: E402

PROBE_MS = 10
PLAYHEAD_MS = 33
BROWSE_MINUTES = 30.0  # files at least this long are also played while the views pan
BROWSE_SPAN = 60.0  # seconds shown while panning
BROWSE_STEPS = 60  # view positions across the file
BROWSE_STEP_S = 0.1  # seconds at each position
CHILD = "PARTWISE_BENCH_DEVICE"  # set in the subprocess that plays into the paced device


class PaintCounter(QObject):
    """Counts the paint events a widget receives."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def wait_for(signal, condition) -> None:
    """Run an event loop until ``signal`` fires with ``condition()`` true."""
    if condition():
        return
    loop = QEventLoop()
    signal.connect(lambda *_: condition() and loop.quit())
    loop.exec()


def bench_settings(path: Path) -> QSettings:
    """Settings of the benchmark's own: closing after a run must not ask to save."""
    settings = QSettings(str(path), QSettings.IniFormat)
    settings.setValue(ASK_TO_SAVE_KEY, False)
    return settings


def responsiveness(app, folder: Path, iterations: int, playhead: bool, minutes: float) -> dict:
    """Run the solver on a stereo file of ``minutes`` while probing the GUI thread."""
    path = save(make_demo(duration=60.0 * minutes, rate=44_100, channels=2).mixture,
                folder / "mixture.wav", subtype="pcm16")
    # A player only on a long file: it plays into the paced device (see main).
    player = make_player() if minutes >= BROWSE_MINUTES else None
    window = MainWindow(store=bench_settings(folder / "s.ini"), player=player)
    window.show()
    document = window.document
    lateness: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(PROBE_MS)

    def on_probe() -> None:
        lateness.append(max(0.0, clock.nsecsElapsed() / 1e6 - PROBE_MS))
        clock.restart()

    probe.timeout.connect(on_probe)
    clock.start()
    probe.start()
    started = time.perf_counter()
    window.open_file(path)
    wait_for(document.audio_changed, lambda: document.audio is not None)
    # The first drawing of the spectrogram views, in their render jobs on long files.
    for view in (window.spectrogram, window.reconstruction):
        while view._renders.busy:
            app.processEvents(QEventLoop.AllEvents, 50)
    load_s = time.perf_counter() - started
    load_late = max(lateness, default=0.0)
    lateness.clear()
    document.set_settings(replace(document.settings, n_components=16, loss="kl",
                                 iterations=iterations))
    app.processEvents()

    slot_s: list[float] = []
    set_factors = document.set_factors
    # The first snapshot is the initial factors: iterating starts there.
    first: dict[str, float] = {}

    def timed_set_factors(*args) -> None:
        t0 = time.perf_counter()
        if not first:
            first.update(time=t0, paints=activation_paints.count)
        set_factors(*args)
        slot_s.append(time.perf_counter() - t0)

    document.set_factors = timed_set_factors
    activation_paints = PaintCounter(window.activations.viewport())
    spectrogram_paints = PaintCounter(window.spectrogram.graphics.viewport())
    mover = QTimer()
    mover.setInterval(PLAYHEAD_MS)
    duration = document.audio.duration
    mover.timeout.connect(lambda: window.playback.position_changed.emit(
        (time.perf_counter() - run_started) % duration))
    # The probe also covers the initialisation (NNDSVDa), which runs in the worker too.
    clock.restart()
    run_started = time.perf_counter()
    if playhead:
        mover.start()
    window.control.run()
    wait_for(window.control.state_changed, lambda: window.control.state == "done")
    run_ended = time.perf_counter()
    run_s = run_ended - run_started
    iterating_s = run_ended - first["time"]
    mover.stop()
    late = np.array(lateness)
    browsed = browse(app, window, lateness) if minutes >= BROWSE_MINUTES else {}
    probe.stop()
    window.close()
    return {
        "minutes": minutes,
        "load_and_stft_s": load_s,
        "load_lateness_max_ms": load_late,
        **browsed,
        "iterations": document.n_iter,
        "run_s": run_s,
        "iterations_per_s": document.n_iter / run_s,
        "probe_samples": late.size,
        "lateness_p50_ms": float(np.percentile(late, 50)),
        "lateness_p99_ms": float(np.percentile(late, 99)),
        "lateness_max_ms": float(late.max()),
        "init_s": run_s - iterating_s,
        "refreshes_per_s": activation_paints.count / run_s,
        "refreshes_per_s_iterating": (activation_paints.count - first["paints"]) / iterating_s,
        "iterations_per_s_iterating": document.n_iter / iterating_s,
        "spectrogram_paints_per_s": spectrogram_paints.count / run_s,
        "snapshots_shown_per_s": len(slot_s) / run_s,
        "snapshot_slots_ms_mean": 1e3 * float(np.mean(slot_s)),
        "snapshot_slots_ms_p99": 1e3 * float(np.percentile(slot_s, 99)),
    }


def browse(app, window, lateness: list[float]) -> dict:
    """Play from the start while the time views pan across the file a minute at a time.

    ``lateness`` is the running probe's list; it is cleared first, so what it
    holds afterwards is this phase's.
    """
    duration = window.document.audio.duration
    view = window.spectrogram.plot
    lateness.clear()
    errors: list[str] = []
    window.playback.failed.connect(errors.append)
    window.playback.toggle()
    started = time.perf_counter()
    for left in np.arange(0.0, duration - BROWSE_SPAN, duration / BROWSE_STEPS):
        view.setXRange(left, left + BROWSE_SPAN, padding=0)
        step_end = time.perf_counter() + BROWSE_STEP_S
        while time.perf_counter() < step_end:
            app.processEvents(QEventLoop.AllEvents, 5)
    playing = window.playback.state
    window.playback.stop()
    late = np.array(lateness)
    label = window.playback.underrun_label
    return {
        "browse_s": time.perf_counter() - started,
        "browse_player_state": playing,
        "browse_player_errors": "; ".join(errors) or "none",
        "browse_lateness_p99_ms": float(np.percentile(late, 99)),
        "browse_lateness_max_ms": float(late.max()),
        "browse_underruns": label.text() if label.isVisibleTo(window) else "none",
    }


def long_spectrogram(app, folder: Path) -> dict:
    """Time from a finished STFT of a 10-minute file to the window's views drawn."""
    audio = make_demo(duration=600.0, rate=44_100, channels=1).mixture
    t0 = time.perf_counter()
    spec = analyse(audio.samples, audio.rate)
    spec.magnitude()  # the transform itself: a Spectrogram computes its frames on demand
    stft_s = time.perf_counter() - t0
    window = MainWindow(store=bench_settings(folder / "l.ini"))
    window.show()
    app.processEvents()
    t0 = time.perf_counter()
    window.document.set_audio(audio, spec)
    app.processEvents()
    draw_s = time.perf_counter() - t0
    shape = spec.shape
    window.close()
    return {"stft_s": stft_s, "draw_s": draw_s, "bins_x_frames": f"{shape[0]} x {shape[1]}"}


def on_paced_device(argv: list[str]) -> int:
    """Run this benchmark again with ALSA's default device a FIFO read at the sample rate."""
    from tests.audio_device import PacedSink, asoundrc, environment, file_device

    with tempfile.TemporaryDirectory() as home:
        fifo = Path(home) / "device.raw"
        sink = PacedSink(fifo, 44_100, 2)
        env = environment(Path(home), asoundrc(file_device(fifo))) | {CHILD: "1"}
        try:
            return subprocess.run([sys.executable, __file__, *argv], env=env).returncode
        finally:
            sink.samples()


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--no-playhead", dest="playhead", action="store_false",
                        help="do not move the playhead during the run")
    parser.add_argument("--long", action="store_true",
                        help="a 60-minute stereo file instead of 3 minutes, the load probed too")
    args = parser.parse_args()
    if args.long and CHILD not in os.environ:
        sys.exit(on_paced_device(sys.argv[1:]))
    app = create_application([])
    # As app.gui.run does before the window: no solver thread may compile (or even type)
    # a kernel, which holds the GIL and the GUI with it.
    warm_up()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        minutes = 60.0 if args.long else 3.0
        for name, value in responsiveness(app, folder, args.iterations, args.playhead,
                                          minutes).items():
            print(f"{name:24s} {value:.3f}" if isinstance(value, float) else f"{name:24s} {value}")
        for name, value in long_spectrogram(app, folder).items():
            print(f"10min_{name:16s} {value:.3f}" if isinstance(value, float)
                  else f"10min_{name:16s} {value}")


if __name__ == "__main__":
    main()
