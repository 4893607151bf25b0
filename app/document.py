"""The single source of truth of the workstation: audio, parameters, factors, components.

Plain Python with evented fields (psygnal, as napari's models): it never imports
Qt, so the GUI, the session file and the CLI's ``--session`` replay share it.
Views observe a :class:`Session` through its signals; controls change it through
its methods. Every setter emits only when the value really changes. What mute,
solo and sources mean for what sounds (:meth:`Session.effective_gains`,
:meth:`Session.groups`) is defined here and nowhere else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace

import numpy as np
from psygnal import Signal

from dsp.audio import Audio
from dsp.guide import Steering, check_paint
from dsp.pipeline import Settings
from dsp.project_file import ComponentState, SourceState
from dsp.stft import Spectrogram

from .colours import component_colour

__all__ = ["ComponentState", "Document", "EditState", "SourceState"]


def _default_component(index: int) -> ComponentState:
    return ComponentState(f"Part {index + 1}", component_colour(index), source=index)


def _count_sources(components: tuple[ComponentState, ...], states: tuple[SourceState, ...]) -> int:
    return max(max((c.source for c in components), default=-1) + 1, len(states))


def _source_state(states: tuple[SourceState, ...], source: int) -> SourceState:
    if 0 <= source < len(states):
        return states[source]
    return SourceState(f"Source {source + 1}")


@dataclass(frozen=True, eq=False)
class EditState:
    """Everything a user's edit may change, as :meth:`Document.edit_state` found it.

    Cheap to take: the arrays are the document's own, which its methods
    replace and never change in place, except :attr:`paint`, which strokes
    change in place (their own undo commands restore those cells).
    """

    components: tuple[ComponentState, ...]
    sources: tuple[SourceState, ...]
    settings: Settings
    W: np.ndarray | None  # noqa: N815 - the domain's names
    H: np.ndarray | None  # noqa: N815
    channel_gains: np.ndarray | None
    losses: tuple[float, ...]
    kept_templates: np.ndarray | None
    selected: int
    paint: np.ndarray | None

    #: The fields that hold arrays: two states share them or differ.
    ARRAYS = ("W", "H", "channel_gains", "kept_templates", "paint")

    @property
    def n_sources(self) -> int:
        """Number of sources in this state (as :attr:`Document.n_sources`)."""
        return _count_sources(self.components, self.sources)

    def source_state(self, source: int) -> SourceState:
        """Name, mute and solo of ``source`` in this state (as :meth:`Document.source_state`)."""
        return _source_state(self.sources, source)

    def changed(self, other: EditState) -> set[str]:
        """Names of the fields that differ from ``other``'s (arrays by identity)."""
        return {
            f.name for f in fields(self)
            if (getattr(self, f.name) is not getattr(other, f.name) if f.name in self.ARRAYS
                else getattr(self, f.name) != getattr(other, f.name))
        }


