"""dsp.compare: methods side by side, scores against known sources, harmonic overlaps."""

from dataclasses import replace

import numpy as np
import pytest

from dsp import nmf
from dsp.compare import (
    METHODS,
    compare,
    harmonic_overlaps,
    hoyer_sparsity,
    method_options,
    negative_energy,
    separate_demo,
    truncated_svd,
)
from dsp.demo import ToneSpec, make_demo


def nonnegative(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((30, 4)) @ rng.random((4, 50)) + 0.05 * rng.random((30, 50))).astype(
        np.float32
    )


def test_pca_of_nonnegative_data_has_negative_entries_and_no_nmf_variant_does():
    results = compare(nonnegative(), 4, iterations=30)
    assert set(results) == set(METHODS)
    pca = results["pca"]
    assert pca.W.min() < 0 or pca.H.min() < 0
    assert 0 < pca.negative_energy < 1
    for method in set(METHODS) - {"pca"}:
        summary = results[method]
        assert summary.W.min() >= 0 and summary.H.min() >= 0, method
        assert summary.negative_energy == 0.0, method
        assert summary.n_iter == 30, method


def test_pca_is_the_best_rank_k_fit_in_frobenius_norm():
    results = compare(nonnegative(), 3, iterations=50)
    assert all(results["pca"].relative_error <= s.relative_error + 1e-6 for s in results.values())


def test_kmeans_has_exactly_one_nonzero_per_column_and_full_hoyer_sparsity():
    summary = compare(nonnegative(1), 4, methods=["kmeans"], iterations=10)["kmeans"]
    assert np.all(np.count_nonzero(summary.H, axis=0) == 1)
    assert summary.sparsity == pytest.approx(1.0)


def test_sparse_nmf_has_sparser_activations_than_plain_nmf():
    V = nonnegative(2)
    results = compare(V, 4, methods=["nmf", "sparse"], iterations=100)
    assert results["sparse"].sparsity > results["nmf"].sparsity


def test_deep_nmf_has_the_rank_of_one_layer_and_two_factors():
    V = nonnegative()
    options = method_options("deep", V=V, n_components=3)
    solver = nmf.make_solver(V, 3, **options)
    assert [layer.shape for layer in solver.layers] == [(30, 6), (6, 3)]
    assert solver.W.shape == (30, 3)
    with pytest.raises(ValueError, match="truncated_svd"):
        method_options("pca", V=V, n_components=3)


def test_truncated_svd_reconstructs_at_full_rank():
    V = nonnegative()
    W, H = truncated_svd(V, 30)
    np.testing.assert_allclose(W @ H, V, atol=1e-4)
    assert W.sum(axis=0).min() > 0  # the sign convention


def test_hoyer_and_negative_energy_on_known_values():
    assert hoyer_sparsity(np.eye(3)) == pytest.approx(1.0)
    assert hoyer_sparsity(np.ones((4, 5))) == pytest.approx(0.0)
    assert np.isnan(hoyer_sparsity(np.ones((1, 5))))
    assert negative_energy(np.array([[3.0, -4.0]])) == pytest.approx(16 / 25)


BASE = ToneSpec("a", 220.0, n_harmonics=8, rolloff=1.0, period=1.0, duty=0.5)
OTHER = ToneSpec("b", 330.0, n_harmonics=8, rolloff=0.6, period=0.75, duty=0.5, onset=0.3)


def test_identical_fundamentals_separate_worse_than_distinct_ones():
    apart = separate_demo(make_demo((BASE, OTHER), duration=2.0), iterations=60)
    same = separate_demo(make_demo((BASE, replace(OTHER, f0=220.0)), duration=2.0), iterations=60)
    assert max(same.sdr) < min(apart.sdr)
    assert min(apart.sdr) > 10  # distinct pitches and rhythms: clearly separated


def test_overlaps_flag_unisons_and_octaves_inside_the_lower_spectrum_not_fifths():
    assert harmonic_overlaps((BASE, OTHER), rate=22_050) == []
    unison = harmonic_overlaps((BASE, replace(OTHER, f0=221.0)), rate=22_050)
    assert len(unison) == 1 and unison[0].identical
    octave = harmonic_overlaps((BASE, replace(OTHER, f0=440.0, n_harmonics=4)), rate=22_050)
    assert len(octave) == 1 and not octave[0].identical and octave[0].ratio == (2, 1)
    assert octave[0].shared > 0.75
