"""One fused pass over V per KL or Euclidean iteration: column blocks in cache, on every core.

A KL multiplicative-update iteration needs four products with m × n results
or operands (WH, Wᵀ(V/WH), WH again, (V/WH)Hᵀ), two ratios V / WH and, for
the loss, Σ V log WH. Done as whole-matrix numpy calls, every one of them
streams an m × n array through memory, and on a spectrogram the elementwise
passes cost as much as the products.

Here the columns of V are cut into blocks about 16·k frames wide (64 at least;
an even number of them when there are few), wide enough for the products on a
block to run at BLAS speed, and each block
is carried through the whole iteration before the next is touched, in chunks
of up to 64 rows, so that a chunk is still in the core's cache when it is
divided and multiplied on, and each product on it stays under OpenBLAS's
small-matrix threshold (see :func:`_chunk_rows`):

1. per chunk: ``A = W_c H_b`` (BLAS), ``A = V_cb / A``, ``N += W_cᵀ A``
   (BLAS); then the H half-step for the block's columns, which needs nothing
   from other columns: ``H_b ← H_b ∘ N / (colsum W)`` with penalties and locks;
2. per chunk: ``A = W_c H_b`` with the new H_b, ``Σ V_cb log A`` for the loss
   of the new factors, ``A = V_cb / A``, ``M_c += A H_bᵀ`` (BLAS).

``M`` is then the numerator of the next W half-step, so an iteration is one
W update (m × k) and one pass over V, with no m × n work buffer. The pass
keeps its own copy of V, block by block (each block's m × width entries
contiguous), since the elementwise steps read V's rows of a block faster as
one run than as m short pieces of its rows (measured at 1025 × 5168, k = 32:
a pass 7–13% faster on two threads, 10% on one). Only
the templates the W step will change need their columns of ``M``: locked ones
are left out (and with every template locked, so are step 2's ratio and
product), which is what makes supervised separation and the comb start
cheaper. The
blocks are grouped into a fixed number of parts (from the shape only, never
from the thread count, so results are bit-identical however many threads
run), largest first and a block each at the end, so the threads finish
together; each thread takes the next part not yet taken (an atomic count),
each part with its own M, and the Ms are summed in part order.

The kernels are compiled with numba; the threads are numba's (OpenMP, or TBB
when it is installed), in a parallel region the calling thread joins. Between
passes they wait spinning for a moment rather than asleep: the thread pool
this replaced had its helper start 80–110 µs after each pass began and the
caller wake 90 µs after the helper's last part, and a Euclidean iteration at
1025 × 5168 took 5–6% longer with it at k = 32, 10–20% at k = 8 (median of
350 passes, same run). The products call ``sgemm`` of an OpenBLAS of their own
(scipy-openblas32, one thread per call: the parallelism is across parts)
directly with leading dimensions, so blocks of V and H are used in place,
never copied.
Euclidean MU (:class:`EuclideanPass`) takes the same blocks, copy of V and
parts: per block ``N = Wᵀ V_b`` and ``D = (WᵀW) H_b``, the H update, then
``G += H_b H_bᵀ`` and ``M += V_b H_bᵀ`` of the new H_b, in the same chunks
of rows.

The log is a vectorisable float32 polynomial (Cephes' ``logf`` scheme: the
exponent from the bits, a degree-9 polynomial on the mantissa in
[√½, √2)), accurate to 2 ulp, since numba's ``log`` would be a scalar call.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np
import scipy_openblas32
from llvmlite import binding as llvm
from llvmlite import ir
from numba import config, get_num_threads, njit, prange, set_num_threads, types
from numba.core import cgutils
from numba.extending import intrinsic

from .base import EPS, FLOOR

__all__ = [
    "EuclideanPass",
    "KLPass",
    "blas_description",
    "cross_product",
    "gram",
    "inner",
    "log",
    "multiplicative_step",
    "n_threads",
    "product",
    "sums",
]

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
#: Multiply-adds of one product on a chunk of a block: OpenBLAS's small-matrix
#: threshold, below which it multiplies without packing. The passes' products
#: stay under it: above it a pass ran 1.3–1.5× slower (1025 × 5168, k = 64,
#: Euclidean, one thread: rows of 32 against 16; KL at k = 32, 75 rows: 1.42×
#: the floor against 1.05× at 64).
_SMALL_PRODUCT = 10**6
#: Most rows of a chunk, which is computed, divided and multiplied on while it
#: stays in the core's cache. More did not help: Euclidean at k = 8, one
#: thread, 96 or 128 rows 6–8% slower than 48 or 64; KL at k = 8, 128 and 192
#: rows no faster than 64.
_CHUNK_ROWS = 64
#: Rows of a KL chunk when OpenBLAS has no small-matrix kernels (see
#: :data:`_SMALL_KERNELS`) and packs every operand: fewer, larger products pay
#: less packing. With Haswell's or Zen's kernels (``OPENBLAS_CORETYPE``, on this
#: machine), 1025 × 5168, k = 32: 128 rows 1.11–1.13× the floor, 256 rows
#: 1.09–1.15×, 64 rows 1.17–1.20×; 128 rows keep a chunk in a 256 KiB L2.
_PACKED_ROWS = 128
#: Below this many entries of V more threads cost more than they save.
_PARALLEL_MIN = 1 << 18

if "NUMBA_THREADING_LAYER" not in os.environ:
    # TBB or OpenMP: threadsafe, so solver threads may run passes at the same
    # time, and their threads wait for the next pass spinning for a moment,
    # not asleep (see :meth:`_Pass._run`).
    config.THREADING_LAYER = "threadsafe"
#: Most threads a pass runs on: numba's (one per CPU), or 1 when neither
#: threading layer loads (see :func:`_compile`).
_THREADS = config.NUMBA_NUM_THREADS


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

    The pass calls a BLAS of its own: one thread per call (the parallelism is
    across parts) without touching the thread count of numpy's and scipy's,
    which other threads may be using meanwhile; and a recent OpenBLAS (0.3.34
    here ran the pass's products 5–8% faster at 1025 × 25840 than the 0.3.30 in
    scipy's wheel). sgemm is registered under a name of our own, so compiled
    kernels refer to it by name and numba can cache them (a ctypes pointer
    would be baked into the code).
    """
    scipy_openblas32.get_openblas_config()  # loads the library, portably
    blas = scipy_openblas32.dll
    blas.scipy_openblas_get_config.restype = ctypes.c_char_p
    blas.scipy_openblas_get_corename.restype = ctypes.c_char_p
    blas.scipy_openblas_set_num_threads(1)
    llvm.add_symbol("partwise_sgemm", ctypes.cast(blas.scipy_sgemm_, ctypes.c_void_p).value)
    return blas


