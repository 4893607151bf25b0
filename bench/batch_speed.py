"""Throughput of a batch: ``partwise separate`` on 24 files, one after another against ``--jobs 2``.

The 24 files are 30 s of the stereo demo at 44.1 kHz, each with its own
fundamentals and rhythm, written as 16-bit WAV. Each run is the real command
in a fresh process (start-up, the local Dask cluster, reading, STFT, solving,
masks, writing every stem) with the default settings, so the figures are what
a user waits. The stems of both runs are compared byte for byte. Peak memory
is the largest resident set of any process of a run (``RUSAGE_CHILDREN``: with
``--jobs`` the worker processes, each separating one file at a time), read
after the parallel run, which runs first.

    .venv/bin/python bench/batch_speed.py [--files 24] [--seconds 30] [--jobs 2]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``dsp`` importable
    sys.path.insert(0, str(ROOT))

from dsp.demo import DEFAULT_SOURCES, make_demo  # noqa: E402

RATE = 44_100
PARTWISE = Path(sys.executable).parent / "partwise"


def write_inputs(folder: Path, files: int, seconds: float) -> None:
    """``files`` different demo mixtures: the sources' pitches shifted a semitone per file."""
    from dataclasses import replace

    for i in range(files):
        shift = 2 ** (i / 12)
        sources = tuple(replace(s, f0=s.f0 * shift) for s in DEFAULT_SOURCES)
        demo = make_demo(sources, duration=seconds, rate=RATE)
        soundfile.write(folder / f"take_{i + 1:02d}.wav", demo.mixture.samples, RATE,
                        subtype="PCM_16")


def timed(*args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(PARTWISE), "separate", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"partwise separate {' '.join(args)} failed:\n{proc.stderr}")
    return time.perf_counter() - started


def stems(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.wav"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        write_inputs(tmp / "in", args.files, args.seconds)
        parallel = timed(str(tmp / "in"), "--out", str(tmp / "par"), "--jobs", str(args.jobs),
                         "--quiet")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        sequential = timed(str(tmp / "in"), "--out", str(tmp / "seq"), "--quiet")
        same = stems(tmp / "par") == stems(tmp / "seq")
        count = len(stems(tmp / "seq"))
    print(f"{args.files} files of {args.seconds:g} s stereo at {RATE} Hz, default settings")
    print(f"sequential:  {sequential:7.1f} s  {60 * args.files / sequential:5.2f} files/min")
    print(f"--jobs {args.jobs}:    {parallel:7.1f} s  {60 * args.files / parallel:5.2f} files/min")
    print(f"throughput ratio: {sequential / parallel:.2f}x")
    print(f"stems identical: {same} ({count} stems)")
    print(f"peak memory of a worker process (one file at a time): {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
