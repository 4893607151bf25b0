"""dsp.scores: the metrics (BSS Eval agrees with mir_eval) and the one matching rule."""

import numpy as np
import pytest

from dsp import nmf
from dsp.demo import make_demo
from dsp.scores import (
    assign_components,
    bss_eval,
    match,
    match_estimates,
    score_separation,
    sdr,
    si_sdr,
)
from dsp.stft import analyse


def test_sdr_is_infinite_for_a_perfect_estimate_and_si_sdr_ignores_gain():
    rng = np.random.default_rng(2)
    reference = rng.standard_normal((1000, 2))
    noisy = reference + 0.1 * rng.standard_normal((1000, 2))
    assert sdr(reference, reference) == np.inf
    assert sdr(reference, noisy) == pytest.approx(20, abs=0.5)
    assert si_sdr(reference, 3 * noisy) == pytest.approx(si_sdr(reference, noisy))
    assert sdr(reference, 3 * noisy) < 0 < si_sdr(reference, 3 * noisy)
    assert si_sdr(reference, np.zeros_like(reference)) == -np.inf


def test_scores_match_mir_eval():
    mir_eval = pytest.importorskip("mir_eval")
    rng = np.random.default_rng(0)
    refs = rng.standard_normal((3, 4000))
    estimates = np.stack([
        refs[0] + 0.3 * refs[1] + 0.1 * rng.standard_normal(4000),
        np.convolve(refs[1], [1.0, 0.5, 0.2], mode="same") + 0.2 * refs[2],
        0.5 * refs.sum(axis=0),
    ])
    ours = bss_eval(list(refs), list(estimates), filter_length=64)
    sdr, sir, sar = [], [], []
    for j in range(3):
        parts = mir_eval.separation._bss_decomp_mtifilt(refs, estimates[j], j, 64)
        scores = mir_eval.separation._bss_source_crit(*parts)
        sdr.append(scores[0])
        sir.append(scores[1])
        sar.append(scores[2])
    np.testing.assert_allclose([s.sdr for s in ours], sdr, atol=1e-6)
    np.testing.assert_allclose([s.sir for s in ours], sir, atol=1e-6)
    # The third estimate is exactly a mix of references: its SAR is rounding noise above 250 dB.
    np.testing.assert_allclose([s.sar for s in ours][:2], sar[:2], atol=1e-6)
    assert ours[2].sar > 250 and sar[2] > 250


def test_a_perfect_estimate_scores_far_above_a_swapped_one():
    rng = np.random.default_rng(1)
    refs = list(rng.standard_normal((2, 2000)))
    good = bss_eval(refs, refs, filter_length=16)
    swapped = bss_eval(refs, refs[::-1], filter_length=16)
    assert min(s.sdr for s in good) > 100 and max(s.sdr for s in swapped) < 0


def test_matching_pairs_each_estimate_with_its_best_reference():
    assert match(np.array([[0.0, 9.0], [8.0, 1.0], [3.0, 2.0]])) == [(0, 1), (1, 0)]


def test_matching_maximises_the_total_score_where_greedy_pairing_would_not():
    # Greedy takes the best pair (0, 0) = 10 first and is left with (1, 1) = 0;
    # the optimum gives up that pair for 9 + 9.
    scores = np.array([[10.0, 9.0], [9.0, 0.0]])
    assert match(scores) == [(0, 1), (1, 0)]


def test_matching_treats_nan_and_infinities_as_scores_beyond_any_real_one():
    assert match(np.array([[np.nan, 0.0], [np.inf, -np.inf]])) == [(0, 1), (1, 0)]


def test_estimates_in_permuted_order_at_other_gains_are_matched_back():
    rng = np.random.default_rng(3)
    references = list(rng.standard_normal((4, 3000)))
    order = [2, 0, 3, 1]
    gains = [0.1, 5.0, 1.0, 0.5]  # a gain error must not move the pairing
    estimates = [g * (references[j] + 0.4 * references[(j + 1) % 4])
                 for g, j in zip(gains, order)]
    assert match_estimates(references, estimates) == [(j, order.index(j)) for j in range(4)]
    # More estimates than references: each reference still gets its own.
    pairs = match_estimates(references[:2], estimates)
    assert pairs == [(0, order.index(0)), (1, order.index(1))]


def test_oracle_grouping_gives_every_source_a_component_and_scores_each_source():
    demo = make_demo(duration=2.0)
    spec = analyse(demo.mixture.samples, demo.mixture.rate)
    result = nmf.factorize(spec.magnitude(), 5, loss="kl", max_iter=60, tol=0, seed=0)
    references = [s.samples for s in demo.stems]
    groups = assign_components(spec, result.W, result.H, references)
    assert all(groups) and sorted(k for g in groups for k in g) == list(range(5))
    scores = score_separation(spec, result.W, result.H, references)
    assert len(scores) == 3 and min(scores) > 5.0