_blas = _open_blas()
#: Whether the OpenBLAS kernels for this CPU multiply small matrices without
#: packing them: those of AVX-512 cores (SkylakeX, and Cooperlake and
#: SapphireRapids, which share them). With AVX2's (Haswell, Zen) every product
#: packs its operands, and the passes make fewer, larger ones (see
#: :func:`_chunk_rows`). From the kernels' name, so that the chunks, and so the
#: results, are the same in every run on a machine.
_SMALL_KERNELS = _blas.scipy_openblas_get_corename().decode().lower() in {
    "skylakex",
    "cooperlake",
    "sapphirerapids",
}


def _one_blas_thread() -> None:
    """Back to one thread, should a process-wide limit (threadpoolctl) have raised it."""
    if _blas.scipy_openblas_get_num_threads() != 1:
        _blas.scipy_openblas_set_num_threads(1)


def blas_description() -> str:
    """The OpenBLAS build the pass calls (version, kernel, thread limit)."""
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
def _take(typingctx, taken):
    """The next part not yet taken: ``taken[0]``, incremented atomically."""

    def codegen(context, builder, signature, args):
        count = context.make_array(signature.args[0])(context, builder, args[0]).data
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", count, one, "monotonic")

    return types.int64(taken), codegen


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
def _w_times_h(W, row0, rows, H, start, width, out):
    """out[:rows, :width] = W[row0 : row0 + rows] @ H[:, start : start + width]."""
    k = W.shape[1]
    w = _advance(_address(W), 4 * row0 * k)
    h = _advance(_address(H), 4 * start)
    _gemm("N", "N", width, rows, k, h, H.shape[1], w, k, 0.0, _address(out), out.shape[1])


@njit(nogil=True, cache=True)
def _add_wt_times(W, row0, rows, A, width, N, beta):
    """N[:, :width] = W[row0 : row0 + rows]ᵀ @ A[:rows, :width] + beta · N[:, :width]."""
    k = W.shape[1]
    w = _advance(_address(W), 4 * row0 * k)
    _gemm("N", "T", width, k, rows, _address(A), A.shape[1], w, k, beta, _address(N), N.shape[1])


