"""Peak memory of ``partwise separate`` by length of stereo 44.1 kHz audio, and its estimate.

Each run is the real CLI in a fresh process (reading, STFT, start, iterations,
rendering and writing every stem); its peak resident size is the kernel's
``ru_maxrss`` of that child alone (``os.wait4``). The audio is the song of
``bench/separate_speed.py`` (the stereo music corpus end to end, repeated),
written as 16-bit WAV. The iterations are few (memory does not depend on
them, and a 40-minute solve would take long); stems are written as 16-bit
WAV and deleted after each run. The estimate is :func:`dsp.memory.separation_need`,
which the CLI and the GUI check before they start.

    .venv/bin/python bench/memory_by_length.py [--runs 1:8 5:8 20:8 20:32 40:8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``bench`` and ``dsp`` importable
    sys.path.insert(0, str(ROOT))

from bench.separate_speed import RATE, song  # noqa: E402
from dsp.memory import GB, separation_need  # noqa: E402
from dsp.pipeline import Settings  # noqa: E402
from dsp.stft import frame_count  # noqa: E402


def peak_of_run(path: Path, out: Path, k: int, iterations: int) -> tuple[int, float]:
    """Peak RSS in bytes and wall seconds of one ``main.py separate`` in a fresh process."""
    command = [sys.executable, str(ROOT / "main.py"), "separate", str(path), "-k", str(k),
               "--iterations", str(iterations), "--sample-format", "pcm16", "--quiet",
               "--out", str(out)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} exited with {child.returncode}")
    return usage.ru_maxrss * 1024, wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["1:8", "5:8", "20:8", "20:32", "40:8"],
                        metavar="MINUTES:K", help="lengths in minutes and the k of each run")
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args(argv)
    runs = [(float(m), int(k)) for m, k in (run.split(":") for run in args.runs)]
    print(f"stereo {RATE} Hz, n_fft {Settings().n_fft}, hop {Settings().hop}, "
          f"{args.iterations} iterations, `partwise separate FILE -k K --iterations "
          f"{args.iterations} --sample-format pcm16`")
    print("| minutes | k | STFT frames | estimate GB | peak RSS GB | peak / estimate | wall s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        written = {}
        for minutes, k in runs:
            if minutes not in written:
                for old in written.values():
                    old.unlink()
                written = {minutes: Path(tmp) / f"song_{minutes:g}min.wav"}
                soundfile.write(written[minutes], song(minutes * 60), RATE, subtype="PCM_16")
            length = int(minutes * 60 * RATE)
            out = Path(tmp) / "out"
            peak, wall = peak_of_run(written[minutes], out, k, args.iterations)
            shutil.rmtree(out)
            need = separation_need(2, length, Settings(n_components=k))
            print(f"| {minutes:g} | {k} | {frame_count(length, Settings().hop)} | "
                  f"{need / GB:.2f} | {peak / GB:.2f} | {peak / need:.2f} | {wall:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
