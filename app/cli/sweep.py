"""``partwise sweep``: loss and explained variance against the number of components."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import bad_shared_option, decoder_silenced, fail, memory_problem, warm_up

__all__ = ["build_sweep_parser", "run_sweep"]


def build_sweep_parser() -> argparse.ArgumentParser:
    """The ``sweep`` command line: loss and explained variance against k."""
    from dsp import nmf

    p = argparse.ArgumentParser(
        prog="partwise sweep",
        description="Factorize a file at a range of ranks k and tabulate loss and explained "
        "variance, marking the elbow, to help choose the number of components.",
    )
    p.add_argument("input", type=Path, metavar="FILE", help="audio file")
    p.add_argument("--components", "-k", default="1:16", help="ranks: START:STOP[:STEP] or K1,K2")
    p.add_argument("--loss", choices=nmf.LOSSES, default="kl", help="divergence (default kl)")
    p.add_argument("--iterations", type=int, default=200, help="maximum iterations per rank")
    p.add_argument("--tol", type=float, default=1e-4, help="relative convergence tolerance")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--independent",
        action="store_true",
        help="initialise every rank afresh instead of growing the previous one",
    )
    p.add_argument(
        "--n-fft", type=int, default=2048, help="STFT frame length, a power of two (default 2048)"
    )
    p.add_argument(
        "--hop", type=int, default=512, help="STFT hop, n_fft/16 to n_fft/2 (default 512)"
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="OUT.png",
        help="also draw the curves to a PNG (its folder is created if missing)",
    )
    return p


def run_sweep(argv: list[str]) -> int:
    """``partwise sweep``: returns the process exit code."""
    from dsp.audio import AudioError, load
    from dsp.pipeline import Settings
    from dsp.stems import check_writable_folder
    from dsp.stft import StftError, analyse
    from dsp.sweep import elbow, parse_range, sweep

    args = build_sweep_parser().parse_args(argv)
    problem = bad_shared_option(args)
    if problem:
        fail(problem)
        return 2
    if args.plot is not None:
        try:
            check_writable_folder(args.plot.parent)  # before the solve, not after it
        except AudioError as exc:
            fail(str(exc))
            return 1
    try:
        ks = parse_range(args.components)
        with decoder_silenced():
            audio = load(args.input)
        problem = memory_problem(audio.channels, audio.frames, Settings(
            n_fft=args.n_fft, hop=args.hop, loss=args.loss, spatial=False))
        if problem:
            raise AudioError(problem)
        V = analyse(audio.samples, audio.rate, n_fft=args.n_fft, hop=args.hop).magnitude()
        warm_up(quiet=False)

        def report(point) -> None:
            print(
                f"k={point.k}: loss {point.loss:.6g} ({point.n_iter} iterations, "
                f"{point.seconds:.1f} s)",
                file=sys.stderr,
            )

        points = sweep(
            V,
            ks,
            loss=args.loss,
            max_iter=args.iterations,
            tol=args.tol,
            seed=args.seed,
            nested=not args.independent,
            progress=report,
        )
    except (AudioError, StftError, ValueError) as exc:
        text = str(exc)
        fail(text if text.startswith("'") else f"'{args.input.name}': {text}")
        return 1
    best = elbow([p.k for p in points], [p.loss for p in points])
    print(f"{'k':>4}  {'loss':>14}  {'explained':>9}  {'iterations':>10}  {'seconds':>8}")
    for p in points:
        mark = "  <- elbow" if p.k == best else ""
        print(
            f"{p.k:>4}  {p.loss:>14.6g}  {p.explained_variance:>9.4f}  {p.n_iter:>10}  "
            f"{p.seconds:>8.2f}{mark}"
        )
    if args.plot is not None:
        from .sweep_plot import plot_sweep

        plot_sweep(points, best, args.plot)
        if not args.plot.is_file():
            fail(f"could not write the plot '{args.plot}'")
            return 1
    return 0
