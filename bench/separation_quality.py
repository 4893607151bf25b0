"""Separation quality benchmark: BSS Eval scores on a generated corpus with known stems.

For every case of :mod:`bench.quality_corpus`, side by side in one run:

- ``sklearn``: scikit-learn ``NMF(beta_loss="kullback-leibler", solver="mu")``
  on the same magnitude with the same k, ratio masks, oracle assignment (baseline);
- ``oracle``: Partwise's factorization and masks with the same oracle assignment;
- ``auto``: Partwise with :func:`dsp.grouping.group_components` (what a user gets);
- ``irm``: the ideal ratio mask of the true stems (the ceiling for this STFT).

The oracle assignment is the same procedure for both factorizations: each
component goes to the source whose energy its mask captures most, then single
components move between sources while that raises the mean SDR against the
true stems. Automatically found groups are matched to the stems by
:func:`dsp.scores.match_estimates`. Scores are :func:`dsp.scores.bss_eval` (SDR,
SIR, SAR in dB, 512-tap distortion filters; ``mir_eval``'s BSS Eval v3 to 1e-6 dB).

    .venv/bin/python bench/separation_quality.py              # the main table
    .venv/bin/python bench/separation_quality.py --sweep      # measured choices
    .venv/bin/python bench/separation_quality.py --cases two_voices three_tones

Deterministic: the corpus, the seeds and the solvers are fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_corpus import CASES, RATE, Case, build_case  # noqa: E402
from dsp import nmf  # noqa: E402
from dsp.grouping import group_components  # noqa: E402
from dsp.scores import bss_eval, match, match_estimates, sdr  # noqa: E402
from dsp.separation import separate  # noqa: E402
from dsp.stft import analyse, stft  # noqa: E402


@dataclass(frozen=True)
class Config:
    """Partwise settings under test (the baseline always uses scikit-learn's defaults)."""

    n_fft: int = 1024  # STFT of every method (the baseline's too)
    hop: int = 256
    per_source: int = 4  # components per source: k = per_source * n_sources
    loss: str = "kl"
    power: float = 1.5  # mask exponent α
    max_iter: int = 200
    init: str = "comb"  # "comb": dsp.nmf.comb_init; else an init of dsp.nmf
    comb_free: float = 0.25  # share of k competing with the combs as free components
    smoothness: float = 10.0  # temporal continuity weight, relative to the mean of V
    sparsity: float = 0.0  # L1 weight on H, relative to the mean of V
    # keyword options of group_components
    grouping: dict = field(default_factory=lambda: {"rate": RATE})

    def label(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.grouping.items()))
        return (
            (f"stft {self.n_fft}/{self.hop} " if (self.n_fft, self.hop) != (1024, 256) else "")
            + f"k={self.per_source}/src loss={self.loss} α={self.power:g} iter={self.max_iter}"
            f" init={self.init}"
            + (f"(free {self.comb_free:g})" if self.init == "comb" else "")
            + (f" smooth={self.smoothness:g}" if self.smoothness else "")
            + (f" sparse={self.sparsity:g}" if self.sparsity else "")
            + (f" [{opts}]" if opts else "")
        )


DEFAULT = Config()


# --------------------------------------------------------------------------- scoring


def score_table(refs: np.ndarray, ests: np.ndarray) -> np.ndarray:
    """SDR, SIR, SAR per source, shape (3, n_sources), stems in matching order."""
    return np.array([[s.sdr, s.sir, s.sar] for s in bss_eval(list(refs), list(ests))]).T


def matched(refs: np.ndarray, ests: np.ndarray) -> np.ndarray:
    """Estimates reordered to match the references (:func:`dsp.scores.match_estimates`)."""
    return ests[[e for _, e in match_estimates(refs, ests)]]


