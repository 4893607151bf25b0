"""The NMF engine's compiled kernels: one fused pass over V per KL or Euclidean iteration.

The columns of V are cut into blocks, each carried through a whole iteration
in chunks of rows while it is in the core's cache (:mod:`.plan`); the blocks
are grouped into parts that numba's threads take in turn (:mod:`.schedule`),
each part with its own sums, added in part order, so results do not depend on
the thread count. The passes (:mod:`.kl`, :mod:`.euclidean`) multiply with
``sgemm`` of an OpenBLAS of their own, in place (:mod:`.blas`), and take the
KL loss's logs with a vectorisable float32 log (:mod:`.log`); :mod:`.small`
has the k-sized steps around them.

Nothing compiles at import: start-up code calls :func:`warm_up` (see
:mod:`.compiling`), and otherwise each kernel compiles on its first use.
Compiled kernels are kept in numba's cache (see :mod:`.cache`).
"""

from . import cache  # noqa: F401  (first: numba locates a kernel's cache as it is defined)
from .blas import blas_description
from .compiling import COMPILING, warm_up
from .euclidean import EuclideanPass
from .kl import KLPass
from .log import log
from .schedule import n_threads
from .small import cross_product, gram, inner, multiplicative_step, product, sums

__all__ = [
    "COMPILING",
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
    "warm_up",
]