class Document:
    """The open mixture, its spectrogram, the solver parameters and the current factors.

    Signals
    -------
    audio_changed
        A new mixture (audio and spectrogram) replaced the previous one.
    settings_changed(Settings)
        Solver or STFT parameters changed.
    factors_changed
        W, H or the loss history changed (a new snapshot, or cleared).
    components_changed
        The list of components was rebuilt (its length changed).
    component_changed(int)
        One component's name, colour, gain, mute, solo or source changed.
    selection_changed(int)
        The selected component changed (-1: none).
    """

    audio_changed = Signal()
    settings_changed = Signal(object)
    factors_changed = Signal()
    components_changed = Signal()
    component_changed = Signal(int)
    selection_changed = Signal(int)
    #: Source names, mute or solo, or the number of sources changed.
    sources_changed = Signal()
    #: A component was locked or unlocked.
    locks_changed = Signal()
    #: Reference stems of the mixture were loaded or cleared.
    references_changed = Signal()
    #: Something the user did not ask for happened to their edits (locks cleared…): say so.
    noticed = Signal(str)
    #: The paint changed: ``(bins, frames)`` slices of the cells that changed, or None (all).
    paint_changed = Signal(object)

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or Settings()
        self._audio: Audio | None = None
        self._spectrogram: Spectrogram | None = None
        self._magnitude: np.ndarray | None = None
        self._W: np.ndarray | None = None
        self._H: np.ndarray | None = None
        self._channel_gains: np.ndarray | None = None
        self._losses: tuple[float, ...] = ()
        self._components = tuple(_default_component(i) for i in range(self._settings.n_components))
        self._selected = -1
        self._source_states: tuple[SourceState, ...] = ()
        self._references: tuple[np.ndarray, ...] = ()
        self._reference_names: tuple[str, ...] = ()
        self._reference_paths: tuple[str, ...] = ()
        # Locked templates kept through a change of k, until the next run starts from them.
        self._kept_templates: np.ndarray | None = None
        # Paint per source (sources, bins, frames) on the spectrogram's grid, or None.
        self._paint: np.ndarray | None = None
        # Nonzero cells of each row of the paint, kept by every change (no scan).
        self._painted_cells = np.zeros(0, np.int64)
        # The block the paint's rows are a prefix of: its rows after the paint's are
        # still zero, since strokes write through the paint (see _grow_paint).
        self._paint_block: np.ndarray | None = None
        # Held while a row of the paint is written or copied (paint_copy, from any thread).
        self._paint_lock = threading.Lock()

    # -- read access -------------------------------------------------------------------------

    @property
    def audio(self) -> Audio | None:
        """The open mixture."""
        return self._audio

    @property
    def spectrogram(self) -> Spectrogram | None:
        """Complex STFT of the mixture, every channel."""
        return self._spectrogram

    @property
    def magnitude(self) -> np.ndarray | None:
        """V, the NMF input: float32 (bins, frames)."""
        return self._magnitude

    @property
    def settings(self) -> Settings:
        """Solver and STFT parameters."""
        return self._settings

    @property
    def W(self) -> np.ndarray | None:  # noqa: N802 - the domain's name for the templates
        """Templates of the latest snapshot, float32 (bins, k), or None."""
        return self._W

    @property
    def H(self) -> np.ndarray | None:  # noqa: N802 - the domain's name for the activations
        """Activations of the latest snapshot, float32 (k, frames), or None."""
        return self._H

    @property
    def channel_gains(self) -> np.ndarray | None:
        """The multichannel model's gain of every component in every channel, or None.

        Part of the factors: every renderer takes them with W and H, so a
        component sits in the stereo image where the solver found it.
        """
        return self._channel_gains

    @property
    def losses(self) -> tuple[float, ...]:
        """Loss after each iteration of the current factorization."""
        return self._losses

    @property
    def n_iter(self) -> int:
        """Iterations behind the current factors."""
        return len(self._losses)

    @property
    def components(self) -> tuple[ComponentState, ...]:
        """Per-component state, one per column of W."""
        return self._components

    @property
    def selected(self) -> int:
        """Index of the selected component, or -1."""
        return self._selected

    @property
    def references(self) -> tuple[np.ndarray, ...]:
        """True stems of the mixture the user loaded, float32 (frames, channels) each."""
        return self._references

    @property
    def reference_names(self) -> tuple[str, ...]:
        """File names of :attr:`references`."""
        return self._reference_names

    @property
    def reference_paths(self) -> tuple[str, ...]:
        """Files :attr:`references` were read from (none for stems that have no file)."""
        return self._reference_paths

    def spectrogram_is_current(self) -> bool:
        """Whether the spectrogram was computed with the current STFT parameters."""
        spec = self._spectrogram
        return (
            spec is not None
            and spec.n_fft == self._settings.n_fft
            and spec.hop == self._settings.hop
        )

    def effective_gains(self) -> np.ndarray:
        """Gain of each component after mute and solo, float32 (k,).

        If any component is soloed, only soloed components sound (solo wins over
        mute); otherwise muted components are silent. Others keep their gain.
        """
        states = self._components
        soloing = any(c.solo for c in states)
        audible = [c.solo if soloing else not c.mute for c in states]
        gains = np.array([c.gain if on else 0.0 for c, on in zip(states, audible)], np.float32)
        return gains * self._source_audibility()

    def groups(self) -> list[list[int]]:
        """Component indices of each source that has components, ordered by source index.

        The one rule for what a source is when rendering, exporting, scoring or
        replaying a session; :meth:`group_names` names the same groups.
        """
        members: dict[int, list[int]] = {}
        for k, c in enumerate(self._components):
            members.setdefault(c.source, []).append(k)
        return [members[s] for s in sorted(members)]

    def group_names(self) -> list[str]:
        """The name of each source in :meth:`groups`, in the same order."""
        used = sorted({c.source for c in self._components})
        return [self.source_state(s).name for s in used]

    def locked_templates(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mask (k,), templates (bins, locked)) a fresh run keeps, or None.

        From the current factors or, after a change of k cleared them, the
        templates kept for the locked components (the first columns).
        """
        locked = self.locked_mask()
        if not locked.any():
            return None
        if self._W is not None:
            return locked, self._W[:, locked]
        if self._kept_templates is not None:
            return locked, self._kept_templates
        return None

    @property
    def paint(self) -> np.ndarray | None:
        """The user's paint, float32 (sources, bins, frames) in [0, 1], read-only; None: none.

        Row s is source s's paint (:mod:`dsp.guide`): how sure the user is that
        source s sounds in a cell. Strokes change it in place
        (:meth:`set_paint_block`), so a :class:`~dsp.guide.Steering` made from
        it follows them.
        """
        if self._paint is None:
            return None
        view = self._paint.view()
        view.flags.writeable = False
        return view

    def paint_copy(self) -> np.ndarray | None:
        """A copy of the paint, or None if nothing is painted; safe from any thread.

        Copied a source at a time under the paint's lock, so a stroke on the
        GUI thread waits at most one row's copy, and every row is whole.
        """
        paint = self._paint
        if paint is None or not self.has_paint():
            return None
        copy = np.empty_like(paint)
        for row in range(len(paint)):
            with self._paint_lock:
                copy[row] = paint[row]
        return copy

    def has_paint(self) -> bool:
        """Whether any cell is painted (kept up to date by every change: no scan)."""
        return bool(self._painted_cells.any())

    def source_has_paint(self, source: int) -> bool:
        """Whether any cell is painted for ``source`` (no scan)."""
        return source < len(self._painted_cells) and bool(self._painted_cells[source])

    def paint_block(self, source: int, bins: slice, frames: slice) -> np.ndarray:
        """A copy of ``source``'s paint on a block of cells (zeros where never painted)."""
        grid = self._grid()
        shape = tuple(len(range(*sl.indices(n))) for sl, n in zip((bins, frames), grid))
        if self._paint is None or source >= len(self._paint):
            return np.zeros(shape, np.float32)
        return self._paint[source, bins, frames].copy()

    def steering(self) -> Steering | None:
        """Paint's steering of the current groups (:meth:`groups`), or None without paint.

        The sources that have components, in :meth:`groups` order, with their
        rows of the paint (the live array: later strokes steer it too) and the
        settings' strength. None when no source with components has paint.
        """
        if self._W is None:
            return None
        rows = self._group_rows()
        if rows is None:
            return None
        identity = rows == tuple(range(len(self._paint)))
        return Steering.of_groups(self._paint, self._settings.guide_strength, self.groups(),
                                  None if identity else rows)

    def group_paint(self) -> np.ndarray | None:
        """A copy of the paint of each group, in :meth:`groups` order, or None if none is painted.

        What a fresh run is guided by (``dsp.pipeline.separate_audio(paint=)``).
        """
        rows = self._group_rows()
        if rows is None:
            return None
        paint = np.zeros((len(rows), *self._paint.shape[1:]), np.float32)
        for i, row in enumerate(rows):
            if row is not None:
                paint[i] = self._paint[row]
        return paint

    def _group_rows(self) -> tuple[int | None, ...] | None:
        """The paint row of each group's source (None: unpainted), or None if none is painted."""
        if not self.has_paint():
            return None
        used = sorted({c.source for c in self._components})
        rows = tuple(s if s < len(self._paint) else None for s in used)
        if all(row is None or not self._painted_cells[row] for row in rows):
            return None
        return rows

    # -- changes -----------------------------------------------------------------------------

    def set_paint_block(self, source: int, bins: slice, frames: slice, values) -> None:
        """Set ``source``'s paint on a block of cells to ``values`` (clipped to [0, 1]).

        Raises
        ------
        ValueError
            Without a spectrogram, for a negative source, or values of another shape.
        """
        grid = self._grid()
        if source < 0:
            raise ValueError(f"no source {source}")
        values = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
        if self._paint is None or source >= len(self._paint):
            self._grow_paint(source + 1, grid)
        target = self._paint[source, bins, frames]
        if values.shape != target.shape:
            raise ValueError(f"paint of shape {values.shape} for a block of {target.shape}")
        if np.array_equal(target, values):
            return
        self._painted_cells[source] += int(np.count_nonzero(values)) - int(np.count_nonzero(target))
        with self._paint_lock:
            self._paint[source, bins, frames] = values
        self.paint_changed.emit((bins, frames))

    def set_paint(self, paint: np.ndarray | None) -> None:
        """Replace the whole paint (None: no paint), e.g. undoing Clear paint or opening a session.

        Raises
        ------
        ValueError
            If ``paint`` is not (sources, bins, frames) on the spectrogram's grid.
        """
        if paint is not None:
            paint = check_paint(paint, self._grid(), name="the paint", min_sources=1).copy()
        if paint is None and self._paint is None:
            return
        self._set_whole_paint(paint)
        self.paint_changed.emit(None)

    def _set_whole_paint(self, paint: np.ndarray | None) -> None:
        self._paint = self._paint_block = paint
        self._painted_cells = (np.zeros(0, np.int64) if paint is None
                               else np.count_nonzero(paint, axis=(1, 2)).astype(np.int64))

    def _grow_paint(self, rows: int, grid: tuple[int, int]) -> None:
        """Make the paint ``rows`` rows high, the new rows zero, without copying painted rows.

        The rows are a prefix of a block with a row for every source the document
        has, allocated zeroed (the system maps its pages only when they are
        painted), so the first stroke of another source takes the next rows of
        the block instead of a new array and a copy of every painted row — on a
        3-minute file that copy stalled the stroke by a quarter of a second.
        Only a source beyond the block (one added later) makes a new block.
        """
        block, paint = self._paint_block, self._paint
        self._painted_cells = np.pad(self._painted_cells, (0, rows - len(self._painted_cells)))
        if paint is not None and rows <= len(block) and (paint is block or paint.base is block):
            self._paint = block[:rows]
            return
        block = np.zeros((max(rows, self.n_sources), *grid), np.float32)
        if paint is not None:
            block[: len(paint)] = paint
        self._paint, self._paint_block = block[:rows], block

    def _grid(self) -> tuple[int, int]:
        if self._magnitude is None:
            raise ValueError("there is no spectrogram to paint on")
        return self._magnitude.shape

    def _drop_paint(self, reason: str | None) -> None:
        """Forget the paint (it no longer fits the grid); say why if there was any."""
        if self._paint is None:
            return
        painted = self.has_paint()
        self._set_whole_paint(None)
        self.paint_changed.emit(None)
        if painted and reason:
            self.notice(f"Cleared the paint: {reason}.")


    def set_audio(self, audio: Audio, spectrogram: Spectrogram) -> None:
        """Open a mixture, or analyse the open one again; clears the factors.

        Other audio starts a new document: the parameters stay, but component
        names, colours, gains, sources, locks and references go back to their
        defaults. The same audio with another STFT keeps every component state,
        but locked templates no longer fit and are unlocked, with a notice.
        The magnitude comes from the spectrogram's cache: a job that analysed
        the audio computed it there, off the GUI thread.
        """
        new_document = audio is not self._audio
        self._audio = audio
        self._spectrogram = spectrogram
        self._magnitude = spectrogram.magnitude()
        settings = replace(self._settings, n_fft=spectrogram.n_fft, hop=spectrogram.hop)
        if settings != self._settings:
            self._settings = settings
            self.settings_changed.emit(settings)
        self.clear_factors()
        if new_document:
            self._drop_paint(None)
            self._start_new_document()
        else:
            self._clear_locks("the FFT size or hop changed, so the templates no longer fit")
            self._drop_paint("the FFT size or hop changed, so it no longer fits the spectrogram")
        # Last: an observer of new audio (a run waiting for it) sees the whole new document.
        self.audio_changed.emit()

    def restore(
        self,
        audio: Audio,
        spectrogram: Spectrogram,
        settings: Settings,
        *,
        W: np.ndarray | None = None,  # noqa: N803 - the domain's names
        H: np.ndarray | None = None,  # noqa: N803
        losses: tuple[float, ...] = (),
        channel_gains: np.ndarray | None = None,
        components: list[ComponentState] | None = None,
        sources: list[SourceState] | None = None,
        references: tuple[tuple, tuple, tuple] = ((), (), ()),
        paint: np.ndarray | None = None,
    ) -> None:
        """Replace the whole document at once (a session file), then tell every observer.

        ``references`` are (stems, names, paths), as :meth:`set_references` takes them;
        ``paint`` is (sources, bins, frames) on the spectrogram's grid.

        Raises
        ------
        ValueError
            If the factors or the component states do not fit; nothing changes.
        """
        magnitude = spectrogram.magnitude()
        settings = replace(settings, n_fft=spectrogram.n_fft, hop=spectrogram.hop)
        k = settings.n_components
        if components is not None and len(components) != k:
            raise ValueError(f"{len(components)} component states for {k} components")
        if W is not None and (W.shape != (magnitude.shape[0], k) or H is None
                              or H.shape != (k, magnitude.shape[1])):
            raise ValueError(
                f"the factors {W.shape} x {getattr(H, 'shape', None)} do not fit "
                f"{k} components of a {magnitude.shape[0]} x {magnitude.shape[1]} spectrogram"
            )
        gains = self._checked_gains(channel_gains, W, spectrogram)
        if paint is not None:
            paint = check_paint(paint, magnitude.shape, name="the paint", min_sources=1).copy()
        self._audio, self._spectrogram, self._magnitude = audio, spectrogram, magnitude
        self._set_whole_paint(paint)
        self._settings = settings
        self._W, self._H, self._channel_gains = W, H, gains
        self._losses = tuple(float(x) for x in losses) if W is not None else ()
        self.settings_changed.emit(settings)
        self._replace_edits(
            tuple(replace(c, source=i if c.source is None else c.source)
                  for i, c in enumerate(components))
            if components is not None else None,
            tuple(sources or ()),
            references,
        )
        self.factors_changed.emit()  # after the components the factors belong to
        self.paint_changed.emit(None)
        self.audio_changed.emit()  # last, as in set_audio

    def notice(self, message: str) -> None:
        """Tell the user something happened to their work that they did not ask for."""
        self.noticed.emit(message)

    def set_references(self, stems, names, paths=()) -> None:
        """Use ``stems`` (one per source, the mixture's length) as the truth to score against.

        ``paths`` are the files they came from: the session file stores those,
        so the references come back with the session.
        """
        stems, names, paths = tuple(stems), tuple(names), tuple(str(p) for p in paths)
        if not stems and not self._references:
            return
        self._references, self._reference_names = stems, names
        self._reference_paths = paths if len(paths) == len(stems) else ()
        self.references_changed.emit()

    def set_settings(self, settings: Settings) -> None:
        """Change the parameters; a new number of components rebuilds the components.

        With a new k, locked components come first, keeping their states,
        sources and templates (the next run starts from them); the others keep
        their names and settings in order, each in a source of its own, since
        grouping made for other components no longer holds (a notice says to
        group again). If the new k cannot hold every locked template, the
        locks are cleared with a notice.
        """
        if settings == self._settings:
            return
        rank_changed = settings.n_components != self._settings.n_components
        self._settings = settings
        self.settings_changed.emit(settings)
        if rank_changed:
            self._change_rank(settings.n_components)

    def _change_rank(self, k: int) -> None:
        locked = self.locked_mask()
        kept = self.locked_templates()
        if locked.sum() > k:
            kept = None
            self._clear_locks(f"{k} components cannot hold {int(locked.sum())} locked templates")
            locked = self.locked_mask()
        self._kept_templates = None if kept is None else kept[1].copy()
        first = [c for c in self._components if c.locked]
        rest = [c for c in self._components if not c.locked]
        rest += [_default_component(i) for i in range(len(self._components), k)]
        # Locked components keep their sources, first; grouping made for other
        # components no longer holds, so every other component gets a source of its own.
        used = sorted({c.source for c in first})
        first = [replace(c, source=used.index(c.source)) for c in first]
        rest = [replace(c, source=len(used) + j) for j, c in enumerate(rest[: k - len(first)])]
        grouped = len(self.groups()) < len(self._components)
        dissolved = [self.source_state(s).name for s in range(self.n_sources)
                     if s not in used and self.source_has_paint(s)]
        self._source_states = tuple(self.source_state(s) for s in used)
        self._components = tuple(first + rest)
        self._keep_paint_rows(used)
        self.clear_factors()
        if self._selected >= k:
            self.select_component(-1)
        self.components_changed.emit()
        self.sources_changed.emit()
        self.locks_changed.emit()
        message = (f"Now {k} components, each in a source of its own: "
                   "group them again once they are learned." if grouped else "")
        if dissolved:
            message += (f" The paint of {', '.join(dissolved)} went with "
                        f"{'its source' if len(dissolved) == 1 else 'their sources'} "
                        "(Undo brings it back).")
        if message:
            self.notice(message.strip())

    def _keep_paint_rows(self, rows: list[int]) -> None:
        """Keep only the paint of ``rows``, as rows 0, 1, … (a new array, so undo has the old)."""
        paint = self._paint
        if paint is None or list(range(len(paint))) == rows[: len(paint)]:
            return
        painted = [i for i, row in enumerate(rows) if self.source_has_paint(row)]
        kept = None
        if painted:  # rows up to the last painted one, as everywhere
            kept = np.zeros((painted[-1] + 1, *paint.shape[1:]), np.float32)
            for i in painted:
                kept[i] = paint[rows[i]]
        self._set_whole_paint(kept)
        self.paint_changed.emit(None)

    def _start_new_document(self) -> None:
        """Component and source states, locks and references back to their defaults."""
        self._replace_edits(None, (), ((), (), ()))

    def _replace_edits(self, components, sources, references) -> None:
        """Every edit of the user at once (None: default components), then say so."""
        k = self._settings.n_components
        self._components = components or tuple(_default_component(i) for i in range(k))
        self._source_states = sources
        self._references, self._reference_names, self._reference_paths = (
            tuple(tuple(part) for part in references)
        )
        self._kept_templates = None
        self._selected = -1
        for signal in (self.components_changed, self.sources_changed, self.locks_changed,
                       self.references_changed):
            signal.emit()
        self.selection_changed.emit(-1)

    def _clear_locks(self, reason: str) -> None:
        names = [c.name for c in self._components if c.locked]
        self._kept_templates = None
        if not names:
            return
        self._components = tuple(replace(c, locked=False) for c in self._components)
        self.components_changed.emit()
        self.locks_changed.emit()
        self.notice(f"Unlocked {', '.join(names)}: {reason}.")

    def set_factors(
        self,
        W: np.ndarray,  # noqa: N803 - the domain's names
        H: np.ndarray,  # noqa: N803
        losses: tuple[float, ...],
        channel_gains: np.ndarray | None = None,
    ) -> None:
        """Store a snapshot of the factors (and channel gains) and the loss history.

        Raises
        ------
        ValueError
            If the factors do not fit the spectrogram and the number of components.
        """
        V, k = self._magnitude, len(self._components)
        if V is None or W.shape != (V.shape[0], k) or H.shape != (k, V.shape[1]):
            raise ValueError(f"factors {W.shape} x {H.shape} do not fit this session")
        gains = self._checked_gains(channel_gains, W, self._spectrogram)
        self._W, self._H, self._channel_gains, self._losses = W, H, gains, tuple(losses)
        self._kept_templates = None
        self.factors_changed.emit()

    def clear_factors(self) -> None:
        """Forget W, H and the loss history (Reset)."""
        if self._W is None and not self._losses:
            return
        self._W = self._H = self._channel_gains = None
        self._losses = ()
        self.factors_changed.emit()

    def edit_state(self) -> EditState:
        """What the user's edits made of the document, to compare or put back (undo)."""
        return EditState(self._components, self._source_states, self._settings, self._W,
                         self._H, self._channel_gains, self._losses, self._kept_templates,
                         self._selected, self._paint)

    def restore_edit_state(self, state: EditState) -> None:
        """Put back a state :meth:`edit_state` gave, then say what changed.

        For undo and redo: the state must belong to the open mixture (its
        settings have the spectrogram's FFT size and hop, its factors and
        paint fit the spectrogram).
        """
        old = self.edit_state()
        changed = state.changed(old)
        if not changed:
            return
        self._components, self._source_states = state.components, state.sources
        self._settings = state.settings
        self._W, self._H, self._channel_gains = state.W, state.H, state.channel_gains
        self._losses, self._kept_templates = state.losses, state.kept_templates
        if "paint" in changed:
            self._set_whole_paint(state.paint)
        self._selected = state.selected if state.selected < len(state.components) else -1
        # Observers of any one signal see the whole restored state, as after replace_components.
        if "settings" in changed:
            self.settings_changed.emit(self._settings)
        if len(state.components) != len(old.components):
            self.components_changed.emit()
        else:
            for k, (new, was) in enumerate(zip(state.components, old.components)):
                if new != was:
                    self.component_changed.emit(k)
        if "sources" in changed or ([c.source for c in state.components]
                                    != [c.source for c in old.components]):
            self.sources_changed.emit()
        if [c.locked for c in state.components] != [c.locked for c in old.components]:
            self.locks_changed.emit()
        if changed & {"W", "H", "channel_gains", "losses"}:
            self.factors_changed.emit()
        if "paint" in changed:
            self.paint_changed.emit(None)
        if self._selected != old.selected:
            self.selection_changed.emit(self._selected)

    def select_component(self, index: int) -> None:
        """Select component ``index`` (-1 for none)."""
        if index != self._selected:
            self._selected = index
            self.selection_changed.emit(index)

    def set_component_name(self, index: int, name: str) -> None:
        """Rename a component."""
        self._update_component(index, name=name)

    def set_component_colour(self, index: int, colour: str) -> None:
        """Set the colour every view draws component ``index`` in (``#rrggbb``)."""
        self._update_component(index, colour=str(colour).lower())

    def set_gain(self, index: int, gain: float) -> None:
        """Set a component's linear gain (>= 0)."""
        self._update_component(index, gain=max(0.0, float(gain)))

    def set_mute(self, index: int, mute: bool) -> None:
        """Mute or unmute a component."""
        self._update_component(index, mute=bool(mute))

    def set_solo(self, index: int, solo: bool) -> None:
        """Solo or unsolo a component."""
        self._update_component(index, solo=bool(solo))

    def set_source(self, index: int, source: int) -> None:
        """Assign a component to a source (zero-based).

        A source whose last component leaves stays a source while it has paint:
        the paint still names it, so it stays in the source lists (to paint,
        to move parts back to) and a new source does not take its row.
        """
        old = self._components[index].source
        self._update_component(index, source=max(0, int(source)))
        if old >= self.n_sources and self.source_has_paint(old):
            self._set_source_state(old, self.source_state(old))

    def assign_sources(self, groups: list[list[int]]) -> None:
        """Assign every component to the source of the group holding it."""
        for source, members in enumerate(groups):
            for k in members:
                self.set_source(k, source)

    def _update_component(self, index: int, **change) -> None:
        old = self._components[index]
        new = replace(old, **change)
        if new != old:
            self._components = (
                self._components[:index] + (new,) + self._components[index + 1 :]
            )
            self.component_changed.emit(index)

    # -- sources and locks (steering, issue 7) -----------------------------------------------

    @property
    def n_sources(self) -> int:
        """Number of sources: every named source and every source a component is in."""
        return _count_sources(self._components, self._source_states)

    def source_state(self, source: int) -> SourceState:
        """Name, mute and solo of ``source`` (a default ``Source n`` if never changed)."""
        return _source_state(self._source_states, source)

    def source_members(self, source: int) -> list[int]:
        """Indices of the components in ``source`` (possibly none)."""
        return [k for k, c in enumerate(self._components) if c.source == source]

    def add_source(self, name: str | None = None) -> int:
        """Create an empty source after the last one and return its index."""
        index = self.n_sources
        if self.source_has_paint(index):
            # Paint on a row beyond the sources (a painted source keeps its state when it
            # empties, but a restored state may lack one) is not the new source's.
            self.set_paint_block(index, slice(None), slice(None), np.zeros(self._paint.shape[1:]))
        self._set_source_state(index, SourceState(name or f"Source {index + 1}"))
        return index

    def rename_source(self, source: int, name: str) -> None:
        """Rename a source (blank names are ignored)."""
        if name.strip():
            self._set_source_state(source, replace(self.source_state(source), name=name.strip()))

    def set_source_mute(self, source: int, mute: bool) -> None:
        """Mute or unmute every component of a source."""
        self._set_source_state(source, replace(self.source_state(source), mute=bool(mute)))

    def set_source_solo(self, source: int, solo: bool) -> None:
        """Solo or unsolo a source."""
        self._set_source_state(source, replace(self.source_state(source), solo=bool(solo)))

    def merge_sources(self, target: int, other: int) -> None:
        """Move every component of ``other`` into ``target`` and remove ``other``.

        Sources after ``other`` move down by one, so indices stay contiguous.
        """
        if target == other or not (0 <= other < self.n_sources and 0 <= target < self.n_sources):
            return
        states = [self.source_state(i) for i in range(self.n_sources)]
        del states[other]
        self._source_states = tuple(states)
        self._merge_paint(target, other)
        for k, c in enumerate(self._components):
            if c.source == other:
                self.set_source(k, target - (target > other))
            elif c.source > other:
                self.set_source(k, c.source - 1)
        self.sources_changed.emit()

    def _merge_paint(self, target: int, other: int) -> None:
        """``other``'s paint joins ``target``'s (the surer in each cell); rows close up.

        The merged paint is a new array: the previous one stays as it was, so
        an undone merge (:meth:`restore_edit_state`) gets it back whole.
        """
        paint = self._paint
        if paint is None or other >= len(paint):
            return
        if target >= len(paint) and paint[other].any():  # target was never painted
            grown = np.zeros((target + 1, *paint.shape[1:]), np.float32)
            grown[: len(paint)] = paint
            grown[target] = paint[other]
            merged = np.delete(grown, other, axis=0)
        else:
            merged = np.delete(paint, other, axis=0)
            if target < len(paint):
                row = merged[target - (target > other)]
                np.maximum(row, paint[other], out=row)
        self._set_whole_paint(merged)
        self.paint_changed.emit(None)

    def set_locked(self, index: int, locked: bool) -> None:
        """Lock or unlock component ``index``'s template for the next runs."""
        if self._components[index].locked != bool(locked):
            self._update_component(index, locked=bool(locked))
            self.locks_changed.emit()

    def locked_mask(self) -> np.ndarray:
        """Boolean mask (k,) of the locked components."""
        return np.array([c.locked for c in self._components], dtype=bool)

    def replace_components(
        self,
        W: np.ndarray,  # noqa: N803 - the domain's names
        H: np.ndarray,  # noqa: N803
        components: list[ComponentState],
        losses: tuple[float, ...] = (),
        channel_gains: np.ndarray | None = None,
    ) -> None:
        """Replace factors and component states at once, possibly with another rank.

        For edits that add or remove components (delete, split, learned
        templates). ``settings.n_components`` follows the new rank; the
        channel gains are the new components' (none: centred until a run
        places them).

        Raises
        ------
        ValueError
            If the factors do not fit the spectrogram or the list of components.
        """
        V, k = self._magnitude, len(components)
        if V is None or W.shape != (V.shape[0], k) or H.shape != (k, V.shape[1]) or k < 1:
            raise ValueError(f"factors {W.shape} x {H.shape} do not fit {k} components")
        gains = self._checked_gains(channel_gains, W, self._spectrogram)
        rank_changed = k != len(self._components)
        self._components = tuple(components)
        self._W = np.ascontiguousarray(W, dtype=np.float32)
        self._H = np.ascontiguousarray(H, dtype=np.float32)
        self._channel_gains = gains
        self._losses = tuple(losses)
        unselected = self._selected >= k
        if unselected:  # said last: views of the selection follow the new components
            self._selected = -1
        if rank_changed:
            self._settings = replace(self._settings, n_components=k)
            self.settings_changed.emit(self._settings)
        self.components_changed.emit()
        self.sources_changed.emit()
        self.locks_changed.emit()
        self.factors_changed.emit()
        if unselected:
            self.selection_changed.emit(-1)

    @staticmethod
    def _checked_gains(gains, W, spectrogram) -> np.ndarray | None:  # noqa: N803
        """Channel gains as float32, or a ValueError if they do not fit W and the audio."""
        if gains is None:
            return None
        shape = (spectrogram.channels, 0 if W is None else W.shape[1])
        if W is None or np.shape(gains) != shape:
            raise ValueError(f"channel gains {np.shape(gains)} do not fit this session {shape}")
        return np.asarray(gains, dtype=np.float32)

    def _set_source_state(self, source: int, state: SourceState) -> None:
        if source < 0 or (state == self.source_state(source) and source < self.n_sources):
            return
        states = [self.source_state(i) for i in range(max(self.n_sources, source + 1))]
        states[source] = state
        self._source_states = tuple(states)
        self.sources_changed.emit()

    def _source_audibility(self) -> np.ndarray:
        """1 for components whose source sounds, 0 for the others, float32 (k,)."""
        states = [self.source_state(i) for i in range(self.n_sources)]
        soloing = any(s.solo for s in states)
        return np.array(
            [states[c.source].solo if soloing else not states[c.source].mute
             for c in self._components],
            dtype=np.float32,
        )
