"""Separation quality benchmark: BSS Eval scores of Partwise and baselines on a corpus.

Corpora (``--corpus``): ``music`` (:mod:`bench.music_corpus`, realistic stereo
mixtures, the default) or ``synthetic`` (:mod:`bench.quality_corpus`, 13 mono
16 kHz cases). Both give cases with known stems, a ``kind`` and a ``split``
("design": choices were made on them; "held-out": reported apart).

Methods, side by side in one run, all on the STFT of the Settings under test
(default 2048/512) and with the same k per case (:func:`n_components`):

- ``oracle``: Partwise as the product runs it, :func:`dsp.pipeline.separate_audio`
  and :func:`dsp.separation.separate` with ``Settings.mask_power``, components
  grouped by the oracle (:func:`bench.quality_scoring.oracle_groups`);
- ``auto``: the same factorization with the groups ``separate_audio`` finds for
  ``n_sources`` (what a user gets), matched to the stems by
  :func:`dsp.scores.match_estimates`;
- ``sklearn-kl``, ``sklearn-fro``, ``librosa``: baseline NMFs of the same
  magnitude, ratio masks, oracle grouping; ``irm``: ideal ratio mask of the
  true stems (see :mod:`bench.quality_scoring`, which caches them on disk).

Scores are :func:`dsp.scores.bss_eval` (BSS Eval v3, 512 taps) on the
channels concatenated in time (see :mod:`bench.quality_scoring`).

    .venv/bin/python bench/separation_quality.py                        # music, every case
    .venv/bin/python bench/separation_quality.py --corpus synthetic --split design
    .venv/bin/python bench/separation_quality.py --cases two_voices three_tones --corpus synthetic
    .venv/bin/python bench/separation_quality.py --sweep --split design  # Settings variants
    .venv/bin/python bench/separation_quality.py --sweep --only default α=1
    .venv/bin/python bench/separation_quality.py --no-cache             # recompute baselines

Per-case lines go to stderr as cases finish; the markdown tables to stdout.
Deterministic: the corpora, the seeds and the solvers are fixed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_scoring import (  # noqa: E402
    BASELINES,
    Outcome,
    ScoreCache,
    component_signals,
    flat,
    matched,
    oracle_groups,
    render_groups,
    run_baseline,
    score_table,
)
from dsp.audio import Audio  # noqa: E402
from dsp.pipeline import Settings, default_components, separate_audio  # noqa: E402
from dsp.stft import analyse, frame_count  # noqa: E402

CORPORA = {"music": "bench.music_corpus", "synthetic": "bench.quality_corpus"}
PARTWISE = ("oracle", "auto")
METHODS = (*PARTWISE, *BASELINES)
SPLITS = ("design", "held-out")
CACHE_FOLDER = Path(__file__).resolve().parent / ".cache" / "scores"


@dataclass(frozen=True)
class Config:
    """The Partwise configuration under test.

    ``settings`` is what the product runs; its ``n_components`` and
    ``n_sources`` are set per case (:func:`case_settings`). ``per_source``
    gives k = per_source × sources; None is the product's own rule for a
    known number of sources, :func:`dsp.pipeline.default_components`.
    """

    settings: Settings = field(default_factory=Settings)
    per_source: int | None = None

    def label(self) -> str:
        """The settings that differ from :class:`dsp.pipeline.Settings`' defaults, and k."""
        default = Settings()
        changed = [
            f"{f.name}={getattr(self.settings, f.name)}"
            for f in fields(Settings)
            if f.name not in ("n_components", "n_sources")
            and getattr(self.settings, f.name) != getattr(default, f.name)
        ]
        k = (f"k={self.per_source}/src" if self.per_source is not None
             else "k=default_components(sources)")
        return " ".join([k, *changed])


DEFAULT = Config()


def n_components(config: Config, case) -> int:
    """The number of components k for ``case``: the one rule every method follows."""
    if config.per_source is None:
        frames = frame_count(len(case.mixture), config.settings.hop)
        return default_components(len(case.stems), frames=frames)
    return config.per_source * len(case.stems)


def case_settings(config: Config, case) -> Settings:
    """The Settings Partwise runs ``case`` with: k components grouped into its sources."""
    return replace(config.settings, n_components=n_components(config, case),
                   n_sources=len(case.stems))


@dataclass
class CaseResult:
    """Every method's :class:`bench.quality_scoring.Outcome` on one case."""

    name: str
    kind: str
    split: str
    k: int
    outcomes: dict[str, Outcome]

    def sdr(self, method: str) -> float:
        """Mean SDR over the sources, dB."""
        return float(np.mean(self.outcomes[method].scores[0]))