@njit(nogil=True, cache=True)
def _add_times(A, rows, B, width, M, row0, beta):
    """M[row0 : row0 + rows] = A[:rows, :width] @ B[:width] + beta · M[row0 : row0 + rows].

    B is a block of H transposed (:func:`_transposed`). OpenBLAS's small-matrix
    kernels ran this layout faster than the product with H's own rows, which
    the passes made before (1025 × 5168, k = 32, interleaved runs against
    numpy's floor: Euclidean MU 1.02–1.05× the floor, against 1.11–1.19×;
    KL 1.06–1.08×, against 1.10–1.23×).
    """
    k = M.shape[1]
    m = _advance(_address(M), 4 * row0 * k)
    _gemm("N", "N", k, rows, width, _address(B), B.shape[1], _address(A), A.shape[1], beta, m, k)


@njit(nogil=True, fastmath=True, cache=True)
def _transposed(H, index, start, width, out):
    """out[c, i] = H[index[i], start + c] for the ``width`` columns from ``start``.

    Row by row of ``out`` (k = 32, 432 columns: 5.8 µs; 13.6 µs column by column).
    """
    for c in range(width):
        row = out[c]
        for i in range(index.size):
            row[i] = H[index[i], start + c]


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


# -- the pass -----------------------------------------------------------------------


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _update_h(H, N, start, width, denom, positive, negative, alpha, locked):
    """H_b ← max(H_b ∘ (N + α·negative) / (denom + α·positive), FLOOR); locked rows untouched."""
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    for row in range(H.shape[0]):
        if locked[row]:
            continue
        d = denom[row]
        if alpha > 0:
            for c in range(width):
                num = N[row, c] + alpha * negative[row, start + c]
                den = max(d + alpha * positive[row, start + c], eps)
                H[row, start + c] = max(H[row, start + c] * (num / den), floor)
        else:
            scale = np.float32(1.0) / max(d, eps)
            for c in range(width):
                H[row, start + c] = max(H[row, start + c] * (N[row, c] * scale), floor)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _ratio(V, A, row0, rows, width):
    """A[:rows, :width] = V[row0 : row0 + rows, :width] / A."""
    for i in range(rows):
        v, a = V[row0 + i, :width], A[i, :width]
        for c in range(width):
            a[c] = v[c] / a[c]


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _v_log_and_ratio(V, A, row0, rows, width, ratio):
    """Σ V log A over the chunk, then A = V / A if ``ratio``."""
    total = 0.0
    for i in range(rows):
        # Row slices and two simple loops: this is the form LLVM vectorises.
        v, a = V[row0 + i, :width], A[i, :width]
        row = np.float32(0.0)
        for c in range(width):
            row += v[c] * _log(a[c])
        if ratio:
            for c in range(width):
                a[c] = v[c] / a[c]
        total += row
    return total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _part(
    V_blocks, W, H, start, stop, width, update_h, denom, positive, negative, alpha, locked, free,
    M, A, N, F,
):  # fmt: skip
    """Columns [start, stop) of one pass; returns Σ V log WH over them and leaves M.

    ``V_blocks`` is V block by block (see :class:`KLPass`).

    Each block of ``width`` columns is done in chunks of ``A.shape[0]`` rows, so
    the chunk of WH (the buffer ``A``) is still in cache when it is divided and
    multiplied on; ``N`` (k × width) gathers Wᵀ(V / WH) for the block. ``M``
    (m × len(free)) gathers (V / WH)Hᵀ for the templates in ``free`` only, the
    ones a W step will change: their rows of the block of H, transposed, are
    ``F`` (width × len(free)), and with no free template the second ratio and
    product are not made at all.
    """
    m = W.shape[0]
    chunk = A.shape[0]
    n_free = free.size
    v_log = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        V = V_blocks[m * s : m * (s + w)].reshape((m, w))
        if update_h:
            for r in range(0, m, chunk):
                rows = min(chunk, m - r)
                _w_times_h(W, r, rows, H, s, w, A)
                _ratio(V, A, r, rows, w)
                _add_wt_times(W, r, rows, A, w, N, 1.0 if r else 0.0)
            _update_h(H, N, s, w, denom, positive, negative, alpha, locked)
        _transposed(H, free, s, w, F)
        for r in range(0, m, chunk):
            rows = min(chunk, m - r)
            _w_times_h(W, r, rows, H, s, w, A)
            v_log += _v_log_and_ratio(V, A, r, rows, w, n_free > 0)
            if n_free > 0:
                _add_times(A, rows, F, w, M, r, 1.0 if s > start else 0.0)
    return v_log


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _multiplicative_step(X, numer, denom):
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    for i in range(X.shape[0]):
        x, p, q = X[i], numer[i], denom[i]
        for j in range(x.size):
            x[j] = max(x[j] * (p[j] / max(q[j], eps)), floor)


