"""The headless path from audio to stems, shared by the CLI and the GUI.

``separate_audio`` analyses, factorises and groups; ``export_stems`` renders
the stems one at a time and writes them as one transaction with a manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import nmf
from .audio import Audio
from .grouping import group_components
from .guide import DEFAULT_STRENGTH, Steering, check_paint, order_groups
from .separation import each_component, separate
from .stems import StemSet, manifest, safe_name
from .stft import Spectrogram, analyse

__all__ = [
    "COMPONENTS_PER_SOURCE",
    "MAX_COUNT",
    "MAX_MASK_POWER",
    "MAX_N_FFT",
    "MAX_OVERLAP",
    "Settings",
    "Separation",
    "default_components",
    "export_stems",
    "hop_range",
    "separate_audio",
    "stem_names",
]

#: Components learned per source when the number of sources is known: real
#: instruments play many notes and timbres, and a source is better rebuilt
#: from several components than squeezed into few (measured on the music
#: corpus's design cases, docs/quality.md).
COMPONENTS_PER_SOURCE = 8
#: Most components the default gives (the time of a run grows with k).
MAX_DEFAULT_COMPONENTS = 32
#: Largest soft-mask exponent α: at 10 the masks are already all but binary,
#: and beyond it the float32 powers (W H)^α over- and underflow (α = 100 gave
#: garbage stems; α ≤ 0 has no mask at all, a negative α inverts it).
MAX_MASK_POWER = 10.0
#: Largest seed and iteration counts a setting may hold: what every front end
#: holds (a Qt spin box is a C int), so a session from anywhere opens in the GUI.
MAX_COUNT = 2**31 - 1
#: Longest STFT frame (1.5 s at 44.1 kHz); the shortest is 16 (dsp.stft).
MAX_N_FFT = 65_536
#: Most times the STFT frames overlap: the hop is at least n_fft / 16, four
#: times the default overlap. The spectrogram then holds at most ~8 values per
#: sample and channel whatever n_fft is, so its memory follows the length of
#: the audio (a hop of 1 on a 4-second file asked for 7.2 GB).
MAX_OVERLAP = 16
#: STFT frames a component needs to be learned as a sound rather than a moment:
#: on a 3-second clip (94 frames) 16 components lost 11 dB to 14 (quality.md).
FRAMES_PER_COMPONENT = 8


def default_components(n_sources: int | None, *, frames: int | None = None) -> int:
    """The number of components to learn when the user does not say.

    :data:`COMPONENTS_PER_SOURCE` per source, between ``Settings().n_components``
    and :data:`MAX_DEFAULT_COMPONENTS`; without a number of sources, the
    Settings' default. A short signal of ``frames`` STFT frames gets at most
    one component per :data:`FRAMES_PER_COMPONENT` of them (never fewer than
    its sources).
    """
    k = Settings.n_components
    if n_sources is not None:
        k = min(max(COMPONENTS_PER_SOURCE * n_sources, k), MAX_DEFAULT_COMPONENTS)
    if frames is not None:
        k = min(k, max(frames // FRAMES_PER_COMPONENT, n_sources or 1))
    return int(k)


def hop_range(n_fft: int) -> tuple[int, int]:
    """Smallest and largest STFT hop for frames of ``n_fft`` samples (n_fft/16, n_fft/2)."""
    return max(1, n_fft // MAX_OVERLAP), n_fft // 2


@dataclass(frozen=True)
class Settings:
    """Everything that determines a separation (and so its result, bit for bit)."""

    n_components: int = 8
    n_sources: int | None = None
    loss: str = "kl"
    algorithm: str = "mu"
    init: str = "comb"
    iterations: int = 200
    tol: float = 1e-4
    seed: int = 0
    sparsity: float = 0.0
    smoothness: float = 0.0
    n_fft: int = 2048
    hop: int = 512
    mask_power: float = 1.5
    layers: tuple[int, ...] | None = None
    #: Factorise every channel (shared templates and activations, a gain per
    #: channel and component; masks per channel) instead of their mean magnitude.
    spatial: bool = True
    #: λ of paint (:mod:`dsp.guide`): a cell painted with full confidence for
    #: one source weighs the others' components by e^-λ.
    guide_strength: float = DEFAULT_STRENGTH
    #: Iterations of the paint-steered run that continues the factorization.
    guide_iterations: int = 100

    def __post_init__(self) -> None:
        # Session files store the layer ranks as a JSON list; keep them hashable.
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(r) for r in self.layers))

    def is_spatial(self, channels: int) -> bool:
        """Whether audio with ``channels`` is factorised by the multichannel model.

        It needs several channels and plain multiplicative updates (no L1
        penalty); other settings fit the channels' mean magnitude.
        """
        return self.spatial and channels > 1 and self.algorithm == "mu" and not self.sparsity

    def solver_input(self, spectrogram: Spectrogram) -> np.ndarray:
        """The data the solver fits: every channel's magnitude (spatial), else their mean."""
        if self.is_spatial(spectrogram.channels):
            return spectrogram.magnitudes()
        return spectrogram.magnitude()

    def solver_options(self, V: np.ndarray | None = None, *, rate: float | None = None) -> dict:
        """Keyword arguments for :func:`dsp.nmf.make_solver` on the magnitude ``V``.

        ``smoothness`` is relative to the mean magnitude, so one value means the
        same on loud and quiet recordings; it needs ``V``. The 'comb' start
        needs the audio's sample ``rate``.
        """
        options = dict(loss=self.loss, algorithm=self.algorithm, init=self.init, seed=self.seed)
        if self.init == "comb":
            options["rate"] = rate
        if self.sparsity:
            options["sparsity"] = self.sparsity
        if self.layers:
            options["layers"] = self.layers
        if self.smoothness:
            if V is None:
                raise ValueError("smoothness is relative to the magnitude: pass V")
            options["smoothness"] = self.smoothness * float(V.mean(dtype=np.float64))
        return options


