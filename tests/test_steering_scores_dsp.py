"""dsp.bss: BSS Eval scores agree with mir_eval's reference implementation."""

import numpy as np
import pytest

from dsp.bss import bss_eval, match_sources


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
    assert match_sources(np.array([[0.0, 9.0], [8.0, 1.0], [3.0, 2.0]])) == [1, 0, -1]
