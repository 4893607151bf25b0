"""Paint that guides a separation: a user's opinion of which source sounds where.

A guide is ``paint``, float32 (sources, bins, frames) on the STFT grid of the
settings in use, each value in [0, 1]: 0 is no opinion, 1 is "this cell is
certainly this source". It steers both the factorization and the masks
through one set of per-source cell weights (posterior regularization, as in
Bryan and Mysore's interactive source separation):

    A_s(f, t) = exp(−λ Σ_{s' ≠ s} P_{s'}(f, t))   (up to a factor per cell)

— a cell painted for another source weighs this source's components down by
``e^{−λ·confidence}``; unpainted cells weigh every source 1. The solver
(:class:`dsp.nmf.guided.GuidedSolver`) distributes the mixture over the
components in proportion to ``A_s (W_k H_k)`` instead of ``W_k H_k``, and the
masks (:class:`dsp.masks.SoftMask`) take the same weights, so what the
factorization learned from the paint is also what the stems are cut by.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numba import njit

__all__ = [
    "DEFAULT_STRENGTH",
    "GuideError",
    "Steering",
    "check_paint",
    "load_guide",
    "order_groups",
    "source_weights",
]

#: λ, how strongly full-confidence paint weighs other sources down (e^-λ);
#: measured by ``bench/guided_quality.py`` (docs/quality.md).
DEFAULT_STRENGTH = 5.0


class GuideError(ValueError):
    """A guide that cannot steer this separation; the message names the file and the problem."""


def check_paint(
    paint, grid: tuple[int, int], *, name: str = "the guide", min_sources: int = 2
) -> np.ndarray:
    """Validate paint for a (bins, frames) STFT grid; returns it as float32 (sources, bins, frames).

    Raises
    ------
    GuideError
        Naming ``name`` and the problem: not 3-D, another grid, fewer than
        ``min_sources`` sources (a guide separates at least two), NaN or values
        outside [0, 1].
    """
    paint = np.asarray(paint)
    if paint.ndim != 3:
        raise GuideError(f"{name}: paint must be (sources, bins, frames), got shape {paint.shape}")
    if paint.shape[1:] != tuple(grid):
        raise GuideError(
            f"{name}: paint is {paint.shape[1]} bins x {paint.shape[2]} frames, the STFT of "
            f"this audio is {grid[0]} x {grid[1]} (check --n-fft and --hop)"
        )
    if paint.shape[0] < min_sources:
        raise GuideError(
            f"{name}: paint needs at least {min_sources} sources, got {paint.shape[0]}"
        )
    real = np.issubdtype(paint.dtype, np.number) or np.issubdtype(paint.dtype, np.bool_)
    if not real or np.issubdtype(paint.dtype, np.complexfloating):
        raise GuideError(f"{name}: paint must be real numbers, got {paint.dtype}")
    paint = paint.astype(np.float32)
    if np.isnan(paint).any():
        raise GuideError(f"{name}: paint contains NaN")
    if paint.size and (paint.min() < 0 or paint.max() > 1):
        raise GuideError(
            f"{name}: paint values must be in [0, 1], found {float(paint.min()):g} … "
            f"{float(paint.max()):g}"
        )
    return np.ascontiguousarray(paint)


def load_guide(path: str | Path, grid: tuple[int, int] | None = None) -> np.ndarray:
    """The ``paint`` of a ``.npz`` guide file, checked (against the (bins, frames) grid if given).

    Raises
    ------
    GuideError
        Naming the file: unreadable, no ``paint`` array, or paint that does not fit.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "paint" not in data.files:
                raise GuideError(f"'{path}' has no 'paint' array (it holds {data.files})")
            paint = data["paint"]
    except GuideError:
        raise
    # A damaged zip, an encrypted or unknown-compression member: not a guide.
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError) as exc:
        raise GuideError(f"'{path}' is not a readable .npz guide: {exc}") from None
    return check_paint(paint, grid or np.shape(paint)[1:], name=f"'{path}'")


