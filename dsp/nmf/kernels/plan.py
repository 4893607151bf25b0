"""How a pass cuts V: column blocks, the parts threads take, and the row chunks of a block.

Pure Python: the plan depends on the shape of V, k and the OpenBLAS kernels of
the CPU, never on the thread count, so results are bit-identical however many
threads run. docs/performance.md gives the measurements behind each constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Plan", "chunk_rows", "copy_by_blocks", "part_sizes", "plan_blocks"]

#: Parts of a pass: enough to keep every core of a large machine busy; fixed
#: so that the summation order, and so the result, never depends on threads.
PARTS = 16
#: Block width in frames per component: the products on a block run near full
#: BLAS speed only when the block is wide compared with k.
WIDTH_PER_COMPONENT = 16
#: Narrowest block, and the most bytes of one m × width block of V (its row
#: chunks, not the whole block, are what must stay in cache).
MIN_WIDTH = 64
BLOCK_BYTES = 1 << 22
#: Multiply-adds of one product on a chunk of a block: OpenBLAS's small-matrix
#: threshold, below which it multiplies without packing. The passes' products
#: stay under it; above it a pass runs markedly slower.
SMALL_PRODUCT = 10**6
#: Most rows of a chunk, which is computed, divided and multiplied on while it
#: stays in the core's cache; more did not help.
CHUNK_ROWS = 64
#: Rows of a KL chunk when OpenBLAS has no small-matrix kernels and packs every
#: operand: fewer, larger products pay less packing, and 128 rows keep a chunk
#: in a 256 KiB L2.
PACKED_ROWS = 128


@dataclass(frozen=True)
class Plan:
    """The column blocks of a pass and the parts they are grouped into.

    Attributes
    ----------
    width : int
        Frames of a block (the last block may be narrower).
    edges : np.ndarray of int64 (parts + 1,)
        Part ``p`` is columns ``[edges[p], edges[p + 1])``, whole blocks.
    """

    width: int
    edges: np.ndarray

    @property
    def parts(self) -> int:
        """Number of parts."""
        return self.edges.size - 1


def plan_blocks(m: int, n: int, k: int) -> Plan:
    """Blocks about 16·k frames wide (64 at least), grouped into up to :data:`PARTS` parts.

    With few blocks, an even count, which shares out evenly over 2, 4, … threads.
    """
    wanted = max(MIN_WIDTH, WIDTH_PER_COMPONENT * k)
    wanted = max(8, min(wanted, BLOCK_BYTES // (4 * m)))
    blocks = -(-n // wanted)
    if 1 < blocks < PARTS and blocks % 2:
        blocks += 1
    width = min(n, 8 * -(-n // (8 * blocks)))
    blocks = -(-n // width)
    sizes = part_sizes(blocks, min(PARTS, blocks))
    edges = (np.concatenate([[0], np.cumsum(sizes)]) * width).clip(max=n)
    return Plan(width=width, edges=edges.astype(np.int64))


def part_sizes(blocks: int, parts: int) -> np.ndarray:
    """Blocks per part: largest first, shrinking to one block at the end.

    Threads take the parts in order, each the next one not yet taken, so the
    last parts decide how far apart the threads finish; with equal parts of
    several blocks one thread could idle for up to a part.
    """
    weights = np.arange(parts, 0, -1)
    sizes = 1 + (blocks - parts) * weights // weights.sum()
    sizes[: blocks - sizes.sum()] += 1
    return sizes


def chunk_rows(
    m: int, width: int, k: int, *, small_kernels: bool, products_only: bool = False
) -> int:
    """Rows of a chunk: as many as keep its products under the small-matrix threshold.

    A multiple of 8 when it can be, and at most :data:`CHUNK_ROWS`: the
    largest chunks do best in both passes. Without ``small_kernels``
    (OpenBLAS packs every operand): :data:`PACKED_ROWS`, or the whole block
    for a pass whose chunks are ``products_only`` (the Euclidean one).
    """
    if not small_kernels:
        return m if products_only else min(m, PACKED_ROWS)
    rows = min(CHUNK_ROWS, SMALL_PRODUCT // (width * k))
    return max(1, min(m, rows - rows % 8 if rows >= 8 else rows))


def copy_by_blocks(V: np.ndarray, width: int) -> np.ndarray:
    """V block by block, flat: block [s, s + w) is m × w entries from m · s on.

    The elementwise steps read a block's rows faster as one run than as m
    short pieces of V's rows.
    """
    m, n = V.shape
    blocks = np.empty(V.size, dtype=np.float32)
    for s in range(0, n, width):
        w = min(width, n - s)
        blocks[m * s : m * (s + w)].reshape(m, w)[...] = V[:, s : s + w]
    return blocks
