"""Fused passes over V, one per multiplicative-update iteration, on every core.

An iteration of multiplicative updates needs products with m × n operands
(KL: WH, Wᵀ(V/WH), WH again, (V/WH)Hᵀ; Euclidean: WᵀV and VHᵀ) and, for KL,
two ratios V / WH and Σ V log WH for the loss. Done as whole-matrix numpy
calls, every one streams an m × n array through memory, the k-sized work in
between runs on one core, and for KL the elementwise passes cost as much as
the products.

Here the columns of V are cut into a fixed number of equal parts, and each
part into blocks of about 16·k frames (64 at least), wide enough for the
products on a block to run at BLAS speed; each block is carried through the
whole iteration before the next is touched.

KL (:class:`KLPass`), in chunks of rows small enough (64 KiB of WH) that a
chunk is still in the core's cache when it is divided and multiplied on:

1. per chunk: ``A = W_c H_b`` (BLAS), ``A = V_cb / A``, ``N += W_cᵀ A``
   (BLAS); then the H half-step for the block's columns, which needs nothing
   from other columns: ``H_b ← H_b ∘ N / (colsum W)`` with penalties and locks;
2. per chunk: ``A = W_c H_b`` with the new H_b, ``Σ V_cb log A`` for the loss
   of the new factors, ``A = V_cb / A``, ``M_c += A H_bᵀ`` (BLAS).

Euclidean (:class:`EuclideanPass`): ``N = Wᵀ V_b``, the H half-step
``H_b ← H_b ∘ N / ((WᵀW) H_b)``, then ``M += V_b H_bᵀ`` and
``P += H_b H_bᵀ`` while V_b is still in cache.

``M`` is then the numerator of the next W half-step (and with ``P``, for the
Euclidean loss by the trace identity), so an iteration is one W update
(m × k) and one pass over V, and no m × n buffer exists at all. The parts
depend on the shape only, never on the thread count, so results are
bit-identical however many threads run: the calling thread and helper
threads each take the next part not yet taken, each part with its own M, and
the Ms are summed in part order.

The kernels are compiled with numba (``nogil``, so the parts run in
parallel) and call ``sgemm`` of their own OpenBLAS (scipy-openblas32, kept to
one thread: the parallelism is across parts) with leading dimensions, so
blocks of V and H are used in place, never copied. numpy's and scipy's BLAS
are left alone, and idle: their threads, once woken, would spin on the cores
the parts run on. The log is a vectorisable float32 polynomial (Cephes'
``logf`` scheme: the exponent from the bits, a degree-9 polynomial on the
mantissa in [√½, √2)), accurate to 2 ulp, since numba's ``log`` would be a
scalar call.
"""

from __future__ import annotations

import ctypes
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy_openblas32
from llvmlite import binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .base import EPS, FLOOR

__all__ = ["EuclideanPass", "KLPass", "blas_description", "gram", "log", "n_threads", "product"]

#: Parts of a pass: enough to keep every core of a large machine busy; fixed
#: so that the summation order, and so the result, never depends on threads.
_PARTS = 16
#: Block width in frames per component: the products on a block run near full
#: BLAS speed only when the block is wide compared with k (measured at k = 32,
#: 1025 × 5168: a pass with 512-frame blocks took 0.84× the time of 128-frame ones).
_WIDTH_PER_COMPONENT = 16
#: Narrowest block, and the most bytes of one m × width block of V (its row
#: chunks, not the whole block, are what must stay in cache).
_MIN_WIDTH = 64
_BLOCK_BYTES = 1 << 22
#: Bytes of the chunk of a block that is computed, divided and multiplied on
#: while it stays in the core's L2.
_CHUNK_BYTES = 1 << 16
#: Below this many entries of V a thread pool costs more than it saves.
_PARALLEL_MIN = 1 << 18


