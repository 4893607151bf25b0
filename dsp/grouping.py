"""Assigning NMF components to sources automatically.

Three methods, chosen by measurement on ``bench/separation_quality.py``
(figures in ``docs/quality.md``):

- ``"pitch"`` (default): ``"timbre"``'s k-means on three cues a listener
  uses to follow a source: timbre (the MFCCs), register (the log pitch of
  the template, :func:`dsp.labels.estimate_pitch`) and envelope (the log
  transience of the activation, :func:`dsp.labels.transience`: a bowed note
  swells, a pluck decays, speech flickers syllable by syllable). A template
  without a pitch (noise, a hi-hat, a fricative) is placed by timbre and
  envelope alone: its register is a missing value, not a made-up one. With
  the multichannel model's channel gains a fourth cue joins them: where the
  component sits in the stereo image (:func:`stereo_position`), in its own
  units rather than standardised, so that components that all sit in the
  centre are not pulled apart by their small differences.
- ``"timbre"``: each template is described by its mel-frequency cepstrum
  (MFCC 1–13 of the log mel spectrum of W, as nussl's timbre clustering
  does), the coefficients are standardised over the components, and k-means
  weighted by each component's energy cuts them into sources. Weighting by
  energy keeps a quiet stray component from claiming a source of its own,
  the commonest failure of unweighted clustering.
- ``"affinity"``: the first method — the mean of the cosine similarity of
  log-compressed templates and of activations, cut by average linkage.

All are deterministic: k-means is seeded and restarted a fixed number of times.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import squareform

from .labels import estimate_pitch, transience

__all__ = [
    "GROUPING_METHODS",
    "group_components",
    "affinity",
    "source_cues",
    "stereo_position",
    "timbre_features",
    "mel_filters",
]

GROUPING_METHODS = ("pitch", "timbre", "affinity")
#: Weights of the cue blocks of ``"pitch"`` (each block standardised to unit
#: total variance first; "position" in units of :data:`POSITION_SCALE`);
#: measured on the corpus, see docs/quality.md.
CUE_WEIGHTS = {"timbre": 1.0, "register": 1.0, "envelope": 0.5, "position": 2.0}
#: A difference of stereo position that counts as much as one standard
#: deviation of the other cues (positions run from -1, left, to 1, right).
POSITION_SCALE = 0.25


def stereo_position(channel_gains: np.ndarray) -> np.ndarray:
    """Where each component sits, from its channel gains (channels, k): (k, channels - 1).

    For stereo the balance (q_R − q_L) / (q_R + q_L), −1 hard left to 1 hard
    right; for more channels the same against the first channel, one column
    per other channel.
    """
    Q = np.asarray(channel_gains, dtype=np.float64)
    return ((Q[1:] - Q[0]) / np.maximum(Q[1:] + Q[0], 1e-30)).T


def _unit_rows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def affinity(W: np.ndarray, H: np.ndarray, *, weight_activations: float = 0.5) -> np.ndarray:
    """Pairwise similarity of components in [-1, 1], shape (k, k).

    Parameters
    ----------
    W : np.ndarray, (m, k)
        Templates.
    H : np.ndarray, (k, n)
        Activations.
    weight_activations : float
        Share of the activation correlation in the affinity (the rest is
        template similarity).
    """
    spectral = _unit_rows(np.log1p(W.T / max(float(W.max()), 1e-30) * 1e3))
    temporal = _unit_rows(H)
    return (1 - weight_activations) * spectral @ spectral.T + weight_activations * (
        temporal @ temporal.T
    )


def mel_filters(n_bins: int, rate: float, *, n_mels: int = 40) -> np.ndarray:
    """Triangular mel filterbank (HTK mel scale), float64 (n_mels, n_bins).

    ``n_bins`` is the number of STFT bins, ``n_fft // 2 + 1``; the bins span
    0 Hz to ``rate / 2``.
    """
    freqs = np.linspace(0.0, rate / 2, n_bins)
    mel = 2595.0 * np.log10(1.0 + freqs / 700.0)
    edges = np.linspace(0.0, mel[-1], n_mels + 2)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (mel[None] - lower) / (centre - lower)
    falling = (upper - mel[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def timbre_features(W: np.ndarray, *, rate: float = 22_050, n_mfcc: int = 13) -> np.ndarray:
    """MFCC 1..n_mfcc of each template, standardised over components, float64 (k, n_mfcc).

    The log is offset 60 dB below the loudest band of all templates so that
    empty bands do not dominate the cepstrum.
    """
    W = np.asarray(W, dtype=np.float64)
    mel = mel_filters(W.shape[0], rate) @ W
    peak = max(float(mel.max()), 1e-30)
    log_mel = np.log(mel + peak * 1e-6)
    cepstrum = scipy.fft.dct(log_mel, axis=0, norm="ortho")[1 : n_mfcc + 1].T
    cepstrum = cepstrum - cepstrum.mean(axis=0)
    spread = cepstrum.std(axis=0)
    return cepstrum / np.where(spread > 1e-12, spread, 1.0)


def _standardised(x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Columns of ``x`` centred and scaled over their observed entries (others 0)."""
    out = np.zeros_like(x)
    for j in range(x.shape[1]):
        seen = observed[:, j]
        if seen.any():
            values = x[seen, j] - x[seen, j].mean()
            spread = values.std()
            out[seen, j] = values / (spread if spread > 1e-12 else 1.0)
    return out


