"""A vectorisable float32 natural log for the KL pass.

Cephes' ``logf`` scheme: the exponent from the bits, a degree-9 polynomial on
the mantissa in [√½, √2); accurate to 2 ulp. numba's ``log`` would be a
scalar call, which keeps the loop around it from being vectorised.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["log"]


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
def log_positive(x):
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
def log_into(x, out):
    """out = log x, elementwise, for 1-D float32 arrays."""
    for i in range(x.size):
        out[i] = log_positive(x[i])


def log(x: np.ndarray) -> np.ndarray:
    """The KL pass's float32 natural log, elementwise, for positive normal ``x``.

    Exposed so its accuracy can be checked against ``np.log``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    out = np.empty_like(x)
    log_into(x, out)
    return out
