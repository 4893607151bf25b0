"""Compiling the kernels ahead of use: :func:`warm_up`, which start-up code calls.

Compiling takes seconds and holds the GIL. Left to the first pass it would
happen in a solver thread in the middle of a run, with the GUI thread starved
meanwhile, so the GUI and the command line call :func:`warm_up` first, on
their main thread. After the first time numba loads the compiled code from
its cache. Code that never calls it (tests, library users) still works: each
kernel compiles on its first use, in the thread that uses it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba.core import event

from .euclidean import EuclideanPass
from .kl import KLPass
from .log import log
from .small import cross_product, gram, inner, multiplicative_step, product, sums

__all__ = ["COMPILING", "warm_up"]

#: What :func:`warm_up` reports when the kernels are not in numba's cache.
COMPILING = "compiling the NMF kernels once, ~15 s…"


class _FirstCompile(event.Listener):
    """Calls ``report(COMPILING)`` when numba starts compiling one of these kernels, once.

    numba signals a compilation only when the kernel is not in its cache (or the
    cached code is stale: another numba, another CPU, an edited source file), so
    the report comes exactly when the wait does.
    """

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._reported = False

    def on_start(self, ev: event.Event) -> None:
        module = ev.data["dispatcher"].py_func.__module__
        if not self._reported and module.startswith(__package__):
            self._reported = True
            self._report(COMPILING)

    def on_end(self, ev: event.Event) -> None:
        pass


def warm_up(report: Callable[[str], None] | None = None) -> None:
    """Compile every kernel now (or load it from numba's cache), for the types solvers pass.

    Call it on the main thread at start-up, never in a solver thread.

    Parameters
    ----------
    report : callable, optional
        Called once with :data:`COMPILING` before the kernels compile, if
        they are not in numba's cache (the first start after an install);
        not called when they load from it.
    """
    listener = _FirstCompile(report or (lambda message: None))
    with event.install_listener("numba:compile", listener):
        W, H = np.ones((2, 1), np.float32), np.ones((1, 256), np.float32)
        V = np.ones((2, 256), np.float32)  # four blocks: four parts
        for threads in (1, 2):  # serial and parallel kernels (where there are threads)
            KLPass(V, 1, threads=threads).run(W, H, update_h=True)
            EuclideanPass(V, 1, threads=threads).run(
                W, H, np.ones((1, 1), np.float32), continuity=(H, H), alpha=1.0
            )
        cross_product(W, np.empty((1, 1), np.float32))
        product(W, np.ones((1, 1), np.float32))
        X = np.ones((1, 4), dtype=np.float32)
        multiplicative_step(X, X.copy(), X.copy())
        gram(X)
        inner(X, X)
        sums(X, 0)
        sums(X, 1)
        log(X)
