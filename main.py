"""Partwise entry point.

``python main.py [FILE]`` opens the workstation window; ``python main.py separate …``
runs the headless separation, which never imports Qt; ``python main.py sweep …``
tabulates the loss against the number of components (Qt only for ``--plot``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

COMMANDS = ("separate", "sweep")


def build_parser() -> argparse.ArgumentParser:
    """The ``separate`` command line (see docs/architecture.md, Command line)."""
    from dsp import nmf
    from dsp.audio import SUBTYPES
    from dsp.pipeline import Settings

    d = Settings()  # one set of defaults for the CLI, the GUI and the library
    p = argparse.ArgumentParser(
        prog="partwise separate",
        description="Separate audio files into NMF components or sources and write the stems.",
    )
    p.add_argument("inputs", nargs="*", type=Path, metavar="FILE", help="audio file(s) to separate")
    p.add_argument("--demo", action="store_true", help="separate the built-in synthetic mixture")
    p.add_argument(
        "--session",
        type=Path,
        metavar="FILE.partwise",
        help="replay a saved session: its settings and seed (and, on its own audio file, its "
        "exact factors and source groups); the other separation options are then ignored",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument(
        "--components",
        "-k",
        type=int,
        default=d.n_components,
        help=f"NMF rank (default {d.n_components})",
    )
    p.add_argument("--sources", type=int, default=None, help="group components into N sources")
    p.add_argument(
        "--loss",
        choices=nmf.LOSSES,
        default=None,
        help="divergence (default kl; euclidean for --algorithm hals)",
    )
    p.add_argument(
        "--algorithm",
        choices=nmf.ALGORITHMS,
        default="mu",
        help="mu: multiplicative updates; hals: fast Euclidean; kmeans: one template per "
        "frame; deep: multi-layer NMF (with --layers)",
    )
    p.add_argument(
        "--layers",
        type=_ranks,
        default=None,
        metavar="R1,R2,…",
        help="inner ranks of deep NMF, V ≈ W1…WL·H (e.g. 32,16 with --components 8)",
    )
    p.add_argument(
        "--init",
        choices=nmf.SOLVER_INITS,
        default="comb",
        help="initialisation (default comb: harmonic combs plus free components)",
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=d.iterations,
        help=f"maximum iterations (default {d.iterations})",
    )
    p.add_argument("--tol", type=float, default=d.tol, help="relative convergence tolerance")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default 0)")
    p.add_argument("--sparsity", type=float, default=d.sparsity, help="L1 penalty on activations")
    p.add_argument(
        "--smoothness",
        type=float,
        default=d.smoothness,
        help="temporal continuity of activations, relative to the mean magnitude (e.g. 10)",
    )
    p.add_argument("--n-fft", type=int, default=d.n_fft, help="STFT frame length (default 2048)")
    p.add_argument("--hop", type=int, default=d.hop, help="STFT hop in samples (default 512)")
    p.add_argument(
        "--mask-power",
        type=float,
        default=d.mask_power,
        help=f"soft-mask exponent α (default {d.mask_power}; 1 = ratio mask, 2 = Wiener)",
    )
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="stem file format")
    p.add_argument(
        "--sample-format", choices=tuple(SUBTYPES), default="pcm24", help="stem sample format"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return p


def _ranks(text: str) -> tuple[int, ...]:
    """Parse ``'32,16'`` into positive ranks for ``--layers``."""
    try:
        ranks = tuple(int(r) for r in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ranks like 32,16, got {text!r}") from None
    if not ranks or min(ranks) < 1:
        raise argparse.ArgumentTypeError(f"ranks must be positive, got {text!r}")
    return ranks


def _fail(message: str) -> None:
    print(f"partwise: error: {message}", file=sys.stderr)


def _progress(label: str, total: int, quiet: bool):
    if quiet:
        return None
    every = max(1, total // 10)
    started = time.perf_counter()

    def report(iteration: int, loss: float) -> None:
        if iteration % every == 0 or iteration == total:
            elapsed = time.perf_counter() - started
            print(
                f"{label}: iteration {iteration}/{total}  loss {loss:.6g}  ({elapsed:.1f} s)",
                file=sys.stderr,
            )

    return report


def _warm_up(quiet: bool) -> None:
    """Compile the NMF kernels now (or load them from numba's cache), saying so when they compile.

    Called before the first factorization, after the arguments and the input
    are known to be good, so that a mistake is reported at once.
    """
    from dsp.nmf.kernels import warm_up

    warm_up(report=None if quiet else lambda message: print(message, file=sys.stderr, flush=True))


def _demo_scores(separation, demo) -> dict:
    """SDR of each true demo source against its best-matching stem (dB)."""
    import numpy as np

    from dsp.bss import match_sources
    from dsp.metrics import sdr
    from dsp.separation import separate

    stems = list(
        separate(
            separation.spectrogram,
            separation.W,
            separation.H,
            separation.groups,
            power=separation.settings.mask_power,
        )
    )
    truth = [s.samples for s in demo.stems]
    if len(stems) < len(truth):
        return {}
    scores = np.array([[sdr(t, stem) for stem in stems] for t in truth])
    best = match_sources(scores)
    return {name: round(float(scores[i, best[i]]), 2) for i, name in enumerate(demo.names)}


def _from_session(project, audio, progress):
    """Separation of ``audio`` as the saved session ``project`` describes it.

    On the session's own audio (same content hash) the stored factors and groups
    are used, so the stems are exactly those the GUI exported; on any other file,
    or when the session was saved before any run, its settings and seed are run
    afresh.
    """
    from dataclasses import replace

    from dsp import pipeline
    from dsp.project_file import file_sha256
    from dsp.separation import each_component

    groups = project.groups()
    settings = replace(project.settings, n_sources=len(groups) if groups else None)
    same_audio = audio.path is not None and file_sha256(audio.path) == project.audio_sha256
    if same_audio and project.W.size:
        from dsp.stft import analyse

        spec = analyse(audio.samples, audio.rate, n_fft=settings.n_fft, hop=settings.hop)
        return pipeline.Separation(
            audio,
            spec,
            settings,
            project.W,
            project.H,
            list(project.losses),
            groups or each_component(settings.n_components),
        )
    return pipeline.separate_audio(audio, settings, progress=progress)


def run_separate(argv: list[str]) -> int:
    """``partwise separate``: returns the process exit code."""
    from dsp import pipeline
    from dsp.audio import Audio, AudioError, load, save
    from dsp.demo import make_demo
    from dsp.project_file import ProjectError, load_project
    from dsp.stems import check_writable_folder
    from dsp.stft import StftError

    args = build_parser().parse_args(argv)
    project = None
    if args.session is not None:
        try:
            project = load_project(args.session)
        except ProjectError as exc:
            _fail(str(exc))
            return 1
        if not args.inputs and not args.demo:
            args.inputs = [Path(project.audio_path)]
    if not args.inputs and not args.demo:
        _fail("give at least one audio FILE, or --demo")
        return 2
    if args.components < 1:
        _fail(f"--components must be at least 1, got {args.components}")
        return 2
    if args.sources is not None and not 1 <= args.sources <= args.components:
        _fail(f"--sources must be between 1 and --components ({args.components})")
        return 2
    if args.iterations < 0:
        _fail(f"--iterations must be at least 0, got {args.iterations}")
        return 2
    if (args.algorithm == "deep") != (args.layers is not None):
        _fail("--layers goes with --algorithm deep, and deep NMF needs --layers")
        return 2
    settings = pipeline.Settings(
        n_components=args.components,
        n_sources=args.sources,
        loss=args.loss or ("euclidean" if args.algorithm == "hals" else "kl"),
        algorithm=args.algorithm,
        layers=args.layers,
        init=args.init,
        iterations=args.iterations,
        tol=args.tol,
        seed=args.seed,
        sparsity=args.sparsity,
        smoothness=args.smoothness,
        n_fft=args.n_fft,
        hop=args.hop,
        mask_power=args.mask_power,
    )
    if project is not None:
        settings = project.settings
    try:
        check_writable_folder(args.out)
    except AudioError as exc:
        _fail(str(exc))
        return 1

    jobs: list[tuple[str, Path | None]] = [("demo", None)] if args.demo else []
    jobs += [(path.name, path) for path in args.inputs]
    several = len(jobs) > 1
    failures = 0
    for label, path in jobs:
        folder = args.out / (Path(label).stem if several else "")
        try:
            demo = make_demo() if path is None else None
            audio = demo.mixture if demo else load(path)
            _warm_up(args.quiet)
            progress = _progress(label, settings.iterations, args.quiet)
            if project is not None:
                separation = _from_session(project, audio, progress)
            else:
                separation = pipeline.separate_audio(audio, settings, progress=progress)
            extra = {"session": str(args.session)} if project is not None else {}
            if demo:
                check_writable_folder(folder)
                save(Audio(audio.samples, audio.rate), folder / "mixture.wav", subtype="float")
                extra |= {"mixture": "mixture.wav", "demo_sdr_db": _demo_scores(separation, demo)}
            written = pipeline.export_stems(
                separation,
                folder,
                file_format=args.format,
                subtype=args.sample_format,
                extra=extra,
            )
        except (AudioError, StftError, ValueError) as exc:
            failures += 1
            text = str(exc)
            _fail(text if text.startswith("'") or label == "demo" else f"'{label}': {text}")
            continue
        if not args.quiet:
            print(f"{label}: wrote {len(written)} stems to {folder}", file=sys.stderr)
            for name, score in extra.get("demo_sdr_db", {}).items():
                print(f"  {name}: SDR {score:.1f} dB", file=sys.stderr)
    return 1 if failures else 0


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
    p.add_argument("--n-fft", type=int, default=2048, help="STFT frame length (default 2048)")
    p.add_argument("--hop", type=int, default=512, help="STFT hop in samples (default 512)")
    p.add_argument("--plot", type=Path, metavar="OUT.png", help="also draw the curves to a PNG")
    return p


def _plot_sweep(points, best: int, path: Path) -> None:
    """Loss (log) and explained variance against k, drawn offscreen with pyqtgraph."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    import pyqtgraph.exporters
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    ks = [p.k for p in points]
    layout = pg.GraphicsLayoutWidget()
    layout.resize(900, 420)
    layout.setBackground("w")
    loss_plot = layout.addPlot(title="Loss at convergence", labels={"bottom": "k"})
    loss_plot.setLogMode(y=True)
    loss_plot.plot(ks, [p.loss for p in points], pen=pg.mkPen("#1f77b4", width=2), symbol="o")
    loss_plot.addLine(
        x=best,
        pen=pg.mkPen("#d62728", style=pg.QtCore.Qt.DashLine),
        label=f"elbow k={best}",
        labelOpts={"position": 0.9, "color": "#d62728"},
    )
    variance_plot = layout.addPlot(title="Explained variance", labels={"bottom": "k"})
    variance_plot.plot(
        ks, [p.explained_variance for p in points], pen=pg.mkPen("#2ca02c", width=2), symbol="o"
    )
    variance_plot.addLine(x=best, pen=pg.mkPen("#d62728", style=pg.QtCore.Qt.DashLine))
    layout.show()
    app.processEvents()
    exporter = pyqtgraph.exporters.ImageExporter(layout.scene())
    exporter.parameters()["width"] = 900
    exporter.export(str(path))


def run_sweep(argv: list[str]) -> int:
    """``partwise sweep``: returns the process exit code."""
    from dsp.audio import AudioError, load
    from dsp.stft import StftError, analyse
    from dsp.sweep import elbow, parse_range, sweep

    args = build_sweep_parser().parse_args(argv)
    try:
        ks = parse_range(args.components)
        audio = load(args.input)
        V = analyse(audio.samples, audio.rate, n_fft=args.n_fft, hop=args.hop).magnitude()
        _warm_up(quiet=False)

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
        _fail(text if text.startswith("'") else f"'{args.input.name}': {text}")
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
        _plot_sweep(points, best, args.plot)
    return 0


USAGE = """usage: partwise [FILE]                 open the window (with FILE: audio or .partwise)
       partwise separate [options] ...  separate audio files without a window
       partwise sweep FILE [options]    loss against the number of components

'partwise separate --help' and 'partwise sweep --help' list their options."""


def main(argv: list[str] | None = None) -> int:
    """Console entry point for ``partwise`` and ``python main.py``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "separate":
        return run_separate(argv[1:])
    if argv and argv[0] == "sweep":
        return run_sweep(argv[1:])
    from app.gui import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
