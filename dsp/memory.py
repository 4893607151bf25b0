"""How much memory a separation needs, how much there is, and the line refusing a run.

A separation's peak is the factorization: the samples, the cached mean
magnitude V, the solver's data (every channel's magnitude for the
multichannel model, else V itself) and the solver's own copies of it (the
fused passes keep V block by block; Itakura–Saito keeps V + ε, W H and a
ratio). Stems are rendered afterwards in passes (:mod:`dsp.separation`), one
stem's samples at a time, which costs less. Everything is linear in the
length of the audio and does not depend on the number of components.
:func:`separation_need` is checked against :func:`available` before anything
is computed, by the CLI and by the GUI (on loading and on Run), so a run that
cannot finish says so in one line instead of dying half-way.
"""

from __future__ import annotations

from .stft import frame_count

__all__ = ["BASE", "GB", "available", "refusal", "separation_need"]

#: Bytes of the process before any audio: Python, numpy, scipy, numba's
#: compiled kernels and their threads (the measured peaks by length extended
#: to zero length, 0.22 GB; docs/performance.md).
BASE = 250_000_000
GB = 1e9


def separation_need(channels: int, length: int, settings) -> int:
    """Peak bytes a separation of ``length`` samples of ``channels`` channels needs.

    Parameters
    ----------
    channels, length : int
        The audio's channel count and length in samples.
    settings : dsp.pipeline.Settings
        The STFT, model and loss of the separation.

    Returns
    -------
    int
        An estimate of the peak resident size, on the safe side: it counts the
        NNDSVD start on the whole mean magnitude, which the comb start (the
        default) makes on at most 2048 frames of it; the measured peaks of
        ``bench/memory_by_length.py`` are 75–100 % of it (docs/performance.md).
    """
    frames = frame_count(length, settings.hop)
    cells = (settings.n_fft // 2 + 1) * frames
    samples = 4 * channels * length
    magnitude = 4 * cells
    # The multichannel model fits every channel's magnitude, a new array; the
    # others fit the mean itself.
    data = 4 * cells * channels if settings.is_spatial(channels) else 0
    fitted = data or magnitude
    # The solver's copies of what it fits: the passes' blocked copy, or IS's three.
    copies = (3 if settings.loss == "is" else 1) * fitted
    # Before them, the start from the mean: V in float64 and the randomized
    # SVD's sketches (frames x (k + 10), three at once; they dominate for very
    # short hops).
    sketch = 3 * 8 * frames * min(settings.n_components + 10, settings.n_fft // 2 + 1)
    start = data + magnitude + 2 * magnitude + sketch
    solve = samples + max(fitted + copies, start)
    # Rendering: one stem, and the peak check's temporary of the same size.
    render = samples + magnitude + 2 * samples
    return int(BASE + max(solve, render))


def available() -> int | None:
    """Bytes this process may still take: free memory, and the address-space limit if lower.

    None when the platform does not say.
    """
    import resource  # POSIX only

    free = _proc_bytes("/proc/meminfo", "MemAvailable:")
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit != resource.RLIM_INFINITY:
        used = _proc_bytes("/proc/self/status", "VmSize:") or 0
        free = limit - used if free is None else min(free, limit - used)
    return free


def _proc_bytes(path: str, key: str) -> int | None:
    """The figure of the line starting with ``key`` in a /proc file (given in kB), in bytes.

    None when the file or the line is not there (not Linux) or cannot be read.
    """
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def refusal(channels: int, length: int, settings, *, hint: str, held: int = 0) -> str | None:
    """The one line refusing a separation the memory cannot hold; None when it fits.

    ``hint`` ends the line with what the user can change (the CLI names its
    options); ``held`` is what of the need the process holds already (the
    GUI's samples and magnitude when Run is pressed).
    """
    need = separation_need(channels, length, settings)
    free = available()
    if free is None or need - held <= free:
        return None
    bins, frames = settings.n_fft // 2 + 1, frame_count(length, settings.hop)
    return (f"needs about {need / GB:.1f} GB of memory ({frames} STFT frames x {bins} bins x "
            f"{channels} channels), {max(free, 0) / GB:.1f} GB is available; {hint}")
