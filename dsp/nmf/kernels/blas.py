"""sgemm of an OpenBLAS of the passes' own, called from numba on blocks of V and H in place.

The passes call the OpenBLAS of scipy-openblas32, set to one thread per call
(their parallelism is across parts), so numpy's and scipy's BLAS, which other
threads may be using meanwhile, is never throttled or woken. The products take
pointers and leading dimensions, so blocks of V and H are used where they lie,
never copied.
"""

from __future__ import annotations

import ctypes

import scipy_openblas32
from llvmlite import binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["SMALL_KERNELS", "blas_description", "one_blas_thread"]


def _open_blas() -> ctypes.CDLL:
    """The OpenBLAS of scipy-openblas32, set to one thread, with its sgemm registered.

    sgemm is registered under a name of our own, so compiled kernels refer to
    it by name and numba can cache them (a ctypes pointer would be baked into
    the code).
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
#: :func:`.plan.chunk_rows`). From the kernels' name, so that the chunks, and so
#: the results, are the same in every run on a machine.
SMALL_KERNELS = _blas.scipy_openblas_get_corename().decode().lower() in {
    "skylakex",
    "cooperlake",
    "sapphirerapids",
}


def one_blas_thread() -> None:
    """Back to one thread, should a process-wide limit (threadpoolctl) have raised it."""
    if _blas.scipy_openblas_get_num_threads() != 1:
        _blas.scipy_openblas_set_num_threads(1)


def blas_description() -> str:
    """The OpenBLAS build the passes call (version, kernel, thread limit)."""
    return _blas.scipy_openblas_get_config().decode()


@intrinsic
def address(typingctx, array):
    """void* to the first element of an array."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.bitcast(data, cgutils.voidptr_t)

    return types.voidptr(array), codegen


@intrinsic
def advance(typingctx, pointer, nbytes):
    """A void* ``nbytes`` past ``pointer``."""

    def codegen(context, builder, signature, args):
        byte_pointer = builder.bitcast(args[0], cgutils.int8_t.as_pointer())
        return builder.bitcast(builder.gep(byte_pointer, [args[1]]), cgutils.voidptr_t)

    return types.voidptr(types.voidptr, types.intp), codegen


@intrinsic
def gemm(typingctx, trans_a, trans_b, rows, cols, depth, a, lda, b, ldb, beta, c, ldc):
    """Column-major C (rows × cols) = op(A) op(B) + beta C, for float32 pointers.

    ``trans_a`` and ``trans_b`` are the literals "N" or "T". A C-ordered matrix
    is its transpose in column-major terms, which is how the callers express
    their row-major products. The arguments BLAS takes by reference live on
    the caller's stack for the call (never in a heap array, which the compiled
    code may free before the call).
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
def w_times_h(W, row0, rows, H, start, width, out):
    """out[:rows, :width] = W[row0 : row0 + rows] @ H[:, start : start + width]."""
    k = W.shape[1]
    w = advance(address(W), 4 * row0 * k)
    h = advance(address(H), 4 * start)
    gemm("N", "N", width, rows, k, h, H.shape[1], w, k, 0.0, address(out), out.shape[1])


@njit(nogil=True, cache=True)
def add_wt_times(W, row0, rows, A, width, N, beta):
    """N[:, :width] = W[row0 : row0 + rows]ᵀ @ A[:rows, :width] + beta · N[:, :width]."""
    k = W.shape[1]
    w = advance(address(W), 4 * row0 * k)
    gemm("N", "T", width, k, rows, address(A), A.shape[1], w, k, beta, address(N), N.shape[1])


@njit(nogil=True, cache=True)
def add_times(A, rows, B, width, M, row0, beta):
    """M[row0 : row0 + rows] = A[:rows, :width] @ B[:width] + beta · M[row0 : row0 + rows].

    B is a block of H transposed (:func:`transposed`): OpenBLAS's small-matrix
    kernels run this layout faster than the product with H's own rows (see
    docs/performance.md).
    """
    k = M.shape[1]
    m = advance(address(M), 4 * row0 * k)
    gemm("N", "N", k, rows, width, address(B), B.shape[1], address(A), A.shape[1], beta, m, k)


@njit(nogil=True, fastmath=True, cache=True)
def transposed(H, index, start, width, out):
    """out[c, i] = H[index[i], start + c] for the ``width`` columns from ``start``.

    Row by row of ``out``, which writes it in order (twice as fast as column
    by column).
    """
    for c in range(width):
        row = out[c]
        for i in range(index.size):
            row[i] = H[index[i], start + c]
