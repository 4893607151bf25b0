"""Scores, the oracle grouping and the baselines of the quality benchmark.

Signals here are float32 ``(frames, channels)`` as :func:`dsp.separation.separate`
renders them. BSS Eval (:func:`dsp.scores.bss_eval`) scores mono rows, so a
multichannel image is scored *flattened*: its channels concatenated in time,
channel after channel (:func:`flat`). The projections onto the references
then fit one 512-tap filter per reference shared by every channel, and the
filters may smear across the one junction between channels (512 samples out
of the ~10⁶ of a stereo case); a stereo estimate that is right in one channel
and wrong in the other loses as it should. For mono cases this is exactly
BSS Eval v3 of the signals. The oracle grouping works on the same flattened
signals.

Baselines (each a factorization of the same magnitude V with the same k,
rendered with ratio masks, power 1, through :func:`dsp.separation.separate`
and grouped by :func:`oracle_groups`):

- ``sklearn-kl``: ``sklearn.decomposition.NMF``, KL loss, multiplicative updates;
- ``sklearn-fro``: the same with the Frobenius loss;
- ``librosa``: :func:`librosa.decompose.decompose` (scikit-learn's coordinate descent);

and ``irm``, the ideal ratio mask of the true stems' magnitudes, per channel.
Their scores depend only on the case, the STFT and k, so :class:`ScoreCache`
keeps them on disk.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp.scores import bss_eval, match, match_estimates, sdr
from dsp.separation import separate
from dsp.stft import Spectrogram, stft

__all__ = [
    "BASELINES",
    "CACHE_VERSION",
    "Outcome",
    "ScoreCache",
    "component_signals",
    "flat",
    "grouped_outcome",
    "ideal_ratio_mask",
    "matched",
    "oracle_groups",
    "render_groups",
    "run_baseline",
    "score_table",
]

#: Bump when a baseline or the scoring changes: cached scores of another version are ignored.
CACHE_VERSION = 3
BASELINES = ("sklearn-kl", "sklearn-fro", "librosa", "irm")
_SKLEARN_ITERATIONS = 500


@dataclass(frozen=True)
class Outcome:
    """One method on one case: SDR, SIR, SAR per source (3, S) and wall time in seconds.

    The time covers the factorization and the rendering of the stems, not the
    oracle grouping's search or the scoring.
    """

    scores: np.ndarray
    seconds: float


# --------------------------------------------------------------------------- scoring


def flat(signal: np.ndarray) -> np.ndarray:
    """A (frames, channels) signal as one float64 row, channel after channel."""
    return np.asarray(signal, dtype=np.float64).T.ravel()


def score_table(refs: np.ndarray, ests: np.ndarray) -> np.ndarray:
    """SDR, SIR, SAR per source, shape (3, S), flattened rows (S, length) in matching order."""
    return np.array([[s.sdr, s.sir, s.sar] for s in bss_eval(list(refs), list(ests))]).T


def matched(refs: np.ndarray, ests: np.ndarray) -> np.ndarray:
    """Estimates reordered to match the references (:func:`dsp.scores.match_estimates`).

    A reference no estimate is matched to (fewer groups than sources) gets silence.
    """
    out = np.zeros_like(refs)
    for r, e in match_estimates(refs, ests):
        out[r] = ests[e]
    return out


def component_signals(
    spec: Spectrogram, W: np.ndarray, H: np.ndarray, power: float, channel_gains=None
) -> np.ndarray:
    """Every component's stem, flattened, float64 (k, frames × channels)."""
    k = W.shape[1]
    out = np.empty((k, spec.length * spec.channels))
    for j, stem in enumerate(separate(spec, W, H, power=power, channel_gains=channel_gains)):
        out[j] = flat(stem)
    return out


def oracle_groups(components: np.ndarray, refs: np.ndarray) -> list[list[int]]:
    """Assignment of component signals (k, length) to references (S, length).

    Start: each component to the source whose signal it correlates with most,
    every source first given its best component (:func:`dsp.scores.match`).
    Then move single components while the mean plain SDR rises. Component
    stems are additive (masks of groups are sums of component masks), so a
    group's stem is the sum of its components' signals. Rows are flattened
    multichannel signals (:func:`flat`) or mono ones alike.
    """
    k, n_src = len(components), len(refs)
    fit = components @ refs.T
    labels = np.argmax(fit, axis=1)
    # No source may be left empty: first give each source its best component.
    for j, s in match(fit):
        labels[j] = s
    sums = np.stack([components[labels == s].sum(axis=0) for s in range(n_src)])
    sdrs = np.array([sdr(refs[s], sums[s]) for s in range(n_src)])
    improved = True
    while improved:
        improved = False
        for j in range(k):
            a = labels[j]
            if np.sum(labels == a) == 1:
                continue
            for b in range(n_src):
                if b == a:
                    continue
                new_a = sdr(refs[a], sums[a] - components[j])
                new_b = sdr(refs[b], sums[b] + components[j])
                if new_a + new_b > sdrs[a] + sdrs[b] + 1e-6:
                    sums[a] -= components[j]
                    sums[b] += components[j]
                    sdrs[a], sdrs[b] = new_a, new_b
                    labels[j] = b
                    a = b
                    improved = True
    return [list(np.flatnonzero(labels == s)) for s in range(n_src)]


