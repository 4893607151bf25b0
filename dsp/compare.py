"""Why NMF, and which variant: factorizations side by side, scored against the truth.

Three kinds of question, all on one magnitude spectrogram V:

- how do methods of the same rank k differ? :func:`method_options` gives the
  :func:`dsp.nmf.make_solver` options of each nonnegative method,
  :func:`truncated_svd` is the unconstrained baseline (PCA without centring),
  and :func:`summarize` measures error, sparsity of H (Hoyer) and negativity;
- how good is a separation when the true sources are known?
  :func:`separate_demo` factors a demo mixture and scores it with
  :func:`dsp.scores.score_separation` (SDR per source);
- when can NMF not tell two harmonic sources apart?
  :func:`harmonic_overlaps` on the designer's :class:`~dsp.demo.ToneSpec`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import nmf
from .demo import DemoMixture, ToneSpec
from .scores import score_separation
from .stft import Spectrogram, analyse

__all__ = [
    "METHODS",
    "Overlap",
    "Summary",
    "DemoSeparation",
    "compare",
    "harmonic_overlaps",
    "hoyer_sparsity",
    "method_options",
    "negative_energy",
    "separate_demo",
    "summarize",
    "truncated_svd",
]

#: Method key → label, in the order a comparison shows them.
METHODS = {
    "pca": "PCA / truncated SVD",
    "kmeans": "k-means (one-hot NMF)",
    "nmf": "NMF (one layer)",
    "sparse": "Sparse NMF",
    "deep": "Deep NMF (two layers)",
}

#: L1 weight on H of the sparse method, relative to the mean magnitude so one
#: value means the same on loud and quiet recordings (as the session's smoothness).
SPARSITY = 0.5


def method_options(method: str, *, V: np.ndarray, n_components: int, loss: str = "kl",
                   seed: int = 0, sparsity: float = SPARSITY) -> dict:
    """Keyword arguments of :func:`dsp.nmf.make_solver` for a nonnegative method.

    ``'deep'`` factors V ≈ W₁ W₂ H with an inner rank of 2k (capped by the size
    of V), so its final rank k is that of the one-layer ``'nmf'``. ``'sparse'``
    puts ``sparsity`` × mean(V) as L1 weight on H.

    Raises
    ------
    ValueError
        For ``'pca'`` (not an NMF; see :func:`truncated_svd`) or an unknown method.
    """
    options = dict(loss=loss, seed=seed)
    if method == "kmeans":
        return options | {"algorithm": "kmeans"}
    if method == "nmf":
        return options | {"algorithm": "mu"}
    if method == "sparse":
        weight = sparsity * float(np.mean(V, dtype=np.float64))
        return options | {"algorithm": "mu", "sparsity": weight}
    if method == "deep":
        inner = min(2 * n_components, *V.shape)
        return options | {"algorithm": "deep", "layers": (inner,)}
    if method == "pca":
        raise ValueError("'pca' is not a nonnegative factorization: use truncated_svd()")
    raise ValueError(f"unknown method {method!r}; choose one of {tuple(METHODS)}")


def truncated_svd(V: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """The best rank-k approximation of V in the Frobenius norm, as W H.

    W = U √S and H = √S Vᵀ of the leading singular triplets. Each component's
    sign is chosen so its template sums to a positive value; whatever the sign,
    all but the first component must take negative values (they are orthogonal
    to it, and it is positive).

    Returns
    -------
    W : np.ndarray, float32, (m, k)
    H : np.ndarray, float32, (k, n)
    """
    V = nmf.base.check_data(V, n_components)
    U, S, Vt = np.linalg.svd(V.astype(np.float64), full_matrices=False)
    root = np.sqrt(S[:n_components])
    W = U[:, :n_components] * root
    H = root[:, None] * Vt[:n_components]
    signs = np.where(W.sum(axis=0) < 0, -1.0, 1.0)
    return (W * signs).astype(np.float32), (H * signs[:, None]).astype(np.float32)


def negative_energy(*factors: np.ndarray) -> float:
    """Share of the squared entries of the factors that sit in negative values, in [0, 1]."""
    total = sum(float(np.sum(np.square(X, dtype=np.float64))) for X in factors)
    negative = sum(float(np.sum(np.square(np.minimum(X, 0), dtype=np.float64))) for X in factors)
    return negative / total if total > 0 else 0.0


def hoyer_sparsity(H: np.ndarray) -> float:
    """Hoyer's sparsity of the columns of H, averaged over the non-silent frames.

    For a column x of length k: (√k − ‖x‖₁/‖x‖₂) / (√k − 1); 1 when one
    component explains the frame, 0 when all contribute equally. Signs are
    ignored. NaN for k = 1, where the measure is undefined.
    """
    X = np.abs(np.asarray(H, dtype=np.float64))
    k = X.shape[0]
    if k < 2:
        return float("nan")
    l2 = np.sqrt(np.sum(X * X, axis=0))
    live = l2 > 0
    if not live.any():
        return float("nan")
    ratio = X[:, live].sum(axis=0) / l2[live]
    return float(np.mean((np.sqrt(k) - ratio) / (np.sqrt(k) - 1)))


@dataclass(frozen=True)
class Summary:
    """What one method made of V.

    Attributes
    ----------
    method : str
        Key of :data:`METHODS`.
    W : np.ndarray, float32, (m, k)
    H : np.ndarray, float32, (k, n)
    relative_error : float
        ‖V − WH‖_F / ‖V‖_F, the one error every method can be held to.
    sparsity : float
        :func:`hoyer_sparsity` of H.
    negative_energy : float
        :func:`negative_energy` of W and H together.
    seconds : float
        Wall time of the factorization.
    losses : tuple of float
        The solver's loss after each iteration (empty for PCA).
    """

    method: str
    W: np.ndarray
    H: np.ndarray
    relative_error: float
    sparsity: float
    negative_energy: float
    seconds: float
    losses: tuple[float, ...] = ()

    @property
    def n_iter(self) -> int:
        """Iterations run (0 for PCA, which is solved in one go)."""
        return len(self.losses)


def summarize(method: str, V: np.ndarray, W: np.ndarray, H: np.ndarray, *, seconds: float,
              losses: Sequence[float] = ()) -> Summary:
    """Measure one factorization of V (see :class:`Summary`)."""
    V64 = np.asarray(V, dtype=np.float64)
    residual = V64 - np.asarray(W, np.float64) @ np.asarray(H, np.float64)
    norm = float(np.linalg.norm(V64)) or 1.0
    return Summary(method, W, H, float(np.linalg.norm(residual)) / norm, hoyer_sparsity(H),
                   negative_energy(W, H), float(seconds), tuple(losses))


def compare(V: np.ndarray, n_components: int, *, methods: Sequence[str] = tuple(METHODS),
            loss: str = "kl", iterations: int = 200, seed: int = 0) -> dict[str, Summary]:
    """Factor V with every method at rank k, one after the other (headless).

    The GUI runs the same options through its solver worker; this is the
    notebook and test path.
    """
    results = {}
    for method in methods:
        started = time.perf_counter()
        if method == "pca":
            W, H = truncated_svd(V, n_components)
            losses: list[float] = []
        else:
            solver = nmf.make_solver(V, n_components, **method_options(
                method, V=V, n_components=n_components, loss=loss, seed=seed))
            solver.step(iterations)
            W, H, losses = np.array(solver.W), np.array(solver.H), solver.losses
        results[method] = summarize(method, V, W, H, seconds=time.perf_counter() - started,
                                    losses=losses)
    return results


# -- a demo mixture separated and scored ---------------------------------------------------


@dataclass(frozen=True)
class DemoSeparation:
    """A demo mixture factorized and scored against its true stems.

    Attributes
    ----------
    demo : DemoMixture
    spectrogram : Spectrogram
    W, H : np.ndarray
    sdr : tuple of float
        SDR (dB) of each true source, in the demo's order.
    """

    demo: DemoMixture
    spectrogram: Spectrogram
    W: np.ndarray
    H: np.ndarray
    sdr: tuple[float, ...]


def separate_demo(demo: DemoMixture, *, n_components: int | None = None, loss: str = "kl",
                  iterations: int = 100, seed: int = 0, n_fft: int = 2048,
                  hop: int = 512) -> DemoSeparation:
    """Factor a demo mixture (default rank: one component per source) and score it."""
    spec = analyse(demo.mixture.samples, demo.mixture.rate, n_fft=n_fft, hop=hop)
    k = len(demo.stems) if n_components is None else n_components
    result = nmf.factorize(spec.magnitude(), k, loss=loss, max_iter=iterations, tol=0,
                           seed=seed)
    scores = score_separation(spec, result.W, result.H, [s.samples for s in demo.stems])
    return DemoSeparation(demo, spec, result.W, result.H, tuple(scores))


# -- when NMF cannot tell sources apart --------------------------------------------------------


@dataclass(frozen=True)
class Overlap:
    """Two sources whose partials coincide.

    Attributes
    ----------
    first, second : int
        Indices of the sources.
    shared : float
        Amplitude-weighted share of the partials of the quieter-spectrum
        source that coincide with partials of the other, in [0, 1].
    identical : bool
        The fundamentals are (nearly) the same.
    ratio : tuple of int
        The small-integer ratio of the fundamentals (second : first), e.g. (2, 1).
    """

    first: int
    second: int
    shared: float
    identical: bool
    ratio: tuple[int, int]


def _partials(spec: ToneSpec, nyquist: float) -> tuple[np.ndarray, np.ndarray]:
    h = np.arange(1, spec.n_harmonics + 1)
    keep = h * spec.f0 < nyquist
    return h[keep] * spec.f0, h[keep].astype(np.float64) ** -spec.rolloff


def harmonic_overlaps(sources: Sequence[ToneSpec], *, rate: float, n_fft: int = 2048,
                      threshold: float = 0.75) -> list[Overlap]:
    """Pairs of sources NMF has no spectral cue to separate.

    Two partials coincide when they are closer than two STFT bins (they then
    fall in the same main lobe) or 3 % apart. A pair is reported when the
    fundamentals coincide or at least ``threshold`` of one source's partial
    amplitude lies on partials of the other (an octave, a fifth…).
    """
    nyquist = rate / 2
    tolerance = 2 * rate / n_fft
    found = []
    for i in range(len(sources)):
        for j in range(i + 1, len(sources)):
            a, b = sources[i], sources[j]
            identical = abs(a.f0 - b.f0) < max(tolerance, 0.03 * min(a.f0, b.f0))
            shared = 0.0
            for one, other in ((a, b), (b, a)):
                freqs, amps = _partials(one, nyquist)
                others, _ = _partials(other, nyquist)
                if freqs.size == 0 or others.size == 0:
                    continue
                gaps = np.abs(freqs[:, None] - others[None, :]).min(axis=1)
                close = gaps < np.maximum(tolerance, 0.03 * freqs)
                shared = max(shared, float(amps[close].sum() / amps.sum()))
            if identical or shared >= threshold:
                found.append(Overlap(i, j, shared, identical, _ratio(b.f0 / a.f0)))
    return found


def _ratio(x: float) -> tuple[int, int]:
    best = min(((p, q) for q in range(1, 9) for p in range(1, 9)),
               key=lambda pq: abs(np.log(x * pq[1] / pq[0])))
    return best
