"""``partwise separate``: separate audio files into stems without a window (never imports Qt)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from app.batch.engine import FileReport
from app.batch.request import Request

from .common import (
    bad_shared_option,
    decoder_silenced,
    fail,
    memory_problem,
    progress_printer,
    warm_up,
)

__all__ = ["build_parser", "run_separate", "separate_file"]


def build_parser() -> argparse.ArgumentParser:
    """The ``separate`` command line (see docs/architecture.md, Command line)."""
    from dsp import nmf, pipeline
    from dsp.audio import SUBTYPES
    from dsp.pipeline import Settings

    d = Settings()  # one set of defaults for the CLI, the GUI and the library
    p = argparse.ArgumentParser(
        prog="partwise separate",
        description="Separate audio files into NMF components or sources and write the stems.",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="audio files, folders (their audio files) or quoted patterns ('music/**/*.wav') "
        "to separate",
    )
    p.add_argument("--recursive", "-r", action="store_true",
                   help="take the audio files of the folders' subfolders too")
    p.add_argument("--demo", action="store_true", help="separate the built-in synthetic mixture")
    p.add_argument(
        "--session",
        type=Path,
        metavar="FILE.partwise",
        help="replay a saved session: its settings and seed (and, on its own audio file, its "
        "exact factors and source groups); the other separation options are then ignored",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder; its previous stem set (what its manifest.json lists) is replaced "
        "whole; with several inputs each gets DIR/<file name>/",
    )
    p.add_argument(
        "--components",
        "-k",
        type=int,
        default=None,
        help=f"NMF rank (default {d.n_components}; with --sources N, "
        f"{pipeline.COMPONENTS_PER_SOURCE} per source, at most "
        f"{pipeline.MAX_DEFAULT_COMPONENTS})",
    )
    p.add_argument("--sources", type=int, default=None, help="group components into N sources")
    p.add_argument(
        "--guide",
        type=Path,
        metavar="GUIDE.npz",
        help="paint that steers the separation: an array 'paint', float32 (sources, bins, "
        "frames) in [0, 1] on this STFT grid; the stems are source_1 … in its order",
    )
    p.add_argument(
        "--guide-strength",
        type=float,
        default=d.guide_strength,
        help=f"λ: full-confidence paint weighs the other sources by e^-λ (default "
        f"{d.guide_strength:g})",
    )
    p.add_argument(
        "--guide-iterations",
        type=int,
        default=d.guide_iterations,
        help=f"iterations of the paint-steered run (default {d.guide_iterations})",
    )
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
    p.add_argument(
        "--n-fft",
        type=int,
        default=d.n_fft,
        help=f"STFT frame length, a power of two from 16 to {pipeline.MAX_N_FFT} "
        f"(default {d.n_fft})",
    )
    p.add_argument(
        "--hop",
        type=int,
        default=d.hop,
        help=f"STFT hop in samples, n_fft/{pipeline.MAX_OVERLAP} to n_fft/2 (default {d.hop})",
    )
    p.add_argument(
        "--mask-power",
        type=float,
        default=d.mask_power,
        help=f"soft-mask exponent α, 0 < α ≤ {pipeline.MAX_MASK_POWER:g} "
        f"(default {d.mask_power}; 1 = ratio mask, 2 = Wiener)",
    )
    p.add_argument(
        "--spatial",
        action=argparse.BooleanOptionalAction,
        default=d.spatial,
        help="factorise every channel of a stereo file with a gain per channel and component "
        "(multichannel NMF; masks per channel) instead of their mean magnitude "
        f"(default {'on' if d.spatial else 'off'}; with --algorithm mu and no --sparsity)",
    )
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="stem file format")
    p.add_argument(
        "--sample-format", choices=tuple(SUBTYPES), default="pcm24", help="stem sample format"
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="separate N files at a time on a local Dask cluster of N worker processes, "
        "with a progress bar over the files (default: one file after another in this process)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="separate the files on an existing Dask cluster (tcp://host:8786); its workers "
        "need Partwise installed and must see the input and output paths",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip a file whose output folder holds a complete stem set made with the same "
        "settings (the settings hash in its manifest)",
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


def _bad_option(args: argparse.Namespace) -> str | None:
    """The first option out of its range, as one line naming it; None when all are good."""
    from dsp import pipeline

    if not args.out.strip():
        return "--out must name a folder, got an empty name"
    if args.components < 1:
        return f"--components must be at least 1, got {args.components}"
    if args.sources is not None and not 1 <= args.sources <= args.components:
        return f"--sources must be between 1 and --components ({args.components})"
    if not 0 <= args.iterations <= pipeline.MAX_COUNT:
        return f"--iterations must be from 0 to {pipeline.MAX_COUNT}, got {args.iterations}"
    if not 0 <= args.guide_iterations <= pipeline.MAX_COUNT:
        return (f"--guide-iterations must be from 0 to {pipeline.MAX_COUNT}, "
                f"got {args.guide_iterations}")
    if not 0 <= args.guide_strength <= 100:
        return f"--guide-strength must be a number with 0 ≤ λ ≤ 100, got {args.guide_strength}"
    if args.guide is not None and args.session is not None:
        return "--guide and --session cannot be combined: a session keeps its own sources"
    if args.jobs is not None and args.jobs < 1:
        return f"--jobs must be at least 1, got {args.jobs}"
    if args.jobs is not None and args.scheduler is not None:
        return "--jobs and --scheduler cannot be combined: the cluster's workers set the jobs"
    if (args.algorithm == "deep") != (args.layers is not None):
        return "--layers goes with --algorithm deep, and deep NMF needs --layers"
    # ``not a <= x`` rather than ``x < a``: NaN fails every comparison.
    if not 0 < args.mask_power <= pipeline.MAX_MASK_POWER:
        return (f"--mask-power must be a number with 0 < α ≤ {pipeline.MAX_MASK_POWER:g}, "
                f"got {args.mask_power}")
    return bad_shared_option(args)


def _demo_scores(separation, demo) -> dict:
    """SDR of each true demo source against the stem matched to it (dB).

    With fewer stems than the demo has sources, the sources no stem is matched
    to are left out.
    """
    from dsp.scores import match_estimates, sdr

    stems = list(separation.stems())
    truth = [s.samples for s in demo.stems]
    return {
        demo.names[r]: round(float(sdr(truth[r], stems[e])), 2)
        for r, e in match_estimates(truth, stems)
    }


def _from_session(project, audio, progress, session, warn):
    """Separation of ``audio`` as the saved session ``project`` describes it.

    On the session's own audio (same content hash) the session is restored into
    the document model the GUI uses, so its stored factors, its sources, their
    names and its paint's steering of the masks give exactly the stems the GUI
    exports; on any other file, or when the session was saved before any run,
    its settings and seed are run afresh and its number of sources grouped
    automatically, steered by its paint (as ``--guide`` steers) where the paint
    fits the file's STFT grid. Paint that does not fit is left out, said so
    through ``warn``. ``session`` is the session file's path, for messages.
    """
    from app.document import Document
    from dsp import pipeline
    from dsp.project_file import file_sha256
    from dsp.stft import analyse

    settings = project.settings
    spec = analyse(audio.samples, audio.rate, n_fft=settings.n_fft, hop=settings.hop)
    same_audio = audio.path is not None and file_sha256(audio.path) == project.audio_sha256
    stored = same_audio and project.W.size > 0
    paint = project.paint
    if paint is not None and paint.shape[1:] != spec.shape:
        warn(f"'{audio.name}': the session's paint ({paint.shape[1]} bins x "
             f"{paint.shape[2]} frames) does not fit this file's STFT ({spec.shape[0]} x "
             f"{spec.shape[1]}); separating without it")
        paint = None
    document = Document()
    try:
        document.restore(audio, spec, settings, components=project.components,
                         sources=project.sources, paint=paint,
                         W=project.W if stored else None, H=project.H if stored else None,
                         channel_gains=project.channel_gains if stored else None)
    except ValueError as exc:  # a session whose factors claim this audio but do not fit it
        raise ValueError(f"'{Path(session).name}' does not fit '{audio.name}': {exc}") from None
    groups = document.groups()
    grouped = len(groups) < settings.n_components
    settings = replace(settings, n_sources=len(groups) if grouped else None)
    if not stored:
        guide = document.group_paint() if len(groups) > 1 else None
        return pipeline.separate_audio(audio, settings, progress=progress, paint=guide)
    return pipeline.Separation(audio, spec, settings, project.W, project.H,
                               list(project.losses), groups, document.group_names(),
                               channel_gains=project.channel_gains,
                               steering=document.steering())


def separate_file(path: Path | None, folder: Path, *, request: Request, label: str,
                  quiet: bool = True) -> FileReport:
    """Separate one file (None: the built-in demo) into ``folder`` as ``request`` says.

    The one code path for a file: the sequential command line, its Dask tasks
    and the window's batch all call it. The stem set is published whole, with
    the request's settings hash in its manifest, or the folder is left as it
    was. Without ``quiet`` the iterations' progress goes to stderr.

    Raises
    ------
    AudioError, StftError, GuideError, ProjectError, ValueError
        With a one-line reason, when the file cannot be separated.
    """
    from dsp import pipeline
    from dsp.audio import Audio, AudioError, load, save
    from dsp.demo import make_demo
    from dsp.guide import check_paint, load_guide
    from dsp.project_file import load_project
    from dsp.stft import frame_count

    settings = request.settings
    project = load_project(request.session) if request.session is not None else None
    paint = load_guide(request.guide) if request.guide is not None else None
    demo = make_demo() if path is None else None
    with decoder_silenced():
        audio = demo.mixture if demo else load(path)
    frames = frame_count(audio.frames, settings.hop)
    problem = memory_problem(audio.channels, audio.frames, settings)
    if problem:
        raise AudioError(problem)
    warm_up(quiet)
    guided = paint is not None or (project is not None and project.paint is not None)
    total = settings.iterations + (settings.guide_iterations if guided else 0)
    progress = progress_printer(label, total, quiet)
    warnings: list[str] = []
    if project is not None:
        separation = _from_session(project, audio, progress, request.session, warnings.append)
    else:
        if not request.chosen_components:
            settings = replace(settings, n_components=pipeline.default_components(
                settings.n_sources, frames=frames))
        if paint is not None:
            check_paint(paint, (settings.n_fft // 2 + 1, frames), name=f"'{request.guide}'")
        separation = pipeline.separate_audio(audio, settings, progress=progress, paint=paint)
    extra = {"settings_hash": request.settings_hash}
    if project is not None:
        extra["session"] = str(request.session)
    if paint is not None:
        extra["guide"] = {"file": str(request.guide), "strength": settings.guide_strength,
                          "iterations": settings.guide_iterations}
    files = {}
    if demo:
        mixture = Audio(audio.samples, audio.rate)
        files["mixture.wav"] = lambda tmp, a=mixture: save(a, tmp, subtype="float")
        extra |= {"mixture": "mixture.wav", "demo_sdr_db": _demo_scores(separation, demo)}
    written = pipeline.export_stems(
        separation,
        folder,
        file_format=request.file_format,
        subtype=request.sample_format,
        extra=extra,
        files=files,
        protect=request.protect,
        warn=warnings.append,
    )
    stems = len(written) - 1 - len(files)  # and manifest.json
    notes = [f"{label}: wrote {stems} stems to {folder}"]
    notes += [f"  {name}: SDR {score:.1f} dB" for name, score in
              extra.get("demo_sdr_db", {}).items()]
    return FileReport(tuple(notes), tuple(warnings))


def run_separate(argv: list[str]) -> int:
    """``partwise separate``: returns the process exit code."""
    from app.batch.engine import FAILED, SKIPPED, SchedulerError, run_batch
    from app.batch.inputs import InputError, plan_tasks
    from dsp import pipeline
    from dsp.audio import AudioError
    from dsp.guide import GuideError, load_guide
    from dsp.project_file import ProjectError, load_project
    from dsp.stems import check_writable_folder

    args = build_parser().parse_args(argv)
    project = None
    if args.session is not None:
        try:
            project = load_project(args.session)
        except ProjectError as exc:
            fail(str(exc))
            return 1
        if not args.inputs and not args.demo:
            args.inputs = [Path(project.audio_path)]
    if not args.inputs and not args.demo:
        fail("give at least one audio FILE or folder, or --demo")
        return 2
    paint = None
    if args.guide is not None:
        try:
            paint = load_guide(args.guide)
        except GuideError as exc:
            fail(str(exc))
            return 1
        if args.sources not in (None, len(paint)):
            fail(f"--sources {args.sources} but '{args.guide}' paints {len(paint)} sources")
            return 2
        if not paint.any():
            print(f"partwise: warning: '{args.guide}' paints no cell: its sources are grouped "
                  "blind", file=sys.stderr)
        args.sources = len(paint)
    # Without -k each file gets the default for its sources and its length.
    chosen_k = args.components is not None
    if not chosen_k:
        args.components = pipeline.default_components(args.sources)
    problem = _bad_option(args)
    if problem:
        fail(problem)
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
        spatial=args.spatial,
        guide_strength=args.guide_strength,
        guide_iterations=args.guide_iterations,
    )
    if project is not None:
        settings = project.settings
    out = Path(args.out)
    try:
        check_writable_folder(out)
        tasks = plan_tasks(args.inputs, out, recursive=args.recursive, demo=args.demo)
    except (AudioError, InputError) as exc:
        fail(str(exc))
        return 1
    # No stem set may replace or remove any file the run reads.
    protect = [t.path for t in tasks if t.path] + [p for p in (args.session, args.guide) if p]
    request = Request(settings, chosen_components=chosen_k or project is not None,
                      session=args.session if project is not None else None, guide=args.guide,
                      file_format=args.format, sample_format=args.sample_format,
                      protect=tuple(protect))
    batch = args.jobs is not None or args.scheduler is not None
    work = partial(separate_file, request=request, quiet=args.quiet or batch)
    outcomes = run_batch(tasks, work, settings_hash=request.settings_hash, resume=args.resume,
                         jobs=args.jobs, scheduler=args.scheduler)
    if batch:
        from .batch_report import report_batch

        try:
            return report_batch(outcomes, len(tasks), quiet=args.quiet)
        except SchedulerError as exc:
            fail(str(exc))
            return 1
    failures = 0
    for outcome in outcomes:
        if outcome.status == FAILED:
            failures += 1
            fail(outcome.reason)
            continue
        if outcome.status == SKIPPED:
            if not args.quiet:
                print(f"{outcome.task.label}: skipped, its stems in {outcome.task.folder} were "
                      "made with these settings", file=sys.stderr)
            continue
        for line in outcome.report.warnings:
            print(f"partwise: warning: {line}", file=sys.stderr)
        for line in () if args.quiet else outcome.report.notes:
            print(line, file=sys.stderr)
    return 1 if failures else 0