def multiplicative_step(X: np.ndarray, numer: np.ndarray, denom: np.ndarray) -> None:
    """X ← max(X ∘ numer / max(denom, EPS), FLOOR) in place, in one pass.

    All three are float32 arrays of the same 2-D shape with contiguous rows.
    """
    _multiplicative_step(X, numer, denom)


# -- the k-sized products of Euclidean MU -------------------------------------------------

#: Columns of H per chunk of :func:`gram`, so that a chunk (k × 2048 float32,
#: 256 KiB at k = 32) is read from the core's L2 by every block of rows.
_GRAM_CHUNK = 2048


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _gram_block(H, a, b, start, stop, G):
    """G[a : a + 4, b : b + 4] += H[a : a + 4] H[b : b + 4]ᵀ over columns [start, stop).

    Sixteen scalar sums in one loop over the columns, which LLVM turns into
    sixteen vector accumulators: eight rows loaded for sixteen multiply-adds.
    """
    x0, x1 = H[a, start:stop], H[a + 1, start:stop]
    x2, x3 = H[a + 2, start:stop], H[a + 3, start:stop]
    y0, y1 = H[b, start:stop], H[b + 1, start:stop]
    y2, y3 = H[b + 2, start:stop], H[b + 3, start:stop]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0.0)
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = np.float32(0.0)
    for j in range(stop - start):
        p0, p1, p2, p3 = x0[j], x1[j], x2[j], x3[j]
        q0, q1, q2, q3 = y0[j], y1[j], y2[j], y3[j]
        s00 += p0 * q0
        s01 += p0 * q1
        s02 += p0 * q2
        s03 += p0 * q3
        s10 += p1 * q0
        s11 += p1 * q1
        s12 += p1 * q2
        s13 += p1 * q3
        s20 += p2 * q0
        s21 += p2 * q1
        s22 += p2 * q2
        s23 += p2 * q3
        s30 += p3 * q0
        s31 += p3 * q1
        s32 += p3 * q2
        s33 += p3 * q3
    sums = ((s00, s01, s02, s03), (s10, s11, s12, s13), (s20, s21, s22, s23), (s30, s31, s32, s33))
    for i in range(4):
        for j in range(4):
            G[a + i, b + j] += sums[i][j]


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _gram_columns(H, start, stop, G):
    """The lower triangle of G += H Hᵀ over columns [start, stop) (and some of the upper)."""
    k = H.shape[0]
    whole = k - k % 4
    for a in range(0, whole, 4):
        for b in range(0, a + 1, 4):
            _gram_block(H, a, b, start, stop, G)
    for a in range(whole, k):  # the rows left over when 4 does not divide k
        x = H[a, start:stop]
        for b in range(a + 1):
            y = H[b, start:stop]
            total = np.float32(0.0)
            for j in range(stop - start):
                total += x[j] * y[j]
            G[a, b] += total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _gram(H, G):
    k, n = H.shape
    G[:, :] = 0.0
    for start in range(0, n, _GRAM_CHUNK):
        _gram_columns(H, start, min(n, start + _GRAM_CHUNK), G)
    for a in range(k):
        for b in range(a + 1, k):
            G[a, b] = G[b, a]


def gram(H: np.ndarray) -> np.ndarray:
    """H Hᵀ of a float32 k × n matrix with contiguous rows, as float32 (k, k).

    For Euclidean MU's HHᵀ: k × k summed over every frame. OpenBLAS spends
    longer on this shape than on a product of the same size with a large
    result (measured at k = 32, n = 5168: 0.17 ms whether on one thread or
    two); blocks of four rows by four, with sixteen running sums in registers,
    take about half of that. Each chunk's sums are added up in float64.
    """
    k = H.shape[0]
    G = np.empty((k, k), dtype=np.float64)
    _gram(H, G)
    return G.astype(np.float32)


@njit(nogil=True, cache=True)
def _product(A, B, C):
    m, k = A.shape
    n = B.shape[1]
    _gemm("N", "N", n, m, k, _address(B), n, _address(A), k, 0.0, _address(C), n)


@njit(nogil=True, cache=True)
def _cross_product(A, C):
    m, k = A.shape
    _gemm("N", "T", k, k, m, _address(A), k, _address(A), k, 0.0, _address(C), k)