def run_partwise(case, settings: Settings, refs: np.ndarray, methods) -> dict[str, Outcome]:
    """``oracle`` and/or ``auto`` from one run of the product's pipeline."""
    start = time.perf_counter()
    separation = separate_audio(Audio(case.mixture, case.rate), settings)
    seconds = time.perf_counter() - start
    spec, W, H = separation.spectrogram, separation.W, separation.H
    power, gains = settings.mask_power, separation.channel_gains
    out = {}
    if "auto" in methods:
        ests, rendered = render_groups(spec, W, H, separation.groups, power, gains)
        out["auto"] = Outcome(score_table(refs, matched(refs, ests)), seconds + rendered)
    if "oracle" in methods:
        groups = oracle_groups(component_signals(spec, W, H, power, gains), refs)
        ests, rendered = render_groups(spec, W, H, groups, power, gains)
        out["oracle"] = Outcome(score_table(refs, ests), seconds + rendered)
    return out


def run_case(case, config: Config = DEFAULT, methods=METHODS, *, corpus: str = "synthetic",
             cache: ScoreCache | None = None) -> CaseResult:
    """Score ``methods`` on ``case``; baselines come from ``cache`` when it has them."""
    settings = case_settings(config, case)
    refs = np.stack([flat(s) for s in case.stems])
    outcomes = run_partwise(case, settings, refs, methods) if set(methods) & set(PARTWISE) else {}
    baselines = [m for m in methods if m in BASELINES]
    if baselines:
        cache = cache or ScoreCache(None)
        spec = analyse(case.mixture, case.rate, n_fft=settings.n_fft, hop=settings.hop)
        for method in baselines:
            outcome = cache.get(corpus, case, spec, settings.n_components, method)
            if outcome is None:
                outcome = run_baseline(method, spec, case.stems, settings.n_components)
                cache.put(corpus, case, spec, settings.n_components, method, outcome)
            outcomes[method] = outcome
    ordered = {m: outcomes[m] for m in methods}
    return CaseResult(case.name, case.kind, case.split, settings.n_components, ordered)


# --------------------------------------------------------------------------- reports


def _triple(scores: np.ndarray, bold: bool = False) -> str:
    sdr, sir, sar = scores
    return (f"**{sdr:.2f}**" if bold else f"{sdr:.2f}") + f" / {sir:.2f} / {sar:.2f}"


def _mean(results: list[CaseResult], method: str) -> np.ndarray:
    """SDR, SIR, SAR: mean over sources, then over cases."""
    return np.mean([r.outcomes[method].scores.mean(axis=1) for r in results], axis=0)


def case_line(result: CaseResult) -> str:
    """One finished case for the progress log: SDR and seconds per method."""
    cells = [f"{m} {result.sdr(m):6.2f} dB {o.seconds:6.1f} s" for m, o in result.outcomes.items()]
    return f"{result.name} ({result.split}, k={result.k}): " + " | ".join(cells)


def main_tables(results: list[CaseResult], methods, config: Config, corpus: str) -> str:
    """Per case, per kind and per split tables of SDR / SIR / SAR, markdown."""
    timed = [m for m in ("oracle", "sklearn-kl") if m in methods]
    head = " | ".join(f"{m} SDR / SIR / SAR" for m in methods)
    lines = [
        f"Corpus {corpus}; Partwise: {config.label()}; "
        f"every method: STFT {config.settings.n_fft}/{config.settings.hop}, same k.",
        "",
        "| case | kind | split | k | " + head + "".join(f" | {m} s" for m in timed) + " |",
        "|---|---|---|---|" + "---|" * (len(methods) + len(timed)),
    ]
    for r in results:
        cells = [_triple(r.outcomes[m].scores.mean(axis=1)) for m in methods]
        times = [f"{r.outcomes[m].seconds:.1f}" for m in timed]
        lines.append(f"| {r.name} | {r.kind} | {r.split} | {r.k} | " + " | ".join(cells + times)
                     + " |")
    lines += ["", "| kind | cases | " + " | ".join(f"{m} SDR" for m in methods) + " |",
              "|---|---|" + "---|" * len(methods)]
    for kind in sorted({r.kind for r in results}):
        group = [r for r in results if r.kind == kind]
        cells = [f"{_mean(group, m)[0]:.2f}" for m in methods]
        lines.append(f"| {kind} | {len(group)} | " + " | ".join(cells) + " |")
    lines += ["", "| split | cases | " + head + " |", "|---|---|" + "---|" * len(methods)]
    for split in SPLITS:
        group = [r for r in results if r.split == split]
        if group:
            cells = [_triple(_mean(group, m), bold=True) for m in methods]
            lines.append(f"| **{split}** | {len(group)} | " + " | ".join(cells) + " |")
    lines += ["", "| seconds per case | " + " | ".join(methods) + " |",
              "|---|" + "---|" * len(methods)]
    for label, reduce in (("mean", np.mean), ("max", np.max)):
        cells = [f"{reduce([r.outcomes[m].seconds for r in results]):.1f}" for m in methods]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_variants() -> list[tuple[str, Config]]:
    """Named Settings variants, each against the default."""
    d = DEFAULT
    s = d.settings
    return [
        ("default", d),
        ("α=1", replace(d, settings=replace(s, mask_power=1.0))),
        ("α=2", replace(d, settings=replace(s, mask_power=2.0))),
        ("init=nndsvda", replace(d, settings=replace(s, init="nndsvda"))),
        ("smooth=10", replace(d, settings=replace(s, smoothness=10.0))),
        ("sparse=0.1", replace(d, settings=replace(s, sparsity=0.1))),
        ("k=2/src", replace(d, per_source=2)),
        ("k=4/src", replace(d, per_source=4)),
        ("k=6/src", replace(d, per_source=6)),
        ("loss=is", replace(d, settings=replace(s, loss="is"))),
        ("iter=100", replace(d, settings=replace(s, iterations=100))),
        ("iter=300", replace(d, settings=replace(s, iterations=300))),
        ("iter=500", replace(d, settings=replace(s, iterations=500))),
        ("tol=0", replace(d, settings=replace(s, tol=0.0))),
        ("stft 1024/256", replace(d, settings=replace(s, n_fft=1024, hop=256))),
        ("stft 4096/1024", replace(d, settings=replace(s, n_fft=4096, hop=1024))),
        ("spatial off", replace(d, settings=replace(s, spatial=False))),
        ("k=8/src", replace(d, per_source=8)),
        ("iter=500, k=6/src", replace(d, per_source=6, settings=replace(s, iterations=500))),
        ("α=2, iter=500", replace(d, settings=replace(s, mask_power=2.0, iterations=500))),
        ("old bench (stft 1024/256, smooth=10)",
         replace(d, settings=replace(s, n_fft=1024, hop=256, smoothness=10.0))),
    ]


