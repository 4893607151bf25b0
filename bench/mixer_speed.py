"""Speed and memory of the live mixer (dsp.mixer) as the player drives it.

Run from the repository root:

    .venv/bin/python bench/mixer_speed.py            # prints the table, writes docs/performance.md
    .venv/bin/python bench/mixer_speed.py --seconds 5 --no-write

Renders stereo 44.1 kHz audio (n_fft 2048, hop 512) in the player's 512-frame
blocks with a new gain vector before every block — the worst case, a ramp in
every block — for k = 8, 32 and 64 components, with the ratio mask (α = 1) and
the product's default mask exponent (what the player uses), on one core (BLAS and FFT
threads pinned to one before numpy loads). Reports render time per second of
audio, the real-time factor, and the peak memory the mixer allocates while it
renders (tracemalloc, which numpy reports its buffers to), for two file lengths
to show it grows with neither k nor length.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as the target says

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nmf_common import markdown_table  # noqa: E402
from report import write_section  # noqa: E402

from app.playback.player import BLOCK  # noqa: E402
from dsp.mixer import Mixer  # noqa: E402
from dsp.pipeline import Settings  # noqa: E402
from dsp.stft import analyse  # noqa: E402

RATE = 44_100
SECTION = "## Live mixer speed"
COMMAND = ".venv/bin/python bench/mixer_speed.py"


def material(seconds: float, k: int, seed: int = 0):
    """A stereo noise spectrogram and random nonnegative factors with ``k`` components."""
    rng = np.random.default_rng(seed)
    samples = (0.1 * rng.standard_normal((round(seconds * RATE), 2))).astype(np.float32)
    spec = analyse(samples, RATE)
    bins, frames = spec.shape
    W = rng.random((bins, k), dtype=np.float32)
    H = rng.random((k, frames), dtype=np.float32)
    return spec, W, H


def render_all(mixer: Mixer, gains: np.ndarray) -> None:
    """Render the whole file block by block, with the next row of ``gains`` before each."""
    for g in gains:
        mixer.set_gains(g)
        mixer.render(BLOCK)


def measure(
    seconds: float, k: int, power: float, repeats: int = 3
) -> tuple[float, float, float]:
    """Best wall and CPU seconds of rendering per second of audio, and peak MiB allocated."""
    spec, W, H = material(seconds, k)
    blocks = -(-spec.length // BLOCK)
    gains = np.random.default_rng(1).random((blocks, k), dtype=np.float32)
    best = cpu = float("inf")
    for _ in range(repeats):
        mixer = Mixer(spec, W, H, power=power, ramp=BLOCK)
        start, start_cpu = time.perf_counter(), time.thread_time()
        render_all(mixer, gains)
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.thread_time() - start_cpu)
    tracemalloc.start()
    render_all(Mixer(spec, W, H, power=power, ramp=BLOCK), gains)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best / seconds, cpu / seconds, peak / 2**20


def main() -> None:
    """Measure, print the table, and write the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="file length (s)")
    parser.add_argument("--no-write", action="store_true", help="do not touch the docs")
    args = parser.parse_args()
    rows = []
    powers = (1.0, Settings().mask_power)
    for seconds in (args.seconds, 2 * args.seconds):
        for k in (8, 32, 64):
            for power in powers:
                per_second, cpu, peak = measure(seconds, k, power)
                rows.append(
                    [
                        f"{seconds:g} s",
                        str(k),
                        f"{power:g}",
                        f"{1000 * per_second:.1f} ms",
                        f"{1 / per_second:.0f}×",
                        f"{1 / cpu:.0f}×",
                        f"{peak:.2f} MiB",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    header = [
        "file",
        "k",
        "α",
        "render time per audio second",
        "real-time factor",
        "real-time factor (CPU time)",
        "peak memory",
    ]
    table = markdown_table(header, rows)
    print(table)
    if args.no_write:
        return
    load = os.getloadavg()[0]
    body = f"""Command: `{COMMAND}` (one core: BLAS/OpenMP threads pinned to 1).
Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} during the
run, {platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}.
Stereo 44.1 kHz, n_fft 2048, hop 512, rendered in the player's {BLOCK}-frame
blocks with a new gain vector before every block (a ramp in every block: the
worst case). Peak memory is what the mixer allocates while
rendering (tracemalloc), on top of the spectrogram and factors already held.
Wall times are the best of three runs; the CPU-time column is the render
thread's own CPU time, which other load on the machine does not inflate.

{table}

Target: at least 20× real time at k = 32 on one core; peak memory independent
of the file length (the mixer only ever transforms the frames that overlap the
block being rendered; at α ≠ 1 it also holds W^α, bins × k, and raises only
those frames' activations to α). α = {powers[1]:g} is the product's default,
what the player and the export render with."""
    write_section(ROOT / "docs" / "performance.md", SECTION, body)
    print("written to docs/performance.md")


if __name__ == "__main__":
    main()
