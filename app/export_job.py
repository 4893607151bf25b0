"""What an export writes (names, stems, extra files) and the background job that writes it.

Nothing here touches a widget. :func:`plan_export` turns a session and
:class:`ExportOptions` into file names (the dialog previews them);
:class:`ExportJob` (a job of :mod:`app.jobs`) renders them with the session's
paint steering and writes them in its own thread as one transaction: stems go
through :class:`dsp.stems.StemSet`, the extra files are staged beside them the
same way, and a cancelled or failed export removes everything staged, leaving
the folder as it was.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage

from dsp.audio import Audio
from dsp.separation import group_gains, render
from dsp.stems import StemSet, manifest, safe_name

from .document import Document
from .jobs import Job

__all__ = [
    "ExportError",
    "ExportJob",
    "ExportOptions",
    "ExportPlan",
    "Stem",
    "plan_export",
]

#: What can be exported, as shown to the user.
WHATS = {
    "components": "Every component",
    "sources": "Every source",
    "mix": "Only the audible mix",
    "selected": "The selected components",
}
DEFAULT_PATTERN = "{file}_{name}"
PATTERN_FIELDS = ("file", "name", "component", "source", "index")


class ExportError(Exception):
    """The export cannot be planned (bad pattern, nothing to export); the message says why."""


@dataclass(frozen=True)
class ExportOptions:
    """Everything the user chose in the export dialog."""

    folder: Path
    what: str = "components"
    file_format: str = "wav"
    subtype: str = "pcm24"
    pattern: str = DEFAULT_PATTERN
    selected: tuple[int, ...] = ()
    factors_npz: bool = False
    factors_csv: bool = False
    losses_csv: bool = False
    plot_names: tuple[str, ...] = ()
    #: The user's paint as a ``.npz`` guide (``separate --guide``'s format).
    paint_npz: bool = False


@dataclass(frozen=True)
class Stem:
    """One audio file: its components, the audible mix's gains, the source it renders."""

    name: str
    members: tuple[int, ...]
    gains: tuple[float, ...] | None = None
    source: str | None = None


@dataclass(frozen=True)
class ExportPlan:
    """File names an export will write, ``manifest.json`` last."""

    stems: tuple[Stem, ...]
    extras: tuple[str, ...]
    file_format: str

    @property
    def files(self) -> list[str]:
        """Every file name, stems first."""
        stems = [f"{s.name}.{self.file_format}" for s in self.stems]
        return [*stems, *self.extras, "manifest.json"]


def _stems(document: Document, options: ExportOptions) -> list[tuple[str, Stem]]:
    """(label, stem before naming) of each stem."""
    names = [c.name for c in document.components]
    if options.what == "components":
        return [(names[k], Stem("", (k,))) for k in range(len(names))]
    if options.what == "sources":
        return [(name, Stem("", tuple(g), source=name))
                for name, g in zip(document.group_names(), document.groups())]
    if options.what == "selected":
        return [(names[k], Stem("", (k,))) for k in options.selected]
    if options.what == "mix":
        gains = document.effective_gains()
        audible = tuple(int(k) for k in np.flatnonzero(gains))
        if not audible:
            raise ExportError("the mix is silent: every component is muted or at zero gain")
        return [("audible_mix", Stem("", audible, tuple(float(gains[k]) for k in audible)))]
    raise ExportError(f"unknown export choice {options.what!r}; use one of {list(WHATS)}")