def render_groups(
    spec: Spectrogram, W: np.ndarray, H: np.ndarray, groups, power: float, channel_gains=None
) -> tuple[np.ndarray, float]:
    """The groups' stems by :func:`dsp.separation.separate`, flattened (S, length), and seconds."""
    start = time.perf_counter()
    stems = separate(spec, W, H, groups, power=power, channel_gains=channel_gains)
    ests = np.stack([flat(s) for s in stems])
    return ests, time.perf_counter() - start


def grouped_outcome(
    spec: Spectrogram, W: np.ndarray, H: np.ndarray, refs: np.ndarray, power: float, seconds: float
) -> Outcome:
    """Scores of factors W, H under the oracle grouping; ``seconds`` is the factorization's.

    The stems scored are the groups rendered by :func:`dsp.separation.separate`,
    whose time is added to ``seconds``.
    """
    groups = oracle_groups(component_signals(spec, W, H, power), refs)
    ests, rendered = render_groups(spec, W, H, groups, power)
    return Outcome(score_table(refs, ests), seconds + rendered)


# --------------------------------------------------------------------------- baselines


def _factor_sklearn(V: np.ndarray, k: int, loss: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import NMF

    model = NMF(n_components=k, beta_loss=loss, solver="mu", init="nndsvda",
                max_iter=_SKLEARN_ITERATIONS, random_state=0)
    W = model.fit_transform(V)
    return W, model.components_


def _factor_librosa(V: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    return librosa.decompose.decompose(V, n_components=k, sort=False, random_state=0)


def ideal_ratio_mask(spec: Spectrogram, stems: Sequence[np.ndarray]) -> np.ndarray:
    """The stems through the ratio mask of their magnitudes, per channel, flattened (S, length)."""
    mags = [np.abs(stft(s, n_fft=spec.n_fft, hop=spec.hop)) for s in stems]
    total = np.maximum(np.sum(mags, axis=0), 1e-12)
    return np.stack([flat(spec.invert(spec.data * (m / total))) for m in mags])


def run_baseline(method: str, spec: Spectrogram, stems: Sequence[np.ndarray], k: int) -> Outcome:
    """One of :data:`BASELINES` on the mixture's STFT ``spec`` with k components."""
    refs = np.stack([flat(s) for s in stems])
    start = time.perf_counter()
    if method == "irm":
        ests = ideal_ratio_mask(spec, stems)
        seconds = time.perf_counter() - start
        return Outcome(score_table(refs, ests), seconds)
    V = spec.magnitude()
    with warnings.catch_warnings():
        # Convergence warnings: the iteration budget is part of the baseline.
        warnings.simplefilter("ignore")
        if method == "sklearn-kl":
            W, H = _factor_sklearn(V, k, "kullback-leibler")
        elif method == "sklearn-fro":
            W, H = _factor_sklearn(V, k, "frobenius")
        elif method == "librosa":
            W, H = _factor_librosa(V, k)
        else:
            raise ValueError(f"unknown baseline {method!r}; expected one of {BASELINES}")
    W, H = W.astype(np.float32), H.astype(np.float32)
    return grouped_outcome(spec, W, H, refs, 1.0, time.perf_counter() - start)


# --------------------------------------------------------------------------- cache


class ScoreCache:
    """Baseline outcomes on disk, one JSON file per case, corpus, STFT and k.

    The key also holds a digest of the case's audio, so an edited corpus case
    is recomputed, and :data:`CACHE_VERSION`. ``folder=None`` caches nothing.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _path(self, corpus: str, case, spec: Spectrogram, k: int) -> Path:
        digest = hashlib.sha1(np.ascontiguousarray(case.mixture).tobytes())
        for stem in case.stems:
            digest.update(np.ascontiguousarray(stem).tobytes())
        name = (f"{case.name}-stft{spec.n_fft}.{spec.hop}-k{k}-v{CACHE_VERSION}"
                f"-{digest.hexdigest()[:12]}.json")
        return self.folder / corpus / name

    def get(self, corpus: str, case, spec: Spectrogram, k: int, method: str) -> Outcome | None:
        """The stored outcome of ``method``, or None."""
        if self.folder is None:
            return None
        path = self._path(corpus, case, spec, k)
        if not path.exists():
            return None
        entry = json.loads(path.read_text()).get(method)
        if entry is None:
            return None
        return Outcome(np.array(entry["scores"], dtype=np.float64), entry["seconds"])

    def put(self, corpus: str, case, spec: Spectrogram, k: int, method: str,
            outcome: Outcome) -> None:
        """Store ``outcome`` beside the case's other methods."""
        if self.folder is None:
            return
        path = self._path(corpus, case, spec, k)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = json.loads(path.read_text()) if path.exists() else {}
        # JSON has no inf: BSS Eval gives +inf for a perfect estimate.
        scores = np.nan_to_num(outcome.scores, posinf=1e9, neginf=-1e9)
        entries[method] = {"scores": scores.tolist(), "seconds": outcome.seconds}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.replace(path)