def oracle_groups(components: np.ndarray, refs: np.ndarray) -> list[list[int]]:
    """Assignment of component signals (k, length) to references (S, length).

    Start: each component to the source whose energy its signal correlates
    with most. Then move single components while the mean plain SDR rises.
    Component stems are additive (masks of groups are sums of component
    masks), so a group's stem is the sum of its components' signals.
    """
    k, n_src = len(components), len(refs)
    fit = components @ refs.T
    labels = np.argmax(fit, axis=1)
    # No source may be left empty: first give each source its best component.
    for j, s in match(fit):
        labels[j] = s
    sums = np.stack([components[labels == s].sum(axis=0) for s in range(n_src)])
    sdrs = np.array([sdr(refs[s], sums[s]) for s in range(n_src)])
    improved = True
    while improved:
        improved = False
        for j in range(k):
            a = labels[j]
            if np.sum(labels == a) == 1:
                continue
            for b in range(n_src):
                if b == a:
                    continue
                new_a = sdr(refs[a], sums[a] - components[j])
                new_b = sdr(refs[b], sums[b] + components[j])
                if new_a + new_b > sdrs[a] + sdrs[b] + 1e-6:
                    sums[a] -= components[j]
                    sums[b] += components[j]
                    sdrs[a], sdrs[b] = new_a, new_b
                    labels[j] = b
                    a = b
                    improved = True
    return [list(np.flatnonzero(labels == s)) for s in range(n_src)]


# --------------------------------------------------------------------------- methods