def source_weights(paint: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """Each source's weight in every cell, float32 like ``paint``: exp(−λ (max_s' P_s' − P_s)).

    That is A_s = exp(−λ Σ_{s'≠s} P_s') divided, cell by cell, by the largest
    of the sources' A: a common factor per cell, which neither the steered
    updates nor the masks see (both share a cell in proportion to A_s W_k H_k),
    and which keeps the largest weight of every cell at 1, so no cell's
    weights all underflow however strong the paint and however many sources
    painted it. Unpainted cells weigh every source 1; a cell painted for one
    source alone weighs the others e^{−λ P}. (A_s)^α is
    ``source_weights(paint, α λ)``.
    """
    strength = float(strength)
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"the guide's strength must be a number ≥ 0, got {strength}")
    below = paint.max(axis=0)[None] - paint
    return np.exp(np.float32(-strength) * below, dtype=np.float32)


def painted_cells(paint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the cells some source painted, in row-major order like ``np.nonzero``.

    One scan of the paint and no (bins, frames) temporary of its maximum: on a
    3-minute file this runs at each stroke, and the numpy form took 0.2 s.
    """
    paint = np.ascontiguousarray(paint, dtype=np.float32)
    painted = np.empty(paint.shape[1:], np.bool_)
    count = _mark_painted(paint, painted)
    rows, cols = np.empty(count, np.intp), np.empty(count, np.intp)
    _list_marked(painted, rows, cols)
    return rows, cols


@njit(nogil=True, cache=True)
def _mark_painted(paint, painted):
    """painted[f, t] = some source's paint there is not 0; returns how many are."""
    painted[:] = False
    for s in range(paint.shape[0]):  # a plane at a time: sequential reads
        for f in range(paint.shape[1]):
            for t in range(paint.shape[2]):
                painted[f, t] |= paint[s, f, t] != 0.0
    return np.count_nonzero(painted)


@njit(nogil=True, cache=True)
def _list_marked(painted, rows, cols):
    i = 0
    for f in range(painted.shape[0]):
        for t in range(painted.shape[1]):
            if painted[f, t]:
                rows[i], cols[i] = f, t
                i += 1


@dataclass(frozen=True)
class Steering:
    """Paint, its strength and the source of every component: what paint does to a model.

    The weights are made on the frames asked for (:meth:`weights`), so a
    renderer streaming a long file never holds a (sources, bins, frames)
    array of them, and the GUI's paint, changed in place by a stroke, is what
    the next block renders with.

    Attributes
    ----------
    paint : np.ndarray, float32, (sources, bins, frames)
        Checked paint (:func:`check_paint`).
    strength : float
        λ of :func:`source_weights`.
    sources : np.ndarray, int, (k,)
        The source (index into the steering's sources) of every component.
    rows : tuple, optional
        The paint row of each of the steering's sources, None for a source
        nobody painted; without it, source s is row s. Lets the GUI steer the
        sources that have components with its whole paint, without a copy.
    """

    paint: np.ndarray
    strength: float
    sources: np.ndarray
    rows: tuple[int | None, ...] | None = None

    def __post_init__(self) -> None:
        sources = np.asarray(self.sources, dtype=np.intp)
        if self.rows is not None and any(
                r is not None and not 0 <= r < len(self.paint) for r in self.rows):
            raise ValueError(f"paint rows {self.rows!r} must index the paint's {len(self.paint)}")
        if sources.ndim != 1 or (sources.size and not 0 <= sources.min() <= sources.max()
                                 < self.n_sources):
            raise ValueError(
                f"component sources {self.sources!r} must index the {self.n_sources} sources"
            )
        object.__setattr__(self, "sources", sources)

    @classmethod
    def of_groups(cls, paint: np.ndarray, strength: float, groups: list[list[int]],
                  rows: tuple[int | None, ...] | None = None) -> Steering:
        """The steering of ``groups``: group i is source i (paint row i, or ``rows[i]``)."""
        sources = np.empty(sum(len(g) for g in groups), dtype=np.intp)
        for s, members in enumerate(groups):
            sources[list(members)] = s
        return cls(paint, strength, sources, rows)

    def snapshot(self) -> Steering:
        """The same steering on a copy of the paint: later strokes no longer change it."""
        return replace(self, paint=self.paint.copy())

    @property
    def n_sources(self) -> int:
        """Number of sources S."""
        return len(self.paint) if self.rows is None else len(self.rows)

    @property
    def grid(self) -> tuple[int, int]:
        """(bins, frames) of the paint."""
        return tuple(self.paint.shape[1:])

    def members(self, source: int) -> np.ndarray:
        """Indices of the components of ``source``."""
        return np.flatnonzero(self.sources == source)

    def cell_weights(self):
        """The weights of the painted cells only (1 elsewhere): what the steered solver takes.

        Made without any (sources, bins, frames) array of weights: a scan of
        the paint for its painted cells, and the weights there.
        """
        from .nmf.guided import CellWeights

        paint = self.paint if self.rows is None else self._rows_of(self.paint)
        rows, cols = painted_cells(paint)
        values = source_weights(paint[:, rows, cols], self.strength)
        return CellWeights(self.grid, rows, cols, values)

    def _rows_of(self, paint: np.ndarray) -> np.ndarray:
        """The steering's sources' rows of ``paint`` (zeros for unpainted sources)."""
        chosen = np.zeros((len(self.rows), *paint.shape[1:]), np.float32)
        for s, row in enumerate(self.rows):
            if row is not None:
                chosen[s] = paint[row]
        return chosen

    def weights(self, frames: slice = slice(None), power: float = 1.0) -> np.ndarray:
        """A_s^α on ``frames``: float32 (sources, bins, frames), :func:`source_weights` to α."""
        paint = self.paint[:, :, frames]
        if self.rows is not None:
            paint = self._rows_of(paint)
        return source_weights(paint, self.strength * float(power))


def order_groups(
    W: np.ndarray,
    H: np.ndarray,
    groups: list[list[int]],
    paint: np.ndarray,
    *,
    move_share: float | None = None,
) -> list[list[int]]:
    """``groups`` given to the paint's sources: group i of the result is source i.

    The groups go to the sources by the largest total overlap of their
    components' energy with each source's paint, Σ P_s ⊙ W_k H_k (the one
    matching rule, :func:`dsp.scores.match`). With ``move_share``, a
    component that has at least that share of its energy under one other
    source's paint, and more of it than under its own source's, moves there;
    every source keeps at least one component.

    Parameters
    ----------
    W : np.ndarray, (bins, k)
    H : np.ndarray, (k, frames)
    groups : list of list of int
        A partition of the k components into as many groups as the paint has sources.
    paint : np.ndarray, (sources, bins, frames)
    move_share : float, optional
        Share (0–1] of a component's energy under a source's paint that moves it.
    """
    from .scores import match

    n_sources = len(paint)
    if len(groups) != n_sources:
        raise ValueError(f"{len(groups)} groups for a guide of {n_sources} sources")
    W = np.asarray(W, dtype=np.float32)
    H = np.asarray(H, dtype=np.float32)
    # overlap[s, k] = Σ_ft P_s(f, t) W_fk H_kt
    overlap = np.stack([np.einsum("fk,ft,kt->k", W, p, H, dtype=np.float64) for p in paint])
    label = np.empty(W.shape[1], dtype=np.intp)
    for g, members in enumerate(groups):
        label[list(members)] = g
    score = np.stack([overlap[:, label == g].sum(axis=1) for g in range(n_sources)], axis=1)
    source_of_group = np.empty(n_sources, dtype=np.intp)
    for s, g in match(score):
        source_of_group[g] = s
    sources = source_of_group[label]
    if move_share is not None:
        energy = W.sum(axis=0, dtype=np.float64) * H.sum(axis=1, dtype=np.float64)
        best = overlap.argmax(axis=0)
        columns = np.arange(len(sources))
        moves = (overlap[best, columns] >= move_share * np.maximum(energy, 1e-30)) & (
            overlap[best, columns] > overlap[sources, columns]
        )
        sources = np.where(moves, best, sources)
        for s in range(n_sources):  # a source the moves emptied takes back its strongest
            if not (sources == s).any():
                movable = np.bincount(sources, minlength=n_sources)[sources] > 1
                own = movable & (source_of_group[label] == s)
                pool = np.flatnonzero(own if own.any() else movable)
                sources[pool[np.argmax(energy[pool])]] = s
    return [np.flatnonzero(sources == s).tolist() for s in range(n_sources)]
