"""Separation scores against reference stems."""

from __future__ import annotations

import numpy as np

__all__ = ["sdr", "si_sdr"]


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64).ravel()
    est = np.asarray(estimate, dtype=np.float64).ravel()
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate differ in shape: {ref.shape} vs {est.shape}")
    return ref, est


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: 10 log10(‖s‖² / ‖s − ŝ‖²).

    Every channel counts; a perfect estimate gives ``inf``.
    """
    ref, est = _pair(reference, estimate)
    error = float(np.sum((ref - est) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(float(np.sum(ref**2)) / error)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB: the estimate is first projected onto the reference."""
    ref, est = _pair(reference, estimate)
    scale = float(ref @ est) / max(float(ref @ ref), 1e-30)
    target = scale * ref
    return sdr(target, est) if np.any(target) else float("-inf")