def n_threads() -> int:
    """Threads for the pass: the cores this thread may use.

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


# -- BLAS sgemm from numba ----------------------------------------------------------


def _open_blas() -> ctypes.CDLL:
    """The OpenBLAS of scipy-openblas32, set to one thread, with its sgemm registered.

    Registered under a name of our own, so compiled kernels refer to it by name
    and numba can cache them (a ctypes pointer would be baked into the code).
    """
    scipy_openblas32.get_openblas_config()  # loads the library, portably
    blas = scipy_openblas32.dll
    blas.scipy_openblas_get_config.restype = ctypes.c_char_p
    blas.scipy_openblas_set_num_threads(1)
    llvm.add_symbol("partwise_sgemm", ctypes.cast(blas.scipy_sgemm_, ctypes.c_void_p).value)
    return blas


_blas = _open_blas()


def _one_blas_thread() -> None:
    """Back to one thread, should a process-wide limit (threadpoolctl) have raised it."""
    if _blas.scipy_openblas_get_num_threads() != 1:
        _blas.scipy_openblas_set_num_threads(1)


def blas_description() -> str:
    """The OpenBLAS build the kernels call (version, kernel, thread limit)."""
    return _blas.scipy_openblas_get_config().decode()


@intrinsic
def _address(typingctx, array):
    """void* to the first element of an array."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.bitcast(data, cgutils.voidptr_t)

    return types.voidptr(array), codegen


@intrinsic
def _advance(typingctx, pointer, nbytes):
    """A void* ``nbytes`` past ``pointer``."""

    def codegen(context, builder, signature, args):
        byte_pointer = builder.bitcast(args[0], cgutils.int8_t.as_pointer())
        return builder.bitcast(builder.gep(byte_pointer, [args[1]]), cgutils.voidptr_t)

    return types.voidptr(types.voidptr, types.intp), codegen


@intrinsic
def _gemm(typingctx, trans_a, trans_b, rows, cols, depth, a, lda, b, ldb, beta, c, ldc):
    """Column-major C (rows × cols) = op(A) op(B) + beta C, for float32 pointers.

    ``trans_a`` and ``trans_b`` are the literals "N" or "T". A C-ordered matrix
    is its transpose in column-major terms, which is how the callers below
    express their row-major products. The arguments BLAS takes by reference
    live on the caller's stack for the call (never in a heap array, which the
    compiled code may free before the call).
    """
    flags = [getattr(t, "literal_value", None) for t in (trans_a, trans_b)]
    if any(flag not in ("N", "T") for flag in flags):
        return None

    def codegen(context, builder, signature, args):
        i32, f32 = ir.IntType(32), ir.FloatType()

        def by_reference(llvm_type, value):
            slot = cgutils.alloca_once(builder, llvm_type)
            builder.store(value, slot)
            return builder.bitcast(slot, cgutils.voidptr_t)

        def integer(index):
            value = context.cast(builder, args[index], signature.args[index], types.int32)
            return by_reference(i32, value)

        trans = [by_reference(cgutils.int8_t, ir.Constant(cgutils.int8_t, ord(f))) for f in flags]
        one = by_reference(f32, ir.Constant(f32, 1.0))
        beta = by_reference(f32, context.cast(builder, args[9], signature.args[9], types.float32))
        sgemm_type = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t] * 13)
        function = cgutils.get_or_insert_function(builder.module, sgemm_type, "partwise_sgemm")
        builder.call(
            function,
            [
                *trans, integer(2), integer(3), integer(4), one, args[5], integer(6),
                args[7], integer(8), beta, args[10], integer(11),
            ],
        )  # fmt: skip
        return context.get_dummy_value()

    signature = types.void(trans_a, trans_b, rows, cols, depth, a, lda, b, ldb, beta, c, ldc)
    return signature, codegen


@njit(nogil=True, cache=True)
def _w_times_h(W, row0, rows, H, start, width, out, beta):
    """out[:rows, :width] = W[row0 : row0 + rows] @ H[:, start : start + width] + beta out."""
    k = W.shape[1]
    w = _advance(_address(W), 4 * row0 * k)
    h = _advance(_address(H), 4 * start)
    _gemm("N", "N", width, rows, k, h, H.shape[1], w, k, beta, _address(out), out.shape[1])


@njit(nogil=True, cache=True)
def _wt_times(W, row0, rows, x, ldx, width, Nt, beta):
    """Nt[:width] = (W[row0 : row0 + rows]ᵀ @ X[:rows, :width])ᵀ + beta Nt.

    X is given by the address of its first entry and its row stride ``ldx``.
    The product is kept transposed (width × k): OpenBLAS computes it faster in
    that layout when k is small (measured: 3.6 ms instead of 4.4 for WᵀV at
    1025 × 5168, k = 32, one thread).
    """
    k = W.shape[1]
    w = _advance(_address(W), 4 * row0 * k)
    _gemm("N", "T", k, width, rows, w, k, x, ldx, beta, _address(Nt), k)


