"""Wall time of ``partwise separate`` on a 3-minute stereo song, against scikit-learn.

The song is the 44.1 kHz stereo cases of :mod:`bench.music_corpus` played one
after another (and again) up to 3 minutes, written as 16-bit WAV. Each
configuration runs the real CLI in a fresh process (start-up, reading, STFT,
start, iterations, masks, writing every stem), so the figure is what a user
waits. The reference, measured in the same run on the same machine: scikit-learn's
KL multiplicative updates (``NMF(solver="mu", beta_loss="kullback-leibler")``,
nndsvda start) for as many iterations as the CLI ran (its manifest says how
many: it stops early at ``tol``) on the channels' mean magnitude, with the
same k — the factorization alone, without reading, masks or writing.

    .venv/bin/python bench/separate_speed.py [--seconds 180]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``bench`` and ``dsp`` importable
    sys.path.insert(0, str(ROOT))

from bench import music_corpus  # noqa: E402
from dsp.pipeline import Settings, default_components  # noqa: E402
from dsp.stft import analyse  # noqa: E402

RATE = 44_100
RUNS = (
    ("defaults", []),
    ("--sources 4", ["--sources", "4"]),
    ("--sources 4 --no-spatial", ["--sources", "4", "--no-spatial"]),
)


def song(seconds: float) -> np.ndarray:
    """The stereo 44.1 kHz corpus cases end to end, repeated up to ``seconds``."""
    pieces = []
    for name in music_corpus.CASES:
        case = music_corpus.build_case(name)
        if case.rate == RATE and case.mixture.shape[1] == 2:
            pieces.append(case.mixture)
    one_pass = np.concatenate(pieces)
    frames = int(seconds * RATE)
    return np.resize(one_pass, (frames, 2)) if frames > len(one_pass) else one_pass[:frames]


def cli_run(path: Path, out: Path, options: list[str]) -> tuple[float, int]:
    """Wall time of one ``main.py separate`` in a fresh process, and the iterations it ran."""
    command = [sys.executable, str(ROOT / "main.py"), "separate", str(path),
               "--out", str(out), "--quiet", *options]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    return wall, json.loads((out / "manifest.json").read_text())["iterations"]


def sklearn_seconds(audio: np.ndarray, k: int, iterations: int) -> float:
    """scikit-learn's KL-MU on the channels' mean magnitude: the factorization alone."""
    from sklearn.decomposition import NMF

    settings = Settings()
    spec = analyse(audio, RATE, n_fft=settings.n_fft, hop=settings.hop)
    V = spec.magnitude().astype(np.float32)
    model = NMF(k, init="nndsvda", solver="mu", beta_loss="kullback-leibler",
                max_iter=iterations, tol=0.0, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "did not converge": it is not asked to
        model.fit_transform(V)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    args = parser.parse_args(argv)
    audio = song(args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "song.wav"
        soundfile.write(path, audio, RATE, subtype="PCM_16")
        frames = analyse(audio[:, :1], RATE, n_fft=Settings().n_fft,
                         hop=Settings().hop).shape[1]
        print(f"{args.seconds:.0f} s stereo {RATE} Hz, {frames} STFT frames, "
              f"{Settings().iterations} iterations at most (tol {Settings().tol:g})")
        print("| `partwise separate song.wav` | k | iterations | wall s | ÷ scikit-learn KL-MU "
              "(same k and iterations, factorization only) |")
        print("|---|---|---|---|---|")
        for label, options in RUNS:
            sources = int(options[1]) if options else None
            k = default_components(sources, frames=frames)
            wall, iterations = cli_run(path, Path(tmp) / label.replace(" ", "_"), options)
            reference = sklearn_seconds(audio, k, iterations)
            print(f"| {label} | {k} | {iterations} | {wall:.1f} | "
                  f"{wall / reference:.2f} (scikit-learn {reference:.1f} s) |", flush=True)


if __name__ == "__main__":
    main()
