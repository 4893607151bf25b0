"""Random NMF problems of any small shape, for property tests against plain float64 updates."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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