@dataclass
class Separation:
    """A factorised mixture, ready to render stems."""

    audio: Audio
    spectrogram: Spectrogram
    settings: Settings
    W: np.ndarray
    H: np.ndarray
    losses: list[float] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    #: The sources' names, one per group, when the user named them (a replayed session).
    source_names: list[str] = field(default_factory=list)
    #: The multichannel model's gain of every component in every channel, (channels, k).
    channel_gains: np.ndarray | None = None
    #: Paint's steering of the factorization and the masks, when a guide was given.
    steering: Steering | None = None

    @property
    def n_iter(self) -> int:
        """Iterations the solver ran."""
        return len(self.losses)

    def stems(self) -> Iterator[np.ndarray]:
        """The audio of every group, one at a time, through the one render path."""
        return separate(self.spectrogram, self.W, self.H, self.groups,
                        power=self.settings.mask_power, channel_gains=self.channel_gains,
                        steering=self.steering)


def stem_names(groups: list[list[int]], *, by_source: bool) -> list[str]:
    """File stems of unnamed groups: ``source_1`` … for sources, ``component_01`` … else."""
    if by_source:
        return [f"source_{i + 1}" for i in range(len(groups))]
    width = max(2, len(str(len(groups))))
    return [f"component_{i + 1:0{width}d}" for i in range(len(groups))]