@njit(nogil=True, cache=True)
def _add_wt_times(W, row0, rows, A, width, N):
    """N[:, :width] += W[row0 : row0 + rows]ᵀ @ A[:rows, :width] (the KL chunks' layout:
    faster than the transposed one there at small k, 42 µs instead of 60 a block at k = 8)."""
    k = W.shape[1]
    w = _advance(_address(W), 4 * row0 * k)
    _gemm("N", "T", width, k, rows, _address(A), A.shape[1], w, k, 1.0, _address(N), N.shape[1])


@njit(nogil=True, cache=True)
def _add_times_ht(x, ldx, rows, H, start, width, M, row0):
    """M[row0 : row0 + rows] += X[:rows, :width] @ H[:, start : start + width]ᵀ.

    X is given by the address of its first entry and its row stride ``ldx``.
    """
    k = M.shape[1]
    h = _advance(_address(H), 4 * start)
    m = _advance(_address(M), 4 * row0 * k)
    _gemm("T", "N", k, rows, width, h, H.shape[1], x, ldx, 1.0, m, k)


@njit(nogil=True, cache=True)
def _gram(W, out):
    _wt_times(W, 0, W.shape[0], _address(W), W.shape[1], W.shape[1], out, 0.0)


def gram(W: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = WᵀW (k × k) for a C-contiguous float32 W, on the calling thread only."""
    _one_blas_thread()
    _gram(W, out)
    return out


@njit(nogil=True, cache=True)
def _product(A, B, out):
    _w_times_h(A, 0, A.shape[0], B, 0, B.shape[1], out, 0.0)


def product(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = A @ B for C-contiguous float32 arrays, on the calling thread only.

    numpy's BLAS would run a product of this size on every core, and its
    threads would then spin on them, slowing the next pass.
    """
    _one_blas_thread()
    _product(A, B, out)
    return out


# -- a vectorisable float32 log ------------------------------------------------------


@intrinsic
def _bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _from_bits(typingctx, i):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=True, error_model="numpy")
def _log(x):
    """Natural log of a positive, normal float32 (no checks: the callers guarantee it)."""
    bits = _bits(x)
    e = np.float32((bits >> 23) - 126)
    f = _from_bits((bits & 0x007FFFFF) | 0x3F000000)  # x = f · 2^e, f in [0.5, 1)
    if f < np.float32(0.70710678):
        e -= np.float32(1.0)
        f = f + f - np.float32(1.0)
    else:
        f = f - np.float32(1.0)
    z = f * f
    y = np.float32(7.0376836292e-2)
    y = y * f - np.float32(1.1514610310e-1)
    y = y * f + np.float32(1.1676998740e-1)
    y = y * f - np.float32(1.2420140846e-1)
    y = y * f + np.float32(1.4249322787e-1)
    y = y * f - np.float32(1.6668057665e-1)
    y = y * f + np.float32(2.0000714765e-1)
    y = y * f - np.float32(2.4999993993e-1)
    y = y * f + np.float32(3.3333331174e-1)
    y = y * f * z
    y += np.float32(-2.12194440e-4) * e
    y -= np.float32(0.5) * z
    return f + y + np.float32(0.693359375) * e


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _log_into(x, out):
    for i in range(x.size):
        out[i] = _log(x[i])


