"""What one Euclidean MU iteration spends above the floor, step by step.

Run from the repository root:

    .venv/bin/python bench/euclidean_steps.py

Times 20 iterations of the floor (WᵀV and VHᵀ, numpy's BLAS) at 1025 × 5168,
then again with each of MU's other steps added in the solver's order, using the
solver's own methods; last, the solver's ``step``. Each figure is the best of 7
runs, each after a pause in which BLAS threads go idle. Prints only: the figures
are quoted in docs/performance.md ("NMF engine speed").
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nmf_common import spectrogram_like  # noqa: E402

from dsp import nmf  # noqa: E402
from dsp.nmf.kernels import gram  # noqa: E402

STEPS = ["floor (WᵀV, VHᵀ)", "+ (WᵀW)H", "+ H update", "+ HHᵀ, W(HHᵀ), W update", "+ loss, WᵀW"]
ITERATIONS = 20


def per_iteration(run) -> float:
    """Milliseconds per iteration of ``run`` (which does ITERATIONS), best of 7."""
    best = float("inf")
    for _ in range(7):
        time.sleep(0.2)
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best / ITERATIONS


def figures_for_rank(V: np.ndarray, k: int) -> list[float]:
    """Milliseconds per iteration at each level of STEPS, then of ``solver.step``."""
    m, n = V.shape
    solver = nmf.make_solver(V, k, loss="euclidean", seed=0)
    W, H = solver._W, solver._H
    WtV = np.empty((k, n), np.float32)
    denom = np.empty((k, n), np.float32)
    VHt = np.empty((m, k), np.float32)

    def iterations(level: int):
        def run():
            for _ in range(ITERATIONS):
                np.matmul(W.T, V, out=WtV)
                if level >= 1:
                    np.matmul(solver._WtW, H, out=denom)
                if level >= 2:
                    solver._update_H(WtV, denom)
                np.matmul(V, H.T, out=VHt)
                if level >= 3:
                    HHt = gram(H)
                    solver._update_W(VHt, W @ HHt)
                if level >= 4:
                    solver._euclidean_loss(VHt, HHt)

        return run

    figures = [per_iteration(iterations(level)) for level in range(len(STEPS))]
    return [*figures, per_iteration(lambda: solver.step(ITERATIONS))]


def main() -> None:
    V = spectrogram_like(1025, 5168)
    for k in (8, 32):
        figures = figures_for_rank(V, k)
        cells = [f"{name} {ms:.2f}" for name, ms in zip([*STEPS, "solver.step"], figures)]
        print(f"k = {k}, ms per iteration: " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
