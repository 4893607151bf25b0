"""The one part scheduler of both passes: numba's threads take the parts of a plan in turn.

A pass's work is a named tuple of its arrays and settings; its class is
registered with the function that does one part (:func:`register_part`).
:func:`_parts` takes the next part not yet taken (an atomic count) until none
is left, so a thread slowed by other work takes fewer; :func:`_threads` runs
it on several threads at once, one call per thread. Each part has its own
output buffers, summed in part order afterwards, so results do not depend on
which thread ran which part, nor on how many ran.

The threads are numba's (OpenMP, or TBB when it is installed), in a parallel
region the calling thread joins; they are started by the calling thread
(OpenMP keeps a team per thread that starts parallel work), so they share its
cores and priority. Between passes they wait spinning for a moment rather
than asleep, which a pass this short needs.
"""

from __future__ import annotations

import os

import numpy as np
from llvmlite import ir
from numba import config, get_num_threads, njit, prange, set_num_threads, types
from numba.core import errors
from numba.extending import intrinsic, overload

from .blas import one_blas_thread
from .plan import Plan, copy_by_blocks, plan_blocks

__all__ = ["Pass", "n_threads", "register_part"]

if "NUMBA_THREADING_LAYER" not in os.environ:
    # TBB or OpenMP: threadsafe, so solver threads may run passes at the same time.
    config.THREADING_LAYER = "threadsafe"
#: Most threads a pass runs on: numba's (one per CPU), or 1 once neither
#: threading layer has loaded (see :meth:`Pass._run`).
THREADS = config.NUMBA_NUM_THREADS

#: Below this many entries of V more threads cost more than they save.
PARALLEL_MIN = 1 << 18

#: The function that does one part, by the class of the work it takes.
_PART_OF: dict[type, object] = {}


def n_threads() -> int:
    """Threads for a pass: the cores this thread may use.

    ``PARTWISE_NUM_THREADS`` lowers it (e.g. when other work shares the cores).

    Raises
    ------
    ValueError
        If ``PARTWISE_NUM_THREADS`` is set to anything but a positive integer.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    limit = os.environ.get("PARTWISE_NUM_THREADS", "").strip()
    if limit:
        if not limit.isdigit() or int(limit) < 1:
            raise ValueError(f"PARTWISE_NUM_THREADS must be a positive integer, got {limit!r}")
        cores = min(cores, int(limit))
    return max(1, cores)


def register_part(work_class: type, part) -> None:
    """Have the scheduler call ``part(work, p, start, stop)`` for work of ``work_class``.

    ``part`` is a numba function doing part ``p``, columns ``[start, stop)``;
    the work's class, a named tuple, is part of the compiled kernels' types, so
    each pass gets kernels of its own from the one scheduler, and numba can
    cache them.
    """
    _PART_OF[work_class] = part


def _do_part(work, p, start, stop):
    """Part ``p`` of ``work`` (compiled only: see :func:`register_part`)."""
    raise NotImplementedError


@overload(_do_part)
def _do_part_of(work, p, start, stop):
    if not isinstance(work, types.BaseNamedTuple) or work.instance_class not in _PART_OF:
        raise errors.TypingError(f"no part function registered for {work}")
    part = _PART_OF[work.instance_class]

    def do_part(work, p, start, stop):
        part(work, p, start, stop)

    return do_part


@intrinsic
def _take(typingctx, taken):
    """The next part not yet taken: ``taken[0]``, incremented atomically."""

    def codegen(context, builder, signature, args):
        count = context.make_array(signature.args[0])(context, builder, args[0]).data
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", count, one, "monotonic")

    return types.int64(taken), codegen


@njit(nogil=True, cache=True)
def _parts(thread, taken, edges, ran_on, work):
    """Parts not yet taken, one after another, until none is left; ``ran_on`` keeps who."""
    while True:
        p = _take(taken)
        if p >= ran_on.size:
            return
        ran_on[p] = thread
        _do_part(work, p, edges[p], edges[p + 1])


@njit(nogil=True, parallel=True, cache=True)
def _threads(threads, taken, edges, ran_on, work):
    """:func:`_parts` on ``threads`` threads at once (prange's static schedule: one each)."""
    for thread in prange(threads):
        # the thread an int64, as the calling thread passes it: one compiled version
        _parts(np.int64(thread), taken, edges, ran_on, work)


class Pass:
    """A pass over one V: its plan, its copy of V block by block, its parts and threads.

    The copy of V is V's size. Each part has its own numerators: ``_M`` (m × k,
    summed over the part's blocks) and ``_N`` (k × width, one block's); a
    subclass's other buffers are k-sized too, or a chunk per part.

    Parameters
    ----------
    V : np.ndarray, float32, C-contiguous (m, n)
    n_components : int
    threads : int, optional
        Most parts run at once; by default :func:`n_threads`, and 1 for small
        V. Each pass runs no more than :func:`n_threads` allows the calling
        thread at that moment (a thread moved off cores after construction
        runs the parts itself), nor more than numba has. The result does not
        depend on it.
    """

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        m, n = V.shape
        k = n_components
        self._m, self._n = m, n
        self._plan: Plan = plan_blocks(m, n, k)
        self._width = self._plan.width
        self._V_blocks = copy_by_blocks(V, self._width)
        parts = self._plan.parts
        self._ran_on = np.zeros(parts, dtype=np.int64)
        self._M = np.empty((parts, m, k), dtype=np.float32)
        self._N = np.empty((parts, k, self._width), dtype=np.float32)
        self._none = np.zeros((1, 1), dtype=np.float32)
        if threads is None:
            threads = n_threads() if V.size >= PARALLEL_MIN else 1
        self.threads = max(1, min(int(threads), parts))

    def put_cells(self, rows: np.ndarray, cols: np.ndarray, values) -> None:
        """Write ``values`` into the pass's copy of V at the cells (``rows``, ``cols``).

        The passes then see that V: a steered solver zeroes its painted cells, which
        the fused products then leave out, and puts V's values back when the paint moves.
        """
        rows, cols = np.asarray(rows, np.intp), np.asarray(cols, np.intp)
        starts = cols - cols % self._width
        widths = np.minimum(self._width, self._n - starts)
        self._V_blocks[self._m * starts + rows * widths + (cols - starts)] = values

    def _h_step_terms(self, k: int, continuity, locked) -> tuple:
        """The continuity terms (or placeholders) and the lock mask the H update takes."""
        positive, negative = continuity if continuity is not None else (self._none, self._none)
        return positive, negative, np.zeros(k, dtype=np.bool_) if locked is None else locked

    def _run(self, work) -> None:
        """Every part of ``work``, on as many threads as the calling thread may use now.

        Without a threading layer (numba's error says so) the parts run on the
        calling thread, from then on for every pass.
        """
        global THREADS
        threads = min(self.threads, n_threads(), THREADS)
        one_blas_thread()
        if threads > 1:
            try:
                before = get_num_threads()
                set_num_threads(threads)  # for the calling thread only
                try:
                    _threads(threads, np.zeros(1, np.int64), self._plan.edges, self._ran_on, work)
                finally:
                    set_num_threads(before)
                return
            except ValueError as error:  # numba: "No threading layer could be loaded", …
                if "threading layer" not in str(error):
                    raise
                THREADS = 1
        _parts(0, np.zeros(1, np.int64), self._plan.edges, self._ran_on, work)
