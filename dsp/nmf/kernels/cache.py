"""numba's cache of the kernels, stale after a change to any file they are compiled from.

numba checks a cached kernel against its own source file only, but the
kernels here are compiled with the code of the kernels they call from other
files (the scheduler with both passes' parts, a pass with the BLAS bridge and
the log), and with EPS and FLOOR from ``base.py``. So every kernel of this
package is stamped with one hash of all those files: after an edit to any of
them each kernel compiles afresh, once, instead of running stale code. Where
the cache lives is numba's choice as before (``NUMBA_CACHE_DIR``, else
``__pycache__`` here, else a user-wide folder).

Imported first by the package, before any kernel module is (numba looks for a
kernel's cache when the kernel is defined).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core import caching

_HERE = Path(__file__).resolve().parent
_SOURCES = [*sorted(_HERE.glob("*.py")), _HERE.parent / "base.py"]
_STAMP = hashlib.sha256(b"".join(path.read_bytes() for path in _SOURCES)).hexdigest()


def _numba(name: str):
    """A name of numba's caching module: public since numba 0.61, with a leading _ before."""
    return getattr(caching, name, None) or getattr(caching, f"_{name}")


class _PackageStamp:
    """Locates the caches of this package's kernels only, and stamps them with :data:`_STAMP`."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent != _HERE:
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return _STAMP


_numba("CacheImpl")._locator_classes[:0] = [
    type(f"Package{locator.__name__.lstrip('_')}", (_PackageStamp, locator), {})
    for locator in map(
        _numba, ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    )
]