def log(x: np.ndarray) -> np.ndarray:
    """The pass's float32 natural log, elementwise, for positive normal ``x``.

    Exposed so its accuracy can be checked against ``np.log``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    out = np.empty_like(x)
    _log_into(x, out)
    return out


# -- the passes ---------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _fill_rows(Dt, width, values):
    """Dt[c] = values for the first ``width`` rows."""
    for c in range(width):
        Dt[c, :] = values


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _update_h_kl(H, N, start, width, denom, positive, negative, alpha, locked):
    """H_b ← max(H_b ∘ (N + α·negative) / (denom + α·positive), FLOOR); locked rows untouched.

    ``N`` (k × width) is the numerator of the block, ``denom`` (k,) the column
    sums of W plus any L1 weight.
    """
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    for row in range(H.shape[0]):
        if locked[row]:
            continue
        h, num, d = H[row, start : start + width], N[row, :width], denom[row]
        if alpha > 0:
            p, q = positive[row, start : start + width], negative[row, start : start + width]
            for c in range(width):
                h[c] = max(h[c] * ((num[c] + alpha * q[c]) / max(d + alpha * p[c], eps)), floor)
        else:
            scale = np.float32(1.0) / max(d, eps)
            for c in range(width):
                h[c] = max(h[c] * (num[c] * scale), floor)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _update_h_euclidean(H, Nt, Dt, start, width, positive, negative, alpha, locked):
    """H_b ← max(H_b ∘ (N + α·negative) / (D + α·positive), FLOOR); locked rows untouched.

    ``Nt`` and ``Dt`` (width × k) are the numerator and denominator of the
    block, transposed; ``Nt`` is overwritten. The flags are tested outside the
    loops (tested inside, with placeholder arrays standing in for absent terms,
    the compiled loop gave results that varied from run to run).
    """
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    k = H.shape[0]
    if alpha > 0:
        for c in range(width):
            for row in range(k):
                numer = Nt[c, row] + alpha * negative[row, start + c]
                denom = Dt[c, row] + alpha * positive[row, start + c]
                Nt[c, row] = numer / max(denom, eps)
    else:
        # One contiguous loop, which vectorises: the divisions are most of the work.
        ratio, denom = Nt[:width].ravel(), Dt[:width].ravel()
        for i in range(ratio.size):
            ratio[i] = ratio[i] / max(denom[i], eps)
    for row in range(k):
        if not locked[row]:
            h = H[row, start : start + width]
            for c in range(width):
                h[c] = max(h[c] * Nt[c, row], floor)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _ratio(V, A, row0, rows, start, width):
    """A[:rows, :width] = V[row0 : row0 + rows, start : start + width] / A."""
    for i in range(rows):
        v, a = V[row0 + i, start : start + width], A[i, :width]
        for c in range(width):
            a[c] = v[c] / a[c]


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _v_log_and_ratio(V, A, row0, rows, start, width):
    """Σ V log A over the chunk, then A = V / A."""
    total = 0.0
    for i in range(rows):
        # Row slices and two simple loops: this is the form LLVM vectorises.
        v, a = V[row0 + i, start : start + width], A[i, :width]
        row = np.float32(0.0)
        for c in range(width):
            row += v[c] * _log(a[c])
        for c in range(width):
            a[c] = v[c] / a[c]
        total += row
    return total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _kl_part(
    V, W, H, start, stop, width, update_h, denom, positive, negative, alpha, locked, M, A, N
):
    """Columns [start, stop) of one KL pass; returns Σ V log WH over them and leaves M.

    Each block of ``width`` columns is done in chunks of ``A.shape[0]`` rows, so
    the chunk of WH (the buffer ``A``) is still in cache when it is divided and
    multiplied on; ``N`` (k × width) gathers Wᵀ(V / WH) for the block.
    """
    m = V.shape[0]
    chunk = A.shape[0]
    M[:, :] = 0.0
    v_log = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        if update_h:
            N[:, :] = 0.0
            for r in range(0, m, chunk):
                rows = min(chunk, m - r)
                _w_times_h(W, r, rows, H, s, w, A, 0.0)
                _ratio(V, A, r, rows, s, w)
                _add_wt_times(W, r, rows, A, w, N)
            _update_h_kl(H, N, s, w, denom, positive, negative, alpha, locked)
        for r in range(0, m, chunk):
            rows = min(chunk, m - r)
            _w_times_h(W, r, rows, H, s, w, A, 0.0)
            v_log += _v_log_and_ratio(V, A, r, rows, s, w)
            _add_times_ht(_address(A), A.shape[1], rows, H, s, w, M, r)
    return v_log


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _euclidean_part(
    V, W, H, WtW, start, stop, width, denom, positive, negative, alpha, locked, M, P, N, D
):
    """Columns [start, stop) of one Euclidean pass: the H half-step, then VHᵀ into M, HHᵀ into P."""
    m, n = V.shape
    k = W.shape[1]
    M[:, :] = 0.0
    P[:, :] = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        v, h = _advance(_address(V), 4 * s), _advance(_address(H), 4 * s)
        _wt_times(W, 0, m, v, n, w, N, 0.0)
        _fill_rows(D, w, denom)
        # Dt[:w] += ((WᵀW) H_b)ᵀ, which is column-major (WᵀW) H_b (WᵀW is symmetric)
        _gemm("N", "T", k, w, k, _address(WtW), k, h, n, 1.0, _address(D), k)
        _update_h_euclidean(H, N, D, s, w, positive, negative, alpha, locked)
        _add_times_ht(v, n, m, H, s, w, M, 0)
        _add_times_ht(h, n, k, H, s, w, P, 0)


class _Pass:
    """What a fused pass over one V needs: its parts, their buffers, and threads.

    The columns are cut into at most ``_PARTS`` parts of equal width (so that
    the parts share out evenly over the threads), each part into blocks of
    about ``_WIDTH_PER_COMPONENT``·k frames, no wider than ``_BLOCK_BYTES`` of V.
    """

    def __init__(self, V: np.ndarray, n_components: int, threads: int | None) -> None:
        m, n = V.shape
        k = n_components
        self.V = V
        wanted = max(_MIN_WIDTH, _WIDTH_PER_COMPONENT * k)
        wanted = max(8, min(wanted, _BLOCK_BYTES // (4 * m)))
        # No narrower than a block where it can be helped (an even count, for two
        # or four threads), and at least 8 frames wide, so that none is empty.
        parts = min(_PARTS, n // wanted)
        parts = max(1, min(parts - parts % 2 if parts > 1 else parts, n // 8))
        # Edges on multiples of 8 frames.
        edges = 8 * np.round(np.arange(parts + 1) * (n / (8 * parts))).astype(int)
        edges[-1] = n
        self._parts = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
        widest = max(stop - start for start, stop in self._parts)
        blocks = -(-widest // wanted)
        self._width = 8 * -(-widest // (8 * blocks))
        self._M = np.empty((parts, m, k), dtype=np.float32)
        self._none = np.zeros((1, 1), dtype=np.float32)
        if threads is None:
            threads = n_threads() if V.size >= _PARALLEL_MIN else 1
        self.threads = max(1, min(int(threads), parts))
        self._pools: dict[int, ThreadPoolExecutor] = {}

    def __del__(self) -> None:
        for pool in getattr(self, "_pools", {}).values():
            pool.shutdown(wait=False)

    def _helpers(self) -> tuple[int, ThreadPoolExecutor | None]:
        """Threads that join the calling thread for this pass, as many as it may use now."""
        helpers = min(self.threads, n_threads()) - 1
        if helpers == 0:
            return 0, None
        if helpers not in self._pools:
            # Started by the calling thread, so they share its affinity and priority.
            self._pools[helpers] = ThreadPoolExecutor(helpers)
        return helpers, self._pools[helpers]

    def _run(self, part) -> list:
        """``part(p)`` for every part, spread over the threads; the results in part order."""
        # Every thread takes the next part not yet taken (next() on a count is atomic
        # under the GIL), so a thread slowed by other work takes fewer parts.
        parts = len(self._parts)
        taken = itertools.count()
        results = [None] * parts

        def drain() -> None:
            while (p := next(taken)) < parts:
                results[p] = part(p)

        _one_blas_thread()
        count, helpers = self._helpers()
        running = [helpers.submit(drain) for _ in range(count)]
        drain()
        for future in running:
            future.result()
        return results

    def _h_terms(self, n_components, continuity, locked):
        positive, negative = continuity if continuity is not None else (self._none, self._none)
        locked = np.zeros(n_components, dtype=np.bool_) if locked is None else locked
        return positive, negative, locked


class KLPass(_Pass):
    """The fused KL pass over one V.

    Parameters
    ----------
    V : np.ndarray, float32, C-contiguous (m, n)
    n_components : int
    threads : int, optional
        Most parts run at once; by default :func:`n_threads`, and 1 for small
        V. Each pass runs no more than :func:`n_threads` allows the calling
        thread at that moment (a thread moved off cores after construction
        runs the parts itself). The result does not depend on it.
    """

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads)
        parts, width = len(self._parts), self._width
        rows = max(8, min(V.shape[0], _CHUNK_BYTES // (4 * width)))
        self._A = np.empty((parts, rows, width), dtype=np.float32)
        self._N = np.empty((parts, n_components, width), dtype=np.float32)

    def run(
        self,
        W: np.ndarray,
        H: np.ndarray,
        *,
        update_h: bool,
        denom: np.ndarray | None = None,
        continuity: tuple[np.ndarray, np.ndarray] | None = None,
        alpha: float = 0.0,
        locked: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """One pass: optionally the H half-step, then Σ V log WH and (V / WH) Hᵀ.

        Parameters
        ----------
        W : np.ndarray, float32, C-contiguous (m, k)
        H : np.ndarray, float32, C-contiguous (k, n)
            Updated in place when ``update_h``.
        update_h : bool
        denom : np.ndarray (k,), optional
            Denominator of the H update: by default the column sums of W, to
            which a caller adds any L1 weight.
        continuity : (positive, negative), optional
            Virtanen's continuity terms (k, n), weighted by ``alpha``.
        locked : np.ndarray of bool (k,), optional
            Rows of H that stay bit-identical.

        Returns
        -------
        v_log : float
            Σ V log WH for the factors after the pass.
        VHt : np.ndarray, float32 (m, k)
            (V / WH) Hᵀ for the same factors: the numerator of the next W update.
        """
        k = W.shape[1]
        denom = W.sum(axis=0) if denom is None else np.asarray(denom, np.float32)
        positive, negative, locked = self._h_terms(k, continuity, locked)
        alpha = np.float32(alpha)

        def part(p: int) -> float:
            start, stop = self._parts[p]
            return _kl_part(
                self.V, W, H, start, stop, self._width, update_h, denom, positive, negative,
                alpha, locked, self._M[p], self._A[p], self._N[p],
            )  # fmt: skip

        return float(sum(self._run(part))), self._M.sum(axis=0)


class EuclideanPass(_Pass):
    """The fused Euclidean pass over one V: the H half-step, VHᵀ and HHᵀ.

    Parameters are those of :class:`KLPass`.
    """

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads)
        k, parts = n_components, len(self._parts)
        self._P = np.empty((parts, k, k), dtype=np.float32)
        # The numerator and denominator of a block's H update, transposed.
        self._N = np.empty((parts, self._width, k), dtype=np.float32)
        self._D = np.empty((parts, self._width, k), dtype=np.float32)

    def run(
        self,
        W: np.ndarray,
        H: np.ndarray,
        WtW: np.ndarray,
        *,
        denom: np.ndarray | None = None,
        continuity: tuple[np.ndarray, np.ndarray] | None = None,
        alpha: float = 0.0,
        locked: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One pass: the H half-step ``H ← H ∘ WᵀV / ((WᵀW)H + denom)``, then VHᵀ and HHᵀ.

        Parameters
        ----------
        W : np.ndarray, float32, C-contiguous (m, k)
        H : np.ndarray, float32, C-contiguous (k, n)
            Updated in place.
        WtW : np.ndarray, float32, C-contiguous (k, k)
            WᵀW of this W (see :func:`gram`).
        denom : np.ndarray (k,), optional
            Added to the denominator of the H update (an L1 weight); zero by default.
        continuity, alpha, locked
            As for :meth:`KLPass.run`.

        Returns
        -------
        VHt, HHt : np.ndarray, float32 (m, k) and (k, k)
            For the new H: the numerator of the W update and the factor of its
            denominator W(HHᵀ).
        """
        k = W.shape[1]
        denom = np.zeros(k, np.float32) if denom is None else np.asarray(denom, np.float32)
        positive, negative, locked = self._h_terms(k, continuity, locked)
        alpha = np.float32(alpha)

        def part(p: int) -> None:
            start, stop = self._parts[p]
            _euclidean_part(
                self.V, W, H, WtW, start, stop, self._width, denom, positive, negative,
                alpha, locked, self._M[p], self._P[p], self._N[p], self._D[p],
            )  # fmt: skip

        self._run(part)
        return self._M.sum(axis=0), self._P.sum(axis=0)


def _compile() -> None:
    """Compile every kernel now (or load it from numba's cache), for the types solvers pass.

    Compiling takes seconds and holds the GIL. Left to the first call it would happen in
    a solver thread in the middle of a run, with the GUI thread starved meanwhile; here
    it happens once, at import (at start-up in the app), and after the first time the
    compiled code comes from the cache next to this file.
    """
    V = np.ones((2, 4), dtype=np.float32)
    frozen = V.copy()
    frozen.flags.writeable = False  # a caller's read-only V gets its own specialisation
    W, WtW = np.ones((2, 1), np.float32), np.ones((1, 1), np.float32)
    for data in (V, frozen):
        KLPass(data, 1, threads=1).run(W, np.ones((1, 4), np.float32), update_h=True)
        EuclideanPass(data, 1, threads=1).run(W, np.ones((1, 4), np.float32), WtW)
    gram(W, WtW)
    product(W, WtW, W.copy())
    log(V)


_compile()
