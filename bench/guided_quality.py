"""What painting buys: a simulated user paints the music corpus, scored against blind grouping.

For every case of :mod:`bench.music_corpus` the product runs blind —
:func:`dsp.pipeline.separate_audio` with the case's number of sources, its
automatic grouping matched to the true stems — and then with paint covering
1 %, 3 % and 10 % of the time–frequency cells (``--amounts``). The paint is
what a careful user would do with the true stems in view: blob-shaped strokes
(:data:`STROKE_BINS` × :data:`STROKE_FRAMES` ellipses, centred on audible
cells, loud ones more often) that cover only cells where one source is at
least :data:`DOMINANCE_DB` above all the others together, with full
confidence. The guided stems come out in the paint's source order, so they
are scored against the stems in that order, without matching: a guide that
put a group under the wrong source would show.

Scores are BSS Eval v3 SDR (:mod:`bench.quality_scoring`), design and
held-out cases reported apart.

    .venv/bin/python bench/guided_quality.py                          # every case
    .venv/bin/python bench/guided_quality.py --split design --strength 2 5 10
    .venv/bin/python bench/guided_quality.py --cases pop_rock_44k --amounts 0.03

Per-case lines go to stderr; the markdown tables to stdout. Deterministic.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import music_corpus  # noqa: E402
from bench.quality_scoring import flat, matched, score_table  # noqa: E402
from bench.separation_quality import DEFAULT, case_settings, select_cases  # noqa: E402
from dsp.audio import Audio  # noqa: E402
from dsp.pipeline import Separation, separate_audio  # noqa: E402
from dsp.stft import analyse  # noqa: E402

#: A painted cell's source is this far above the other sources together (dB).
DOMINANCE_DB = 10.0
#: Cells this far below the mixture's loudest are not painted: nobody sees them.
AUDIBLE_DB = 50.0
#: Half-axes of one stroke, in STFT bins and frames (±130 Hz, ±46 ms at 44.1 kHz).
STROKE_BINS = 6
STROKE_FRAMES = 4
AMOUNTS = (0.01, 0.03, 0.10)


def simulated_paint(case, n_fft: int, hop: int, amount: float, seed: int = 0) -> np.ndarray:
    """Strokes covering ``amount`` of the cells, float32 (sources, bins, frames), 0 or 1.

    Fewer cells are painted when fewer are dominated by one source (the
    fraction painted is the paint's mean times its number of sources).
    """
    rng = np.random.default_rng(seed)
    stems = np.stack([analyse(s, case.rate, n_fft=n_fft, hop=hop).magnitude()
                      for s in case.stems]).astype(np.float64)
    total = stems.sum(axis=0)
    mixture = analyse(case.mixture, case.rate, n_fft=n_fft, hop=hop).magnitude()
    audible = mixture >= mixture.max() * 10 ** (-AUDIBLE_DB / 20)
    ratio = 10 ** (DOMINANCE_DB / 20)
    dominant = (stems >= ratio * (total - stems)) & audible[None]
    paint = np.zeros(stems.shape, dtype=np.float32)
    bins, frames = mixture.shape
    target = amount * bins * frames
    centres = np.flatnonzero(dominant.any(axis=0))
    if not centres.size:
        return paint
    weight = mixture.ravel()[centres].astype(np.float64)
    order = rng.choice(centres, size=centres.size, replace=False, p=weight / weight.sum())
    db, dt = np.meshgrid(np.arange(-STROKE_BINS, STROKE_BINS + 1),
                         np.arange(-STROKE_FRAMES, STROKE_FRAMES + 1), indexing="ij")
    inside = (db / STROKE_BINS) ** 2 + (dt / STROKE_FRAMES) ** 2 <= 1
    db, dt = db[inside], dt[inside]
    painted = 0
    for centre in order:
        if painted >= target:
            break
        f, t = divmod(int(centre), frames)
        source = int(np.argmax(dominant[:, f, t]))
        fs, ts = f + db, t + dt
        keep = (fs >= 0) & (fs < bins) & (ts >= 0) & (ts < frames)
        fs, ts = fs[keep], ts[keep]
        cells = dominant[source, fs, ts] & (paint[source, fs, ts] == 0)
        paint[source, fs[cells], ts[cells]] = 1.0
        painted += int(cells.sum())
    return paint


def stems_of(separation: Separation) -> np.ndarray:
    """The separation's stems, flattened (S, length), in its groups' order."""
    return np.stack([flat(s) for s in separation.stems()])


def run_case(name: str, amounts, strength: float, iterations: int) -> dict:
    """Blind and guided SDR (mean over sources) of one case, and the fractions painted."""
    case = music_corpus.build_case(name)
    settings = replace(case_settings(DEFAULT, case), guide_strength=strength,
                       guide_iterations=iterations)
    refs = np.stack([flat(s) for s in case.stems])
    audio = Audio(case.mixture, case.rate)
    started = time.perf_counter()
    blind = separate_audio(audio, settings)
    seconds = time.perf_counter() - started
    row = {"name": name, "split": case.split, "kind": case.kind, "k": settings.n_components,
           "blind": float(np.mean(score_table(refs, matched(refs, stems_of(blind)))[0])),
           "blind_s": seconds, "guided": {}, "painted": {}, "guided_s": {}}
    for amount in amounts:
        paint = simulated_paint(case, settings.n_fft, settings.hop, amount)
        started = time.perf_counter()
        guided = separate_audio(audio, settings, paint=paint)
        row["guided_s"][amount] = time.perf_counter() - started
        row["guided"][amount] = float(np.mean(score_table(refs, stems_of(guided))[0]))
        row["painted"][amount] = float(paint.sum() / paint[0].size)
    return row


def tables(rows: list[dict], amounts, strength: float, iterations: int) -> str:
    """Per case and per split: blind SDR, guided SDR and gain for each amount of paint."""
    head = " | ".join(f"{a:.0%} painted (gain)" for a in amounts)
    lines = [f"λ = {strength:g}, {iterations} guided iterations after the blind run; "
             "SDR in dB, mean over a case's sources.", "",
             f"| case | split | k | blind auto | {head} |",
             "|---|---|---|---|" + "---|" * len(amounts)]
    for r in rows:
        cells = " | ".join(f"{r['guided'][a]:.2f} ({r['guided'][a] - r['blind']:+.2f}, "
                           f"{r['painted'][a]:.1%})" for a in amounts)
        lines.append(f"| {r['name']} | {r['split']} | {r['k']} | {r['blind']:.2f} | {cells} |")
    lines += ["", f"| split | cases | blind auto | {head} | worst gain at "
              f"{amounts[min(1, len(amounts) - 1)]:.0%} |",
              "|---|---|---|" + "---|" * len(amounts) + "---|"]
    for split in ("design", "held-out"):
        group = [r for r in rows if r["split"] == split]
        if not group:
            continue
        blind = np.mean([r["blind"] for r in group])
        gains = {a: np.mean([r["guided"][a] - r["blind"] for r in group]) for a in amounts}
        cells = " | ".join(f"{blind + gains[a]:.2f} ({gains[a]:+.2f})" for a in amounts)
        middle = amounts[min(1, len(amounts) - 1)]
        worst = min(r["guided"][middle] - r["blind"] for r in group)
        lines.append(f"| {split} | {len(group)} | {blind:.2f} | {cells} | {worst:+.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("design", "held-out", "all"), default="all")
    parser.add_argument("--cases", nargs="+", metavar="NAME")
    parser.add_argument("--amounts", nargs="+", type=float, default=list(AMOUNTS))
    parser.add_argument("--strength", nargs="+", type=float,
                        default=[DEFAULT.settings.guide_strength])
    parser.add_argument("--iterations", type=int, default=DEFAULT.settings.guide_iterations)
    args = parser.parse_args(argv)
    names = select_cases(music_corpus, args.cases, args.split)
    started = time.perf_counter()
    for strength in args.strength:
        rows = []
        for name in names:
            row = run_case(name, args.amounts, strength, args.iterations)
            rows.append(row)
            gains = " ".join(f"{a:.0%} {row['guided'][a] - row['blind']:+.2f}"
                             for a in args.amounts)
            print(f"[λ={strength:g}] {name} ({row['split']}, k={row['k']}): blind "
                  f"{row['blind']:.2f} dB | {gains} | {row['blind_s']:.1f} s blind, "
                  f"{max(row['guided_s'].values()):.1f} s guided", file=sys.stderr, flush=True)
        print(tables(rows, args.amounts, strength, args.iterations))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
