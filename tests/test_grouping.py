"""dsp.grouping: components that belong together end up in one source."""

import numpy as np
import pytest

from dsp.grouping import group_components


def two_source_factors(rng):
    """Four components: two per source, sharing spectra and activity within a source."""
    m, n = 60, 200
    shape_a = np.exp(-0.5 * ((np.arange(m) - 10) / 3) ** 2)
    shape_b = np.exp(-0.5 * ((np.arange(m) - 45) / 3) ** 2)
    act_a = (np.arange(n) % 40 < 20).astype(float)
    act_b = 1 - act_a
    W = np.stack([shape_a, shape_b, shape_a * 1.1, shape_b * 0.9], 1)
    H = np.stack([act_a, act_b, act_a * 0.5, act_b * 2]) + 0.01 * rng.random((4, n))
    return W.astype(np.float32), H.astype(np.float32)


def test_components_of_one_source_are_grouped_together():
    W, H = two_source_factors(np.random.default_rng(0))
    groups = group_components(W, H, 2)
    assert sorted(map(sorted, groups)) == [[0, 2], [1, 3]]


@pytest.mark.parametrize("n_sources", [1, 2, 3, 4])
def test_every_component_lands_in_exactly_one_of_n_sources(n_sources):
    W, H = two_source_factors(np.random.default_rng(1))
    groups = group_components(W, H, n_sources)
    assert len(groups) == n_sources
    assert sorted(k for g in groups for k in g) == [0, 1, 2, 3]


@pytest.mark.parametrize("n_sources", [0, 5])
def test_impossible_source_count_is_refused(n_sources):
    W, H = two_source_factors(np.random.default_rng(2))
    with pytest.raises(ValueError, match="between 1 and the number of components"):
        group_components(W, H, n_sources)