def plan_export(document: Document, options: ExportOptions) -> ExportPlan:
    """Name every file an export of ``session`` with ``options`` writes.

    Raises
    ------
    ExportError
        No audio or factors, nothing selected, a pattern with an unknown field,
        names that are empty or collide.
    """
    if document.audio is None or document.W is None:
        raise ExportError("nothing to export yet: open audio and run the factorization")
    file = safe_name(document.audio.path.stem) if document.audio.path else "mixture"
    pattern = re.sub(r"\.(wav|flac)$", "", options.pattern.strip(), flags=re.IGNORECASE)
    stems = []
    for index, (label, stem) in enumerate(_stems(document, options), start=1):
        label = safe_name(label)
        fields = dict(file=file, name=label, component=label, source=label, index=index)
        try:
            name = safe_name(pattern.format(**fields))
        except KeyError as exc:
            known = ", ".join(f"{{{f}}}" for f in PATTERN_FIELDS)
            raise ExportError(
                f"unknown field {{{exc.args[0]}}} in the pattern; use {known}"
            ) from None
        except (ValueError, IndexError) as exc:
            raise ExportError(f"the pattern {options.pattern!r} is not valid ({exc})") from None
        if not name:
            raise ExportError(f"the pattern {options.pattern!r} gives an empty file name")
        stems.append(replace(stem, name=name))
    if not stems:
        raise ExportError("nothing selected to export")
    counts = Counter(s.name for s in stems)
    clashes = sorted(name for name, n in counts.items() if n > 1)
    if clashes:
        raise ExportError(f"several stems would be named {', '.join(clashes)}: add {{index}}")
    extras = [
        *([f"{file}_factors.npz"] if options.factors_npz else []),
        *([f"{file}_templates.csv", f"{file}_activations.csv"] if options.factors_csv else []),
        *([f"{file}_losses.csv"] if options.losses_csv else []),
        *(f"{file}_{safe_name(plot)}.png" for plot in options.plot_names),
        *([f"{file}_paint.npz"] if options.paint_npz else []),
    ]
    if options.paint_npz and not document.has_paint():
        raise ExportError("there is no paint to export")
    return ExportPlan(tuple(stems), tuple(extras), options.file_format)


class _Cancelled(Exception):
    """The user cancelled the export."""


class ExportJob(Job):
    """Renders and writes an export in its own thread; all files appear, or none.

    The session is read in the constructor (GUI thread); the thread only sees
    those snapshots, and copies the paint (which strokes change in place) as
    it starts. Plots arrive as images already grabbed from their widgets.
    :meth:`~app.jobs.Job.quit` cancels at the next file.

    Signals
    -------
    progressed(int, int)
        Files staged so far, and in all (emitted from the job's thread).
    returned(list)
        Every written :class:`~pathlib.Path` (``manifest.json`` last).
    errored(Exception)
        What went wrong; nothing was written and existing files are unchanged.
    aborted()
        Cancelled; nothing was written.
    """

    progressed = Signal(int, int)

    def __init__(
        self,
        document: Document,
        options: ExportOptions,
        plots: Mapping[str, QImage] | None = None,
    ) -> None:
        super().__init__(name="partwise-export")
        plots = dict(plots or {})
        self.options = ExportOptions(**{**asdict(options), "plot_names": tuple(plots)})
        self.plan = plan_export(document, self.options)
        self._audio, self._spec = document.audio, document.spectrogram
        self._W, self._H, self._channel_gains = document.W, document.H, document.channel_gains
        self._steering = document.steering()  # its paint is copied when the job starts
        self._losses = tuple(document.losses)
        self._settings = document.settings
        self._names = [c.name for c in document.components]
        self._plots = plots
        self._paint = _guide_paint(document) if self.options.paint_npz else None

    def work(self) -> list[Path] | None:  # noqa: D102 - see Job.work
        try:
            return self._write()
        except _Cancelled:
            return None

    def _check(self) -> None:
        if self.abort_requested:
            raise _Cancelled

    def _write(self) -> list[Path]:
        options, plan = self.options, self.plan
        total = len(plan.files) - 1
        with StemSet(options.folder, file_format=options.file_format,
                     subtype=options.subtype) as stems:
            for done, (stem, samples) in enumerate(zip(plan.stems, self._render()), 1):
                self._check()
                stems.add(stem.name, Audio(samples, self._audio.rate))
                self.progressed.emit(done, total)
            extras = zip(plan.extras, self._extra_writers())
            for done, (name, write) in enumerate(extras, len(plan.stems) + 1):
                self._check()
                stems.add_file(name, write)
                self.progressed.emit(done, total)
            self._check()
            return stems.commit(self._manifest())

    def _render(self) -> Iterator[np.ndarray]:
        """Each stem's samples, one at a time (memory: one mask, one spectrogram).

        A stem is a gain vector — 1 on a group's members, or the audible mix's
        effective gains — rendered by the player's own render path, steered by
        the paint as it was when the export started: strokes made while it runs
        change no stem (a long export would otherwise cut some stems with one
        paint and the rest with another).
        """
        steering = self._steering
        if steering is not None:
            steering = steering.snapshot()
        k = self._W.shape[1]
        gains = []
        for stem in self.plan.stems:
            vector = group_gains(k, stem.members)
            if stem.gains is not None:
                vector[list(stem.members)] = stem.gains
            gains.append(vector)
        yield from render(self._spec, self._W, self._H, gains, power=self._settings.mask_power,
                          channel_gains=self._channel_gains, steering=steering)

    def _extra_writers(self) -> Iterator[Callable[[Path], None]]:
        """One writer per extra file, in the order of ``plan.extras``."""
        rate, settings = self._audio.rate, self._settings
        if self.options.factors_npz:
            yield lambda path: _write_npz(path, self._W, self._H, self._names, rate, settings,
                                          self._channel_gains)
        if self.options.factors_csv:
            hz = np.arange(self._W.shape[0]) * rate / settings.n_fft
            seconds = np.arange(self._H.shape[1]) * settings.hop / rate
            yield lambda path: _write_csv(path, ["frequency_hz", *self._names], hz, self._W)
            yield lambda path: _write_csv(path, ["time_s", *self._names], seconds, self._H.T)
        if self.options.losses_csv:
            iterations = np.arange(1, len(self._losses) + 1)
            losses = np.asarray(self._losses, np.float64)[:, None]
            yield lambda path: _write_csv(path, ["iteration", "loss"], iterations, losses)
        for image in self._plots.values():
            yield lambda path, image=image: _write_png(path, image)
        if self._paint is not None:
            yield lambda path: _write_paint(path, self._paint)

    def _manifest(self) -> dict:
        """The CLI's manifest, plus what the GUI export chose."""
        plan = self.plan
        entries = []
        for stem in plan.stems:
            entry = {"file": f"{stem.name}.{plan.file_format}",
                     "components": [k + 1 for k in stem.members]}
            if stem.gains is not None:
                entry["gains"] = list(stem.gains)
            if stem.source is not None:
                entry["source"] = stem.source
            entries.append(entry)
        return manifest(
            self._audio, self._settings, self._losses, entries,
            file_format=self.options.file_format, subtype=self.options.subtype,
            export={"what": self.options.what, "pattern": self.options.pattern},
            files=list(plan.extras),
        )


