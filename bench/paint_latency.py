"""Painting during a solve on a 3-minute stereo song: stroke → updated sources, and GUI lateness.

The real window (offscreen) opens the song of :mod:`bench.separate_speed`
(the corpus's 44.1 kHz stereo cases end to end, 3 minutes), runs the blind
factorization for a few iterations, gives the components to four sources, and
then runs on, steered, while a simulated hand drags the brush over the
spectrogram: a stroke of ten mouse moves 16 ms apart (60 Hz) every
``--every`` seconds, each for the next of the four sources, through Qt's own
mouse events on the view.

Two figures, each against a reference measured in the same run:

* **stroke → updated sources**: from a stroke's release to the first solver
  snapshot in the window whose iteration used the stroke's paint (the solver
  is instrumented to time when it takes new weights). The reference is the
  solver's own iteration time in the same run, the least any update can take.
* **event-loop lateness**: a 5 ms timer's delay beyond its interval, p50 /
  p99 / max, while painting during the solve — and, as references, while the
  solver runs alone and while painting with no solve.

    .venv/bin/python bench/paint_latency.py            # ~3 minutes
    .venv/bin/python bench/paint_latency.py --seconds 60 --strokes 6
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if __package__ in (None, ""):  # run as a script: make ``bench``, ``app`` and ``dsp`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.gui_responsiveness import bench_settings  # noqa: E402
from bench.separate_speed import RATE, song  # noqa: E402

PROBE_MS = 5
SOURCES = 4
COMPONENTS = 32


class Probe:
    """A repeating timer's lateness: how long past its interval each tick came."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.late.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return list(self.late)

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.start()
        self.late.append(max(0.0, elapsed - PROBE_MS))


def wait(app: QApplication, condition, timeout: float = 600.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def pump(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def stroke(app: QApplication, view, painting, source: int, rng) -> float:
    """One drag of the brush at 60 Hz for ``source``; returns the release time."""
    painting.source_box.setCurrentIndex(source)
    viewport = view.graphics.viewport()
    spec_seconds = view.plot.vb.viewRange()[0]
    t0 = rng.uniform(spec_seconds[0] + 5, spec_seconds[1] - 10)
    hz = 10 ** rng.uniform(np.log10(150), np.log10(4000))

    def pixel(t, f):
        scene = view.plot.vb.mapViewToScene(QPointF(t, np.log10(f)))
        return view.graphics.mapFromScene(scene)

    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, pixel(t0, hz))
    for i in range(1, 11):
        pump(app, 0.016)
        QTest.mouseMove(viewport, pixel(t0 + 0.4 * i, hz * (1 + 0.02 * i)))
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, pixel(t0 + 4.0, hz * 1.2))
    return time.perf_counter()


def percentiles(late: list[float]) -> str:
    if not late:
        return "–"
    late = np.asarray(late)
    return (f"{np.percentile(late, 50):.1f} / {np.percentile(late, 99):.1f} / "
            f"{late.max():.1f} ms ({len(late)} ticks)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="song length (180)")
    parser.add_argument("--strokes", type=int, default=12, help="strokes painted (12)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between strokes (2)")
    args = parser.parse_args(argv)

    from app.main_window import MainWindow
    from dsp.nmf import guided

    taken: list[float] = []
    take = guided.GuidedSolver._take_steering

    def timed_take(self) -> None:
        due = self._next_steering is not None
        take(self)
        if due:
            taken.append(time.perf_counter())

    guided.GuidedSolver._take_steering = timed_take

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="partwise-paint-"))
    path = folder / "song.wav"
    soundfile.write(path, song(args.seconds), RATE, subtype="FLOAT")
    window = MainWindow(store=bench_settings(folder / "settings.ini"))
    window.resize(1600, 1000)
    window.show()
    document = window.document
    window.open_file(path)
    wait(app, lambda: document.magnitude is not None)
    document.set_settings(replace(document.settings, n_components=COMPONENTS, iterations=20))
    snapshots: list[float] = []
    document.factors_changed.connect(lambda: snapshots.append(time.perf_counter()))
    states: list[str] = []
    window.control.state_changed.connect(states.append)
    window.control.run()
    wait(app, lambda: "done" in states)
    blind = np.diff(snapshots[-10:]).mean() if len(snapshots) > 10 else float("nan")
    document.assign_sources([list(range(s, COMPONENTS, SOURCES)) for s in range(SOURCES)])
    painting = window.painting
    painting.brush_action.trigger()
    rng = np.random.default_rng(0)
    probe = Probe()

    probe.start()
    pump(app, 3.0)
    no_solve_strokes = [stroke(app, window.spectrogram, painting, 0, rng) for _ in range(3)]
    pump(app, 1.0)
    painting_alone = probe.stop()
    del no_solve_strokes

    document.set_settings(replace(document.settings, iterations=100_000))
    states.clear()
    resumed = len(snapshots)
    window.control.resume()
    wait(app, lambda: len(snapshots) >= resumed + 2)  # steered by the paint so far
    probe.start()
    pump(app, 6.0)
    solve_alone = probe.stop()
    first_guided = len(snapshots)

    probe.start()
    releases = []
    for i in range(args.strokes):
        releases.append(stroke(app, window.spectrogram, painting, i % SOURCES, rng))
        pump(app, args.every)
    pump(app, 3.0)
    both = probe.stop()
    window.control.stop()
    guided_iteration = np.diff(snapshots[first_guided:]).mean()

    latencies = []
    for release in releases:
        used = [t for t in taken if t >= release]
        if used:
            after = [t for t in snapshots if t > used[0]]
            if after:
                latencies.append(after[0] - release)
    latencies = np.asarray(latencies)
    shape = document.magnitude.shape
    print(f"{args.seconds:.0f} s stereo at {RATE} Hz: {shape[0]} bins × {shape[1]} frames, "
          f"k = {COMPONENTS} in {SOURCES} sources, {os.cpu_count()} cores")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| blind KL MU iteration (numba, reference) | {blind * 1000:.0f} ms |")
    print(f"| steered iteration (snapshot interval) | {guided_iteration * 1000:.0f} ms |")
    print(f"| stroke → updated sources, median / max over {len(latencies)} strokes | "
          f"{np.median(latencies) * 1000:.0f} / {latencies.max() * 1000:.0f} ms |")
    print(f"| lateness, painting during the solve (p50 / p99 / max) | {percentiles(both)} |")
    print(f"| lateness, solve alone | {percentiles(solve_alone)} |")
    print(f"| lateness, painting with no solve | {percentiles(painting_alone)} |")
    window.close()


if __name__ == "__main__":
    main()