def product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A B of C-contiguous float32 matrices, on one thread of the passes' OpenBLAS.

    For the m × k × k products of Euclidean MU's W step. On numpy's BLAS a
    product this size runs on every core, and its threads then spin for a
    while on the cores the next pass's threads need (measured: Euclidean MU
    at 1025 × 5168, k = 32 took 1.77× the floor that way, 1.05× this way).
    """
    C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    _one_blas_thread()
    _product(A, B, C)
    return C


def cross_product(A: np.ndarray, out: np.ndarray) -> None:
    """out = Aᵀ A for a C-contiguous float32 A, on one BLAS thread (see :func:`product`)."""
    _one_blas_thread()
    _cross_product(A, out)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _inner(X, Y):
    total = 0.0
    for i in range(X.shape[0]):
        x, y = X[i], Y[i]
        for j in range(x.size):
            total += np.float64(x[j]) * np.float64(y[j])
    return total


def inner(X: np.ndarray, Y: np.ndarray) -> float:
    """Σ X ∘ Y of two float32 matrices of one shape with contiguous rows, summed in float64."""
    return float(_inner(X, Y))


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _row_sums(X, out):
    for i in range(X.shape[0]):
        x = X[i]
        total = 0.0
        for j in range(x.size):
            total += np.float64(x[j])
        out[i] = total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _column_sums(X, out):
    out[:] = 0.0
    for i in range(X.shape[0]):
        x = X[i]
        for j in range(x.size):
            out[j] += np.float64(x[j])


def sums(X: np.ndarray, axis: int) -> np.ndarray:
    """Sums of a float32 matrix with contiguous rows along ``axis`` (0 or 1), in float64.

    For the k-sized sums every KL iteration takes (colsum W, rowsum H): a
    third of the time of ``X.sum(axis, dtype=np.float64)``, which converts in
    buffered steps.
    """
    out = np.empty(X.shape[1 - axis], dtype=np.float64)
    (_column_sums if axis == 0 else _row_sums)(X, out)
    return out


def _part_sizes(blocks: int, parts: int) -> np.ndarray:
    """Blocks per part: largest first, shrinking to one block at the end.

    Threads take the parts in order, each the next one not yet taken, so the
    last parts decide how far apart the threads finish; equal parts of several
    blocks left one thread idle for up to a part (measured at 1025 × 25840,
    k = 32, about 4 blocks a part: the threads ended 3.9–4.5 ms apart at the
    median of a 55 ms pass; 0.45 ms with these sizes).
    """
    weights = np.arange(parts, 0, -1)
    sizes = 1 + (blocks - parts) * weights // weights.sum()
    sizes[: blocks - sizes.sum()] += 1
    return sizes


def _chunk_rows(m: int, width: int, k: int, *, products_only: bool = False) -> int:
    """Rows of a chunk: as many as keep its products under the small-matrix threshold.

    A multiple of 8 when it can be, and at most :data:`_CHUNK_ROWS`. The
    largest chunks did best in both passes (1025 × 5168, KL: k = 16, 66 rows
    1.01× the floor, 33 rows 1.08×; k = 32, 56–64 rows 1.05×, 37 rows 1.11×;
    1025 × 25840, k = 32, 56 rows 0.77×, 32 rows 0.84×).

    Without small-matrix kernels: :data:`_PACKED_ROWS`, or the whole block for
    a pass whose chunks are ``products_only`` (Euclidean: with Haswell's or
    Zen's kernels, 1025 × 5168, whole blocks 1.04–1.07× the floor at k = 8 and
    1.11–1.13× at k = 32, against 1.22–1.26× and 1.15–1.19× in 64-row chunks).
    """
    if not _SMALL_KERNELS:
        return m if products_only else min(m, _PACKED_ROWS)
    rows = min(_CHUNK_ROWS, _SMALL_PRODUCT // (width * k))
    return max(1, min(m, rows - rows % 8 if rows >= 8 else rows))


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _euclidean_part(
    V_blocks, W, WtW, H, start, stop, width, chunk, sparsity, positive, negative, alpha, locked,
    M, N, D, G, T, rows_of_h,
):  # fmt: skip
    """Columns [start, stop) of one Euclidean pass: the H half-step, then M and G.

    Per block of ``width`` columns: ``N = Wᵀ V_b`` (BLAS, V_b in chunks of
    ``chunk`` rows), ``D = (WᵀW) H_b`` (BLAS), the update
    ``H_b ← max(H_b ∘ (N + α·negative) / max(D + λ + α·positive, EPS), FLOOR)``
    (locked rows kept), then for the new H_b ``G += H_b H_bᵀ`` (lower triangle,
    float64), ``T = H_bᵀ`` (``rows_of_h`` is 0 … k − 1) and ``M += V_b T``
    (BLAS, in chunks of rows).
    """
    m, k = W.shape
    n = H.shape[1]
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    G[:, :] = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        V = V_blocks[m * s : m * (s + w)].reshape((m, w))
        for r in range(0, m, chunk):
            _add_wt_times(W, r, min(chunk, m - r), V[r : r + chunk], w, N, 1.0 if r else 0.0)
        h = _advance(_address(H), 4 * s)
        _gemm("N", "N", w, k, k, h, n, _address(WtW), k, 0.0, _address(D), D.shape[1])
        for row in range(k):
            if locked[row]:
                continue
            x, p, q = H[row, s : s + w], N[row, :w], D[row, :w]
            if alpha > 0:
                up, down = negative[row, s : s + w], positive[row, s : s + w]
                for c in range(w):
                    den = max(q[c] + sparsity + alpha * down[c], eps)
                    x[c] = max(x[c] * ((p[c] + alpha * up[c]) / den), floor)
            else:
                for c in range(w):
                    x[c] = max(x[c] * (p[c] / max(q[c] + sparsity, eps)), floor)
        _gram_columns(H, s, s + w, G)
        _transposed(H, rows_of_h, s, w, T)
        for r in range(0, m, chunk):
            _add_times(V[r:], min(chunk, m - r), T, w, M, r, 1.0 if s > start else 0.0)


# -- the passes' threads ----------------------------------------------------------------


@njit(nogil=True, cache=True)
def _kl_parts(
    thread, taken, edges, ran_on, V_blocks, W, H, width, update_h, denom, positive, negative, alpha,
    locked, free, M, A, N, F, v_logs,
):  # fmt: skip
    """Parts not yet taken, one after another, until none is left (:func:`_part` each)."""
    while True:
        p = _take(taken)
        if p >= v_logs.size:
            return
        ran_on[p] = thread
        v_logs[p] = _part(
            V_blocks, W, H, edges[p], edges[p + 1], width, update_h, denom, positive, negative,
            alpha, locked, free, M[p], A[p], N[p], F[p],
        )  # fmt: skip


@njit(nogil=True, parallel=True, cache=True)
def _kl_threads(
    threads, taken, edges, ran_on, V_blocks, W, H, width, update_h, denom, positive, negative,
    alpha, locked, free, M, A, N, F, v_logs,
):  # fmt: skip
    """:func:`_kl_parts` on ``threads`` threads at once."""
    for thread in prange(threads):
        # the thread an int64, as the calling thread passes it: one compiled version
        _kl_parts(
            np.int64(thread), taken, edges, ran_on, V_blocks, W, H, width, update_h, denom,
            positive, negative, alpha, locked, free, M, A, N, F, v_logs,
        )  # fmt: skip


@njit(nogil=True, cache=True)
def _euclidean_parts(
    thread, taken, edges, ran_on, V_blocks, W, WtW, H, width, chunk, sparsity, positive, negative,
    alpha, locked, M, N, D, G, T, rows_of_h,
):  # fmt: skip
    """Parts not yet taken, one after another, until none is left (:func:`_euclidean_part`)."""
    while True:
        p = _take(taken)
        if p >= ran_on.size:
            return
        ran_on[p] = thread
        _euclidean_part(
            V_blocks, W, WtW, H, edges[p], edges[p + 1], width, chunk, sparsity, positive,
            negative, alpha, locked, M[p], N[p], D[p], G[p], T[p], rows_of_h,
        )  # fmt: skip


@njit(nogil=True, parallel=True, cache=True)
def _euclidean_threads(
    threads, taken, edges, ran_on, V_blocks, W, WtW, H, width, chunk, sparsity, positive,
    negative, alpha, locked, M, N, D, G, T, rows_of_h,
):  # fmt: skip
    """:func:`_euclidean_parts` on ``threads`` threads at once."""
    for thread in prange(threads):
        # the thread an int64, as the calling thread passes it: one compiled version
        _euclidean_parts(
            np.int64(thread), taken, edges, ran_on, V_blocks, W, WtW, H, width, chunk, sparsity,
            positive, negative, alpha, locked, M, N, D, G, T, rows_of_h,
        )  # fmt: skip


class _Pass:
    """A pass over one V: its column blocks, its copy of V, its parts and threads.

    The copy of V, block by block, is V's size. Each part has its own
    numerators: ``_M`` (m × k, summed over the part's blocks) and ``_N``
    (k × width, one block's); a subclass's other buffers are k-sized too, or a
    chunk per part.

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
        wanted = max(_MIN_WIDTH, _WIDTH_PER_COMPONENT * k)
        wanted = max(8, min(wanted, _BLOCK_BYTES // (4 * m)))
        blocks = -(-n // wanted)
        if 1 < blocks < _PARTS and blocks % 2:
            blocks += 1  # few blocks: an even count shares out evenly over 2, 4, … threads
        width = min(n, 8 * -(-n // (8 * blocks)))
        blocks = -(-n // width)
        sizes = _part_sizes(blocks, min(_PARTS, blocks))
        edges = (np.concatenate([[0], np.cumsum(sizes)]) * width).clip(max=n)
        self._edges = edges
        self._width = width
        # V block by block: block [s, s + w) is m × w entries from m · s on.
        self._V_blocks = np.empty(V.size, dtype=np.float32)
        for s in range(0, n, width):
            w = min(width, n - s)
            self._V_blocks[m * s : m * (s + w)].reshape(m, w)[...] = V[:, s : s + w]
        parts = len(sizes)
        self._ran_on = np.zeros(parts, dtype=np.int64)
        self._M = np.empty((parts, m, k), dtype=np.float32)
        self._N = np.empty((parts, k, width), dtype=np.float32)
        self._none = np.zeros((1, 1), dtype=np.float32)
        if threads is None:
            threads = n_threads() if V.size >= _PARALLEL_MIN else 1
        self.threads = max(1, min(int(threads), parts))

    def _h_step_terms(self, k: int, continuity, locked) -> tuple:
        """The continuity terms (or placeholders) and the lock mask the H update takes."""
        positive, negative = continuity if continuity is not None else (self._none, self._none)
        return positive, negative, np.zeros(k, dtype=np.bool_) if locked is None else locked

    def _run(self, parts, threads_kernel, *args) -> None:
        """The parts, on as many threads as the calling thread may use now.

        ``parts(thread, taken, edges, ran_on, *args)`` takes parts one after
        another while any is left (an atomic count), so a thread slowed by
        other work takes fewer; ``threads_kernel`` runs it on several threads
        at once, one call per thread (prange's static schedule). ``_ran_on``
        keeps the thread (0, 1, …) that ran each part. The other threads are
        started by the calling thread (OpenMP keeps a team per thread that
        starts parallel work), so they share its cores and priority.
        """
        threads = min(self.threads, n_threads(), _THREADS)
        taken = np.zeros(1, dtype=np.int64)
        _one_blas_thread()
        if threads == 1:
            parts(0, taken, self._edges, self._ran_on, *args)
            return
        before = get_num_threads()
        set_num_threads(threads)  # for the calling thread only
        try:
            threads_kernel(threads, taken, self._edges, self._ran_on, *args)
        finally:
            set_num_threads(before)


class KLPass(_Pass):
    """The fused KL pass over one V (see the module's description)."""

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads=threads)
        m, k, width, parts = V.shape[0], n_components, self._width, self._ran_on.size
        self._A = np.empty((parts, _chunk_rows(m, width, k), width), dtype=np.float32)
        self._F = np.empty((parts, width, k), dtype=np.float32)

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
        free: np.ndarray | None = None,
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
        free : np.ndarray of int, optional
            The templates (columns of W) the next W update will change, in
            increasing order; by default all of them. Locked templates need no
            numerator, so their columns of (V / WH) Hᵀ are not computed.

        Returns
        -------
        v_log : float
            Σ V log WH for the factors after the pass.
        VHt : np.ndarray, float32 (m, k)
            (V / WH) Hᵀ for the same factors: the numerator of the next W
            update, in the ``free`` columns (zero in the others).
        """
        m, k = W.shape
        denom = W.sum(axis=0) if denom is None else np.asarray(denom, np.float32)
        positive, negative, locked = self._h_step_terms(k, continuity, locked)
        free = np.arange(k) if free is None else np.asarray(free, dtype=np.intp)
        alpha = np.float32(alpha)
        parts = self._ran_on.size
        # Each part's numerator, m × len(free), and block of Hᵀ, width × len(free),
        # contiguous at the start of its buffer.
        M = self._M.reshape(parts, -1)[:, : m * free.size].reshape(parts, m, free.size)
        F = self._F.reshape(parts, -1)[:, : self._width * free.size]
        F = F.reshape(parts, self._width, free.size)

        v_logs = np.empty(parts, dtype=np.float64)
        self._run(
            _kl_parts, _kl_threads, self._V_blocks, W, H, self._width, update_h, denom,
            positive, negative, alpha, locked, free, M, self._A, self._N, F, v_logs,
        )  # fmt: skip
        v_log = float(v_logs.sum())
        if free.size == k:
            return v_log, M.sum(axis=0)
        VHt = np.zeros((m, k), dtype=np.float32)
        VHt[:, free] = M.sum(axis=0)
        return v_log, VHt


class EuclideanPass(_Pass):
    """One pass over V per Euclidean MU iteration: the H half-step, VHᵀ and HHᵀ.

    The same blocks, parts and threads as :class:`KLPass`: per block WᵀV_b,
    (WᵀW)H_b, the H update of the block's columns (which needs nothing from
    other columns), then H_bH_bᵀ and V_bH_bᵀ of the new H_b, all while the
    block is in cache. What is left for the W half-step is m × k.
    """

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads=threads)
        m, k, width, parts = V.shape[0], n_components, self._width, self._ran_on.size
        self._chunk = _chunk_rows(m, width, k, products_only=True)
        self._D = np.empty((parts, k, width), dtype=np.float32)
        self._G = np.empty((parts, k, k), dtype=np.float64)
        self._T = np.empty((parts, width, k), dtype=np.float32)
        self._rows_of_h = np.arange(k)

    def run(
        self,
        W: np.ndarray,
        H: np.ndarray,
        WtW: np.ndarray,
        *,
        sparsity: float = 0.0,
        continuity: tuple[np.ndarray, np.ndarray] | None = None,
        alpha: float = 0.0,
        locked: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One pass: the H half-step, then VHᵀ and HHᵀ of the new H.

        Parameters
        ----------
        W : np.ndarray, float32, C-contiguous (m, k)
        H : np.ndarray, float32, C-contiguous (k, n)
            Updated in place.
        WtW : np.ndarray, float32, C-contiguous (k, k)
            Wᵀ W.
        sparsity : float
            L1 weight λ on H.
        continuity : (positive, negative), optional
            Virtanen's continuity terms (k, n), weighted by ``alpha``.
        locked : np.ndarray of bool (k,), optional
            Rows of H that stay bit-identical.

        Returns
        -------
        VHt : np.ndarray, float32 (m, k)
        HHt : np.ndarray, float32 (k, k)
        """
        positive, negative, locked = self._h_step_terms(W.shape[1], continuity, locked)
        sparsity, alpha = np.float32(sparsity), np.float32(alpha)

        self._run(
            _euclidean_parts, _euclidean_threads, self._V_blocks, W, WtW, H, self._width,
            self._chunk, sparsity, positive, negative, alpha, locked,
            self._M, self._N, self._D, self._G, self._T, self._rows_of_h,
        )  # fmt: skip
        G = self._G.sum(axis=0)
        HHt = np.tril(G) + np.tril(G, -1).T
        return self._M.sum(axis=0), HHt.astype(np.float32)


def _compile() -> None:
    """Compile every kernel now (or load it from numba's cache), for the types solvers pass.

    Compiling takes seconds and holds the GIL. Left to the first call it would happen in
    a solver thread in the middle of a run, with the GUI thread starved meanwhile; here
    it happens once, at import (at start-up in the app), and after the first time the
    compiled code comes from the cache next to this file.
    """
    global _THREADS
    W, H = np.ones((2, 1), np.float32), np.ones((1, 256), np.float32)
    V = np.ones((2, 256), np.float32)  # four blocks: four parts
    for threads in (1, 2) if min(n_threads(), _THREADS) > 1 else (1,):
        try:
            KLPass(V, 1, threads=threads).run(W, H, update_h=True)
            for continuity in (None, (H, H)):
                EuclideanPass(V, 1, threads=threads).run(
                    W, H, np.ones((1, 1), np.float32), continuity=continuity, alpha=1.0
                )
        except ValueError as error:  # numba: "No threading layer could be loaded", …
            if "threading layer" not in str(error):
                raise
            _THREADS = 1
    cross_product(W, np.empty((1, 1), np.float32))
    product(W, np.ones((1, 1), np.float32))
    X = np.ones((1, 4), dtype=np.float32)
    multiplicative_step(X, X.copy(), X.copy())
    gram(X)
    inner(X, X)
    sums(X, 0)
    sums(X, 1)
    log(X)


_compile()