def source_cues(
    W: np.ndarray,
    H: np.ndarray,
    *,
    rate: float,
    weights: dict | None = None,
    channel_gains: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Timbre, register, envelope (and stereo position) of each component, for ``"pitch"``.

    Parameters
    ----------
    W : np.ndarray, (m, k)
        Templates (STFT bins from 0 Hz to ``rate / 2``).
    H : np.ndarray, (k, n)
        Activations.
    rate : float
        Sample rate of the analysed audio, Hz.
    weights : dict, optional
        Weight of each block, keys ``'timbre'``, ``'register'``, ``'envelope'``,
        ``'position'``.
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gains: adds the stereo position.

    Returns
    -------
    cues : np.ndarray, float64, (k, n_mfcc + 2 [+ channels - 1])
        MFCC 1–13 of the template, log2 of its pitch, log of the activation's
        transience; every block standardised over the components, scaled to
        unit total variance and then by its weight in ``weights`` (default
        :data:`CUE_WEIGHTS`); then the stereo position over
        :data:`POSITION_SCALE`, times its weight.
    observed : np.ndarray, bool, like ``cues``
        False where a cue is missing: the register of a template without a pitch.
    """
    weights = CUE_WEIGHTS if weights is None else weights
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    k = W.shape[1]
    pitch = np.array([estimate_pitch(W[:, j], rate=rate) for j in range(k)])
    pitched = np.isfinite(pitch)
    register = np.log2(np.where(pitched, pitch, 1.0))[:, None]
    # The floor keeps a perfectly steady activation (transience 0) finite.
    envelope = np.log(np.array([transience(H[j]) for j in range(k)]) + 1e-4)[:, None]
    timbre = timbre_features(W, rate=rate)
    blocks = [
        ("timbre", timbre, np.ones(timbre.shape, dtype=bool)),
        ("register", register, pitched[:, None]),
        ("envelope", envelope, np.ones((k, 1), dtype=bool)),
    ]
    cues, observed = [], []
    for name, x, seen in blocks:
        x = _standardised(x, seen) / np.sqrt(x.shape[1]) * weights[name]
        cues.append(x)
        observed.append(seen)
    if channel_gains is not None:
        position = stereo_position(channel_gains)
        cues.append(position / POSITION_SCALE * weights["position"])
        observed.append(np.ones(position.shape, dtype=bool))
    return np.hstack(cues), np.hstack(observed)


def _weighted_kmeans(
    X: np.ndarray,
    weights: np.ndarray,
    n_clusters: int,
    *,
    observed: np.ndarray | None = None,
    n_init: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Labels of weighted k-means (k-means++ starts, Lloyd iterations, best of n_init).

    100 starts, not 10: with 12 components in 3 sources several partitions
    cost nearly the same, and 10 starts reached the cheapest (which also
    separated best) for some seeds only; 100 cost ~0.1 s at k = 40.

    ``observed`` (bool, like X) marks missing entries: distances are taken over
    a point's observed coordinates, scaled up to the full dimension, and
    centres average each coordinate over the members that have it.
    """
    rng = np.random.default_rng(seed)
    weights = weights / weights.sum()
    seen = np.ones(X.shape, dtype=bool) if observed is None else observed
    # Missing coordinates of a start take the weighted mean of those observed.
    fill = (weights @ (X * seen)) / np.maximum(weights @ seen, 1e-30)
    complete = np.where(seen, X, fill)
    scale = X.shape[1] / np.maximum(seen.sum(axis=1), 1)

    def distances(centres: np.ndarray) -> np.ndarray:
        return (((X[:, None] - centres[None]) ** 2) * seen[:, None]).sum(-1) * scale[:, None]

    def centre_of(members: np.ndarray, previous: np.ndarray) -> np.ndarray:
        mass = weights[members] @ seen[members]
        total = weights[members] @ (X[members] * seen[members])
        return np.where(mass > 0, total / np.maximum(mass, 1e-30), previous)

    best_labels, best_cost = None, np.inf
    for _ in range(n_init):
        centres = [complete[rng.choice(len(X), p=weights)]]
        for _ in range(1, n_clusters):
            d2 = np.min(distances(np.array(centres)), axis=1)
            p = weights * d2
            p = p / p.sum() if p.sum() > 0 else weights
            centres.append(complete[rng.choice(len(X), p=p)])
        centres = np.array(centres)
        for _ in range(100):
            labels = np.argmin(distances(centres), axis=1)
            new = centres.copy()
            for c in range(n_clusters):
                members = labels == c
                if members.any():
                    new[c] = centre_of(members, centres[c])
            if np.allclose(new, centres):
                break
            centres = new
        d2 = distances(centres)
        labels = np.argmin(d2, axis=1)
        if len(np.unique(labels)) < n_clusters:
            continue  # an empty cluster: not a partition into n_clusters sources
        cost = float(weights @ d2[np.arange(len(X)), labels])
        if cost < best_cost - 1e-12:
            best_labels, best_cost = labels, cost
    if best_labels is None:  # degenerate data (e.g. identical templates): split by energy rank
        best_labels = np.zeros(len(X), dtype=int)
        best_labels[np.argsort(-weights)[: n_clusters - 1]] = np.arange(1, n_clusters)
    return best_labels


def _affinity_labels(W: np.ndarray, H: np.ndarray, n_sources: int) -> np.ndarray:
    distance = np.clip(1.0 - affinity(W, H), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    return cut_tree(tree, n_clusters=n_sources).ravel()


def group_components(
    W: np.ndarray,
    H: np.ndarray,
    n_sources: int,
    *,
    method: str = "pitch",
    rate: float = 22_050,
    energy_weight: float = 1.0,
    seed: int = 0,
    channel_gains: np.ndarray | None = None,
    cue_weights: dict | None = None,
) -> list[list[int]]:
    """Partition the k components into ``n_sources`` groups.

    Parameters
    ----------
    W : np.ndarray, (m, k)
        Templates (``m = n_fft // 2 + 1`` STFT bins).
    H : np.ndarray, (k, n)
        Activations.
    n_sources : int
        Number of groups, 1..k.
    method : {'pitch', 'timbre', 'affinity'}
        Energy-weighted k-means on timbre, register and envelope, on template
        MFCCs only, or the average-linkage affinity of templates and
        activations (see the module docstring).
    rate : float
        Sample rate of the analysed audio, Hz (places the mel bands).
    energy_weight : float
        ``'pitch'`` and ``'timbre'`` weight each component by its energy to this power
        (0: every component counts the same).
    seed : int
        Seed of the k-means restarts.
    channel_gains : np.ndarray, (channels, k), optional
        The multichannel model's gains: ``'pitch'`` also groups by stereo position.
    cue_weights : dict, optional
        Weights of ``'pitch'``'s cue blocks (default :data:`CUE_WEIGHTS`).

    Returns
    -------
    list of list of int
        Component indices per source, every component exactly once, ordered
        by each group's first component.

    Raises
    ------
    ValueError
        If ``n_sources`` is not between 1 and k, or ``method`` is unknown.
    """
    k = W.shape[1]
    if not 1 <= n_sources <= k:
        raise ValueError(f"sources must be between 1 and the number of components ({k})")
    if method not in GROUPING_METHODS:
        raise ValueError(f"unknown grouping method {method!r}; choose one of {GROUPING_METHODS}")
    if n_sources == k:
        return [[j] for j in range(k)]
    if n_sources == 1:
        return [list(range(k))]
    if method == "affinity":
        labels = _affinity_labels(W, H, n_sources)
    else:
        W64 = np.asarray(W, dtype=np.float64)
        energy = W64.sum(axis=0) * np.asarray(H, dtype=np.float64).sum(axis=1)
        energy = np.maximum(energy, 1e-12 * max(float(energy.max()), 1e-30))
        weights = (energy / energy.max()) ** energy_weight
        if method == "timbre":
            labels = _weighted_kmeans(
                timbre_features(W64, rate=rate), weights, n_sources, seed=seed
            )
        else:
            cues, observed = source_cues(W64, H, rate=rate, weights=cue_weights,
                                         channel_gains=channel_gains)
            labels = _weighted_kmeans(cues, weights, n_sources, observed=observed, seed=seed)
    groups: dict[int, list[int]] = {}
    for j, label in enumerate(labels):
        groups.setdefault(int(label), []).append(j)
    return sorted(groups.values(), key=lambda g: g[0])