def _write_npz(path: Path, W, H, names, rate: int, settings, channel_gains=None) -> None:  # noqa: N803
    """Templates, activations (and channel gains) and their axes as one uncompressed
    NumPy archive."""
    extra = {} if channel_gains is None else {"channel_gains": channel_gains}
    with open(path, "wb") as fh:
        np.savez(
            fh,
            templates=W,
            activations=H,
            frequencies_hz=np.arange(W.shape[0]) * rate / settings.n_fft,
            times_s=np.arange(H.shape[1]) * settings.hop / rate,
            names=np.array(names, dtype=str),
            **extra,
        )


def _guide_paint(document: Document) -> np.ndarray:
    """A copy of the paint with a row for every source (zeros for unpainted ones).

    Row s is source s, as in the document, so ``separate --guide`` writes
    ``source_{s+1}`` for it.
    """
    paint = document.paint
    rows = np.zeros((max(len(paint), document.n_sources), *paint.shape[1:]), np.float32)
    rows[: len(paint)] = paint
    return rows


def _write_paint(path: Path, paint: np.ndarray) -> None:
    """The paint as a compressed ``.npz`` guide: one array, ``paint``, float32 (S, bins, frames).

    Compressed: paint is mostly zeros.
    """
    with open(path, "wb") as fh:
        np.savez_compressed(fh, paint=paint)


def _write_csv(path: Path, header: list[str], index: np.ndarray, values: np.ndarray) -> None:
    """One row per ``index`` value: the index, then the row of ``values``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for first, row in zip(index.tolist(), values.tolist()):
            writer.writerow([first, *(f"{v:.9g}" for v in row)])


def _write_png(path: Path, image: QImage) -> None:
    """Save ``image`` as PNG, or raise OSError."""
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write the plot '{path.name}'")