def sweep_table(module, names, variants, corpus: str) -> str:
    """Mean SDR of oracle and auto per variant and split, markdown (baselines not run).

    Cases are the outer loop, so one case's signals are held at a time.
    """
    results: dict[str, list[CaseResult]] = {tag: [] for tag, _ in variants}
    for name in names:
        case = module.build_case(name)
        for tag, config in variants:
            result = run_case(case, config, PARTWISE, corpus=corpus)
            print(f"[{tag}] {case_line(result)}", file=sys.stderr, flush=True)
            results[tag].append(result)
    splits = [sp for sp in SPLITS if any(r.split == sp for r in results[variants[0][0]])]
    head = " | ".join(f"{sp} oracle SDR | {sp} auto SDR" for sp in splits)
    lines = [f"Corpus {corpus}, {len(names)} cases.", "",
             f"| variant | settings | {head} | s per case |",
             "|---|---|" + "---|---|" * len(splits) + "---|"]
    for tag, config in variants:
        cells = []
        for sp in splits:
            group = [r for r in results[tag] if r.split == sp]
            cells += [f"{_mean(group, 'oracle')[0]:.2f}", f"{_mean(group, 'auto')[0]:.2f}"]
        seconds = np.mean([r.outcomes["oracle"].seconds for r in results[tag]])
        lines.append(f"| {tag} | {config.label()} | " + " | ".join(cells) + f" | {seconds:.1f} |")
    return "\n".join(lines)


def select_cases(module, names, split: str) -> list[str]:
    """The cases asked for by name, else every case of ``split`` ("all": every case)."""
    if names:
        unknown = [n for n in names if n not in module.CASES]
        if unknown:
            raise SystemExit(f"unknown cases {unknown}; the corpus has {list(module.CASES)}")
        return list(names)
    chosen = {"design": module.DESIGN, "held-out": module.HELD_OUT}.get(split, module.CASES)
    return [n for n in module.CASES if n in chosen]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=tuple(CORPORA), default="music")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--cases", nargs="+", metavar="NAME", help="these cases (any split)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--sweep", action="store_true", help="oracle and auto per Settings variant")
    parser.add_argument("--only", nargs="+", metavar="TAG", help="sweep: only these variants")
    parser.add_argument("--n-fft", type=int, default=DEFAULT.settings.n_fft,
                        help="STFT size of every method")
    parser.add_argument("--hop", type=int, default=DEFAULT.settings.hop,
                        help="STFT hop of every method")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"recompute the baselines (cached in {CACHE_FOLDER})")
    args = parser.parse_args(argv)
    module = importlib.import_module(CORPORA[args.corpus])
    missing = module.tools_available()
    if missing:
        raise SystemExit(f"the {args.corpus} corpus cannot be built: {missing}")
    names = select_cases(module, args.cases, args.split)
    start = time.perf_counter()
    if args.sweep:
        variants = [(t, c) for t, c in sweep_variants() if not args.only or t in args.only]
        print(sweep_table(module, names, variants, args.corpus))
    else:
        config = replace(DEFAULT, settings=replace(DEFAULT.settings, n_fft=args.n_fft,
                                                    hop=args.hop))
        cache = ScoreCache(None if args.no_cache else CACHE_FOLDER)
        results = []
        for name in names:
            # One case's signals at a time: built, scored, and let go.
            case_start = time.perf_counter()
            result = run_case(module.build_case(name), config, args.methods,
                              corpus=args.corpus, cache=cache)
            elapsed = time.perf_counter() - case_start
            print(f"{case_line(result)} [{elapsed:.0f} s with scoring]", file=sys.stderr,
                  flush=True)
            results.append(result)
        print(main_tables(results, args.methods, config, args.corpus))
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