def factor_sklearn(V: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's KL multiplicative updates with its defaults (init, 200 iterations)."""
    from sklearn.decomposition import NMF

    model = NMF(n_components=k, beta_loss="kullback-leibler", solver="mu", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = model.fit_transform(V)
    return W.astype(np.float32), model.components_.astype(np.float32)


def factor_partwise(V: np.ndarray, k: int, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Partwise's solver through the public protocol."""
    penalties = {}
    scale = float(V.mean())
    if config.smoothness:
        penalties["smoothness"] = config.smoothness * scale
    if config.sparsity:
        penalties["sparsity"] = config.sparsity * scale
    if config.init == "comb":
        W0, H0 = nmf.comb_init(V, k, rate=RATE, n_free=round(config.comb_free * k))
        start = {"W": W0, "H": H0}
    else:
        start = {"init": config.init, "seed": 0}
    result = nmf.factorize(
        V, k, loss=config.loss, max_iter=config.max_iter, tol=1e-4, **start, **penalties
    )
    return result.W, result.H


def component_signals(spec, W, H, power: float) -> np.ndarray:
    """Every component's stem, float64 (k, length)."""
    return np.stack([s[:, 0] for s in separate(spec, W, H, power=power)]).astype(np.float64)


def ideal_ratio_mask(case: Case, spec, config: Config) -> np.ndarray:
    """Stems through the magnitude ratio mask of the true stems, (S, length)."""
    mags = np.stack([np.abs(stft(s, n_fft=config.n_fft, hop=config.hop)[0]) for s in case.stems])
    masks = mags / np.maximum(mags.sum(axis=0), 1e-12)
    return np.stack([spec.invert(spec.data * m)[:, 0] for m in masks]).astype(np.float64)


def run_case(case: Case, config: Config, methods=("sklearn", "oracle", "auto", "irm")) -> dict:
    """Scores (3, S) per method for one case."""
    refs = np.stack(case.stems).astype(np.float64)
    n_src = len(refs)
    k = config.per_source * n_src
    spec = analyse(case.mixture, RATE, n_fft=config.n_fft, hop=config.hop)
    V = spec.magnitude()
    out = {}
    if "sklearn" in methods:
        W, H = factor_sklearn(V, k)
        comps = component_signals(spec, W, H, 1.0)
        groups = oracle_groups(comps, refs)
        out["sklearn"] = score_table(refs, np.stack([comps[g].sum(axis=0) for g in groups]))
    if "oracle" in methods or "auto" in methods:
        W, H = factor_partwise(V, k, config)
        comps = component_signals(spec, W, H, config.power)
        if "oracle" in methods:
            groups = oracle_groups(comps, refs)
            out["oracle"] = score_table(refs, np.stack([comps[g].sum(axis=0) for g in groups]))
        if "auto" in methods:
            groups = group_components(W, H, n_src, **config.grouping)
            ests = matched(refs, np.stack([comps[g].sum(axis=0) for g in groups]))
            out["auto"] = score_table(refs, ests)
    if "irm" in methods:
        out["irm"] = score_table(refs, ideal_ratio_mask(case, spec, config))
    return out


# --------------------------------------------------------------------------- reports


def main_table(names, config: Config) -> str:
    methods = ("sklearn", "oracle", "auto", "irm")
    lines = [
        f"Partwise: {config.label()}; baseline: scikit-learn KL-MU, same k, ratio masks.",
        "",
        "| case | sources | " + " | ".join(f"{m} SDR / SIR / SAR" for m in methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    per_method = {m: [] for m in methods}
    for name in names:
        case = build_case(name)
        scores = run_case(case, config, methods)
        cells = []
        for m in methods:
            mean = scores[m].mean(axis=1)
            per_method[m].append(mean)
            cells.append(f"{mean[0]:.2f} / {mean[1]:.2f} / {mean[2]:.2f}")
        lines.append(f"| {name} | {len(case.stems)} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    cells = []
    for m in methods:
        mean = np.mean(per_method[m], axis=0)
        cells.append(f"**{mean[0]:.2f}** / {mean[1]:.2f} / {mean[2]:.2f}")
    lines.append("| **mean** | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_configs() -> list[tuple[str, Config]]:
    d = DEFAULT
    timbre = {"rate": RATE, "method": "timbre"}
    previous = replace(d, init="nndsvda", power=1.0, grouping=timbre)
    settings = replace(d, init="nndsvda", power=1.0, smoothness=0.0)  # dsp.pipeline's
    return [
        ("default", d),
        ("grouping=timbre", replace(d, grouping=timbre)),
        ("grouping=affinity", replace(d, grouping={"rate": RATE, "method": "affinity"})),
        ("α=1", replace(d, power=1.0)),
        ("α=2", replace(d, power=2.0)),
        ("init=nndsvda", replace(d, init="nndsvda")),
        ("comb, no free components", replace(d, comb_free=0.0)),
        ("comb, k/8 free components", replace(d, comb_free=0.125)),
        ("comb, k/2 free components", replace(d, comb_free=0.5)),
        ("comb, 3k/4 free components", replace(d, comb_free=0.75)),
        ("smooth=0", replace(d, smoothness=0.0)),
        ("smooth=0, grouping=timbre", replace(d, smoothness=0.0, grouping=timbre)),
        ("k=2/src", replace(d, per_source=2)),
        ("k=2/src, grouping=timbre", replace(d, per_source=2, grouping=timbre)),
        ("Settings, k=2/src", replace(settings, per_source=2)),
        ("Settings, k=2/src, timbre", replace(settings, per_source=2, grouping=timbre)),
        ("k=6/src", replace(d, per_source=6)),
        ("previous defaults (nndsvda, α=1, timbre)", previous),
        ("previous + grouping=pitch", replace(previous, grouping={"rate": RATE})),
        ("Settings defaults (nndsvda, α=1, smooth=0)", replace(settings, grouping=timbre)),
        ("Settings defaults + grouping=pitch", settings),
        ("loss=is", replace(d, loss="is")),
    ]


def sweep(names, configs) -> str:
    lines = [
        "| variant | settings | oracle SDR | auto SDR | oracle SIR | auto SIR |",
        "|---|---|---|---|---|---|",
    ]
    for tag, config in configs:
        scores = [run_case(build_case(n), config, ("oracle", "auto")) for n in names]
        o = np.mean([s["oracle"].mean(axis=1) for s in scores], axis=0)
        a = np.mean([s["auto"].mean(axis=1) for s in scores], axis=0)
        lines.append(
            f"| {tag} | {config.label()} | {o[0]:.2f} | {a[0]:.2f} | {o[1]:.2f} | {a[1]:.2f} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    parser.add_argument("--sweep", action="store_true", help="measure the variants instead")
    parser.add_argument("--only", nargs="*", help="sweep: only the variants with these tags")
    parser.add_argument("--n-fft", type=int, default=DEFAULT.n_fft, help="STFT size (all methods)")
    parser.add_argument("--hop", type=int, default=DEFAULT.hop, help="STFT hop (all methods)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.sweep:
        configs = [(t, c) for t, c in sweep_configs() if not args.only or t in args.only]
        print(sweep(args.cases, configs))
    else:
        print(main_table(args.cases, replace(DEFAULT, n_fft=args.n_fft, hop=args.hop)))
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
