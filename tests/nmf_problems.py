"""Random NMF problems of any small shape, for property tests against plain float64 updates."""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.nmf.kernels import blas, plan, schedule

#: m, n, k and a seed: shapes small enough for float64 references, crossing every edge.
any_small_shape = given(
    st.integers(1, 40),
    st.integers(1, 300),
    st.integers(1, 6),
    st.integers(0, 2**31 - 1),
)
forty_examples = settings(max_examples=40, deadline=None)


def small_problem(m: int, n: int, k: int, seed: int):
    """V (low rank plus noise, with silent frames), W0 and H0, float32; k is capped at m and n."""
    k = min(k, m, n)
    rng = np.random.default_rng(seed)
    V = (rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n))).astype(np.float32)
    V[:, rng.random(n) < 0.1] = 0.0  # silent frames
    W0 = rng.random((m, k)).astype(np.float32) + 0.1
    H0 = rng.random((k, n)).astype(np.float32) + 0.1
    return V, W0, H0, k


@contextmanager
def tiny_passes() -> Iterator[None]:
    """Passes made inside cut into blocks, row chunks and parts so small that every
    shape crosses their edges."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan, "MIN_WIDTH", 8)
        patch.setattr(plan, "WIDTH_PER_COMPONENT", 2)
        patch.setattr(blas, "SMALL_KERNELS", True)  # chunks of CHUNK_ROWS on any CPU
        patch.setattr(plan, "CHUNK_ROWS", 3)
        patch.setattr(schedule, "PARALLEL_MIN", 0)
        yield