def separate_audio(
    audio: Audio,
    settings: Settings,
    *,
    progress: Callable[[int, float], bool | None] | None = None,
    paint: np.ndarray | None = None,
) -> Separation:
    """Analyse ``audio``, factorise its magnitude and group the components.

    ``progress(iteration, loss)`` is called after each iteration; returning True
    stops early. With ``paint`` (sources, bins, frames) on this audio's STFT
    grid (:mod:`dsp.guide`), the components are grouped into the paint's
    sources, in its order, and a paint-steered run
    (``settings.guide_iterations`` more iterations) continues the
    factorization; the masks take the same steering. Raises
    :class:`dsp.stft.StftError` or ``ValueError`` for settings the audio
    cannot support (too short, impossible rank), :class:`dsp.guide.GuideError`
    for paint that does not fit.
    """
    spec = analyse(audio.samples, audio.rate, n_fft=settings.n_fft, hop=settings.hop)
    if paint is not None:
        paint = check_paint(paint, spec.shape)
        if settings.n_sources not in (None, len(paint)):
            raise ValueError(
                f"the guide paints {len(paint)} sources, the settings ask for {settings.n_sources}"
            )
    callback = None if progress is None else (lambda s: progress(s.n_iter, s.losses[-1]))
    result = nmf.factorize(
        settings.solver_input(spec),
        settings.n_components,
        max_iter=settings.iterations,
        tol=settings.tol,
        callback=callback,
        # V only when smoothness needs it: the multichannel model does not, and
        # the mean magnitude not made before the solve is not in its peak.
        **settings.solver_options(spec.magnitude() if settings.smoothness else None,
                                  rate=audio.rate),
    )
    if paint is not None:
        return _guided(audio, spec, settings, result, paint, progress)
    if settings.n_sources is None:
        groups = each_component(settings.n_components)
    else:
        groups = group_components(result.W, result.H, settings.n_sources, rate=audio.rate,
                                  channel_gains=result.channel_gains)
    return Separation(audio, spec, settings, result.W, result.H, result.losses, groups,
                      channel_gains=result.channel_gains)


def _guided(audio, spec, settings, result, paint, progress) -> Separation:
    """Group ``result`` into the paint's sources and continue it steered by the paint."""
    groups = group_components(result.W, result.H, len(paint), rate=audio.rate,
                              channel_gains=result.channel_gains)
    groups = order_groups(result.W, result.H, groups, paint)
    steering = Steering.of_groups(paint, settings.guide_strength, groups)
    done = len(result.losses)
    callback = None if progress is None else (
        lambda s: progress(done + s.n_iter, s.losses[-1]))
    guided = nmf.factorize(
        settings.solver_input(spec), settings.n_components, max_iter=settings.guide_iterations,
        tol=settings.tol, callback=callback, W=result.W, H=result.H,
        channel_gains=result.channel_gains,
        source_weights=steering.cell_weights(), component_sources=steering.sources,
    )
    return Separation(audio, spec, settings, guided.W, guided.H, result.losses + guided.losses,
                      groups, channel_gains=guided.channel_gains, steering=steering)


def export_stems(
    separation: Separation,
    folder: str | Path,
    *,
    file_format: str = "wav",
    subtype: str = "pcm24",
    extra: dict | None = None,
    files: dict[str, Callable[[Path], None]] | None = None,
    protect: Sequence[str | Path] = (),
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """Render every stem and write them, with ``manifest.json``, into ``folder``.

    The stems replace the folder's previous set whole, or nothing changes (see
    :class:`dsp.stems.StemSet`). ``files`` maps more file names of the set to
    their writers (the demo's mixture); ``protect`` lists files never to
    replace (the inputs); ``warn`` receives one line per stem that would have
    clipped. Returns the stems' paths, then the other files', then the manifest's.
    """
    by_source = separation.settings.n_sources is not None
    names = [safe_name(n) for n in separation.source_names] or stem_names(
        separation.groups, by_source=by_source
    )
    audio = separation.audio
    with StemSet(folder, file_format=file_format, subtype=subtype, protect=protect) as stems:
        for name, samples in zip(names, separation.stems()):
            stems.add(name, Audio(samples, audio.rate))
        for name, write in (files or {}).items():
            stems.add_file(name, write)
        entries = [
            {"file": f"{name}.{file_format}", "components": [k + 1 for k in group]}
            for name, group in zip(names, separation.groups)
        ]
        for entry, source in zip(entries, separation.source_names):
            entry["source"] = source
        written = stems.commit(
            manifest(audio, separation.settings, separation.losses, entries,
                     file_format=file_format, subtype=subtype, **(extra or {}))
        )
        for line in stems.warnings if warn else ():
            warn(line)
        return written
