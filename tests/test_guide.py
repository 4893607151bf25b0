"""Paint that guides a separation: the guide's checks, the steered solver and the steered masks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp import nmf
from dsp.demo import make_demo
from dsp.guide import (
    GuideError,
    Steering,
    check_paint,
    load_guide,
    order_groups,
    source_weights,
)
from dsp.nmf.guided import GuidedSolver, SpatialGuidedSolver
from dsp.nmf.spatial import GAIN_STEP_EVERY
from dsp.pipeline import Settings, separate_audio
from dsp.separation import SoftMask, group_gains
from dsp.stft import stft

SETTINGS = settings(max_examples=25, deadline=None)


def exact_guided_loss(V, W, H, weights, sources) -> float:
    """G = Σ V log(V / Z) − V + W H in float64, Z = Σ_s A_s ∘ W_s H_s."""
    V, W, H, weights = (np.asarray(x, np.float64) for x in (V, W, H, weights))
    Z = sum(weights[s] * (W[:, sources == s] @ H[sources == s]) for s in range(len(weights)))
    positive = V > 0
    return float(np.sum(V[positive] * np.log(V[positive] / Z[positive])) - V.sum() + (W @ H).sum())


def assert_reports_and_descends(solver, V, weights, sources, first: float, steps: int) -> None:
    """Each step reports the exact G of its factors, and G never rises from ``first``."""
    exact = [first]
    for _ in range(steps):
        reported = solver.step()
        exact.append(exact_guided_loss(V, solver.W, solver.H, weights, sources))
        assert reported == pytest.approx(exact[-1], rel=1e-3, abs=1e-3)
    rises = np.diff(exact)
    assert np.all(rises <= 1e-5 * abs(exact[0]) + 1e-4), rises.max()


@st.composite
def painted_problems(draw):
    """V, starting W and H, paint for 2–3 sources and every component's source."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    m, n = draw(st.integers(3, 24)), draw(st.integers(3, 40))
    n_sources = draw(st.integers(2, 3))
    k = draw(st.integers(n_sources, 6))
    V = rng.gamma(draw(st.sampled_from([0.3, 1.0, 3.0])), size=(m, n)).astype(np.float32)
    if draw(st.booleans()):
        V[:, rng.integers(n)] = 0.0
    W = (rng.random((m, k)) + 0.05).astype(np.float32)
    H = (rng.random((k, n)) + 0.05).astype(np.float32)
    paint = np.zeros((n_sources, m, n), np.float32)
    for s in range(n_sources):
        cells = rng.random((m, n)) < draw(st.sampled_from([0.0, 0.1, 0.5]))
        paint[s][cells] = rng.random(cells.sum())
    sources = np.concatenate([np.arange(n_sources), rng.integers(0, n_sources, k - n_sources)])
    strength = draw(st.sampled_from([0.5, 5.0, 50.0]))
    return V, W, H, paint, sources, strength


@SETTINGS
@given(problem=painted_problems())
def test_the_steered_loss_never_increases_for_fixed_paint(problem):
    V, W, H, paint, sources, strength = problem
    weights = source_weights(paint, strength)
    solver = GuidedSolver(V, W, H, weights, sources)
    first = exact_guided_loss(V, solver.W, solver.H, weights, sources)
    assert_reports_and_descends(solver, V, weights, sources, first, 20)


def test_without_paint_the_steered_updates_are_lee_and_seungs_kl_updates():
    rng = np.random.default_rng(3)
    V = (rng.random((30, 4)) @ rng.random((4, 50)) + 0.05).astype(np.float32)
    W = rng.random((30, 4)).astype(np.float32) + 0.1
    H = rng.random((4, 50)).astype(np.float32) + 0.1
    paint = np.zeros((2, 30, 50), np.float32)
    guided = nmf.make_solver(V, 4, W=W, H=H, source_weights=source_weights(paint),
                             component_sources=np.array([0, 1, 0, 1]))
    assert isinstance(guided, GuidedSolver)
    guided.step(30)
    W64, H64, V64 = W.astype(np.float64), H.astype(np.float64), V.astype(np.float64)
    for _ in range(30):  # H, then W: the textbook KL multiplicative updates in float64
        H64 *= W64.T @ (V64 / (W64 @ H64)) / W64.sum(axis=0)[:, None]
        W64 *= (V64 / (W64 @ H64)) @ H64.T / H64.sum(axis=1)[None]
    np.testing.assert_allclose(guided.W, W64, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(guided.H, H64, rtol=1e-3, atol=1e-6)
    exact_kl = nmf.beta_divergence(V64, W64 @ H64, 1.0)
    assert guided.losses[-1] == pytest.approx(exact_kl, rel=1e-4)


def test_locked_factors_stay_bit_identical_under_paint():
    rng = np.random.default_rng(4)
    V = rng.random((20, 30)).astype(np.float32)
    W = rng.random((20, 3)).astype(np.float32) + 0.1
    H = rng.random((3, 30)).astype(np.float32) + 0.1
    paint = np.zeros((2, 20, 30), np.float32)
    paint[0, :, :10] = 1.0
    solver = GuidedSolver(V, W, H, source_weights(paint), np.array([0, 1, 1]),
                          lock_W=[0], lock_H=[2])
    solver.step(10)
    assert np.array_equal(solver.W[:, 0], W[:, 0])
    assert np.array_equal(solver.H[2], H[2])
    assert not np.array_equal(solver.W[:, 1], W[:, 1])


def two_tones(frames=60):
    """V of two spectral lines that sound in alternate halves, and each line's bins."""
    V = np.full((16, frames), 1e-3, np.float32)
    V[3, : frames // 2] = 1.0
    V[10, frames // 2:] = 1.0
    return V


def test_paint_pushes_a_painted_region_to_its_source():
    V = two_tones()
    rng = np.random.default_rng(0)
    W = rng.random((16, 2)).astype(np.float32) + 0.1
    H = rng.random((2, 60)).astype(np.float32) + 0.1
    paint = np.zeros((2, 16, 60), np.float32)
    paint[0, 3, :10] = 1.0  # "the low line is source 0"
    paint[1, 10, -10:] = 1.0  # "the high line is source 1"
    solver = GuidedSolver(V, W, H, source_weights(paint, 5.0), np.array([0, 1]))
    solver.step(200)
    share = solver.W[:, 0, None] * solver.H[0] / np.maximum(solver.reconstruction(), 1e-12)
    # The whole low line, painted in only a sixth of its frames, belongs to source 0.
    assert share[3, : 30].min() > 0.9
    assert share[10, 30:].max() < 0.1


def test_the_solver_refuses_weights_that_do_not_fit():
    V = two_tones()
    W, H = np.ones((16, 2), np.float32), np.ones((2, 60), np.float32)
    with pytest.raises(ValueError, match="do not fit"):
        GuidedSolver(V, W, H, np.ones((2, 16, 59), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="one of the 2 sources"):
        GuidedSolver(V, W, H, np.ones((2, 16, 60), np.float32), np.array([0, 2]))


@SETTINGS
@given(problem=painted_problems(), seed=st.integers(0, 2**31 - 1))
def test_after_steering_by_new_paint_the_loss_never_increases_again(problem, seed):
    V, W, H, paint, sources, strength = problem
    solver = GuidedSolver(V, W, H, source_weights(paint, strength), sources)
    solver.step(5)
    rng = np.random.default_rng(seed)
    # New strokes, one source to a cell (a brush paints one source; where every source's
    # weight underflows float32 the solver floors Z and no longer matches the exact G).
    n_sources, m, n = paint.shape
    new_paint = np.zeros_like(paint)
    painted = rng.random((m, n)) < 0.3
    rows, columns = np.nonzero(painted)
    new_paint[rng.integers(0, n_sources, rows.size), rows, columns] = rng.random(rows.size)
    new_sources = rng.permutation(sources)  # components moved between sources too
    new_weights = source_weights(new_paint, strength)
    factors = solver.W.copy(), solver.H.copy()
    solver.steer(new_weights, new_sources)
    assert np.array_equal(solver.W, factors[0]) and solver.n_iter == 5  # not before the step
    first = exact_guided_loss(V, *factors, new_weights, new_sources)
    assert_reports_and_descends(solver, V, new_weights, new_sources, first, 15)
    assert solver.n_iter == 20


def test_steering_to_no_paint_continues_as_kl_multiplicative_updates():
    rng = np.random.default_rng(5)
    V = (rng.random((20, 3)) @ rng.random((3, 40)) + 0.05).astype(np.float32)
    W = rng.random((20, 3)).astype(np.float32) + 0.1
    H = rng.random((3, 40)).astype(np.float32) + 0.1
    paint = np.zeros((2, 20, 40), np.float32)
    paint[0, :5] = 1.0
    solver = GuidedSolver(V, W, H, source_weights(paint), np.array([0, 1, 1]))
    solver.step(3)
    W64, H64, V64 = (np.array(x, np.float64) for x in (solver.W, solver.H, V))
    solver.steer(None)
    solver.step(10)
    for _ in range(10):  # H, then W: the textbook KL multiplicative updates in float64
        H64 *= W64.T @ (V64 / (W64 @ H64)) / W64.sum(axis=0)[:, None]
        W64 *= (V64 / (W64 @ H64)) @ H64.T / H64.sum(axis=1)[None]
    np.testing.assert_allclose(solver.W, W64, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(solver.H, H64, rtol=1e-3, atol=1e-6)
    assert solver.losses[-1] == pytest.approx(nmf.beta_divergence(V64, W64 @ H64, 1.0), rel=1e-4)


def test_the_newest_steering_before_an_iteration_is_the_one_it_takes():
    V = two_tones()
    rng = np.random.default_rng(6)
    W = rng.random((16, 2)).astype(np.float32) + 0.1
    H = rng.random((2, 60)).astype(np.float32) + 0.1
    paint = np.zeros((2, 16, 60), np.float32)
    paint[0, 3, :10] = 1.0
    steered = GuidedSolver(V, W, H, np.ones((2, 16, 60), np.float32), np.array([0, 1]))
    steered.steer(source_weights(paint[::-1].copy()), np.array([1, 0]))
    steered.steer(source_weights(paint), np.array([0, 1]))
    direct = GuidedSolver(V, W, H, source_weights(paint), np.array([0, 1]))
    steered.step(4)
    direct.step(4)
    np.testing.assert_array_equal(steered.W, direct.W)
    np.testing.assert_array_equal(steered.H, direct.H)


def test_steering_refuses_weights_that_do_not_fit_and_keeps_the_paint_it_has():
    V = two_tones()
    W, H = np.ones((16, 2), np.float32), np.ones((2, 60), np.float32)
    weights = source_weights(np.zeros((2, 16, 60), np.float32))
    solver = GuidedSolver(V, W, H, weights, np.array([0, 1]))
    reference = GuidedSolver(V, W, H, weights, np.array([0, 1]))
    with pytest.raises(ValueError, match="do not fit"):
        solver.steer(np.ones((2, 16, 59), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="one of the 2 sources"):
        solver.steer(np.ones((2, 16, 60), np.float32), np.array([0, 2]))
    assert solver.step(3) == reference.step(3)


# ---- the multichannel model -------------------------------------------------------


def exact_spatial_guided_loss(V, W, H, gains, weights, sources) -> float:
    """G summed over the channels: channel c's model is W diag(q_c) H."""
    return sum(exact_guided_loss(V[c], W * gains[c], H, weights, sources) for c in range(len(V)))


@SETTINGS
@given(problem=painted_problems(), channels=st.integers(2, 3), seed=st.integers(0, 2**31 - 1))
def test_the_stereo_steered_loss_never_increases_and_the_gains_stay_centred(problem, channels,
                                                                           seed):
    V, W, H, paint, sources, strength = problem
    rng = np.random.default_rng(seed)
    # Every channel its own level of every cell, as a panned mix gives.
    V = V[None] * rng.uniform(0.2, 1.8, (channels, *V.shape)).astype(np.float32)
    gains = (rng.random((channels, W.shape[1])) + 0.2).astype(np.float32)
    weights = source_weights(paint, strength)
    solver = SpatialGuidedSolver(V, W, H, weights, sources, channel_gains=gains)
    exact = [exact_spatial_guided_loss(V, W, H, gains, weights, sources)]
    for _ in range(4 * GAIN_STEP_EVERY):
        reported = solver.step()
        exact.append(exact_spatial_guided_loss(V, solver.W, solver.H, solver.channel_gains,
                                               weights, sources))
        assert reported == pytest.approx(exact[-1], rel=1e-3, abs=1e-3)
    assert np.all(np.diff(exact) <= 1e-5 * abs(exact[0]) + 1e-4), np.diff(exact).max()
    np.testing.assert_allclose(solver.channel_gains.mean(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(solver.reconstruction(), solver.W @ solver.H, rtol=1e-6)


def test_without_paint_the_stereo_steered_updates_are_the_multichannel_models():
    rng = np.random.default_rng(8)
    V = rng.random((2, 24, 40)).astype(np.float32) + 0.05
    W = rng.random((24, 3)).astype(np.float32) + 0.1
    H = rng.random((3, 40)).astype(np.float32) + 0.1
    gains = np.array([[0.4, 1.0, 1.7], [1.6, 1.0, 0.3]], np.float32)
    guided = nmf.make_solver(V, 3, W=W, H=H, channel_gains=gains,
                             source_weights=np.ones((2, 24, 40), np.float32),
                             component_sources=np.array([0, 1, 1]))
    assert isinstance(guided, SpatialGuidedSolver)
    plain = nmf.make_solver(V, 3, W=W, H=H, channel_gains=gains)
    steps = 3 * GAIN_STEP_EVERY
    guided.step(steps)
    plain.step(steps)
    # Both run H, W, H, W, H, Q, …: the templates and gains after the last W or Q
    # half-step are the same (the blind solver has done one more H step).
    np.testing.assert_allclose(guided.W, plain.W, rtol=1e-4)
    np.testing.assert_allclose(guided.channel_gains, plain.channel_gains, rtol=1e-4)
    assert not np.allclose(guided.channel_gains, gains)


def test_stereo_paint_keeps_locked_templates_and_moves_their_gains():
    rng = np.random.default_rng(9)
    V = rng.random((2, 20, 30)).astype(np.float32) + 0.05
    W = rng.random((20, 3)).astype(np.float32) + 0.1
    H = rng.random((3, 30)).astype(np.float32) + 0.1
    paint = np.zeros((2, 20, 30), np.float32)
    paint[0, :, :10] = 1.0
    solver = nmf.make_solver(V, 3, W=W, H=H, source_weights=source_weights(paint),
                             component_sources=np.array([0, 1, 1]), lock_W=[0], lock_H=[2])
    solver.step(2 * GAIN_STEP_EVERY)
    assert np.array_equal(solver.W[:, 0], W[:, 0])
    assert np.array_equal(solver.H[2], H[2])
    assert not np.allclose(solver.channel_gains[:, 0], 1.0)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), channels=st.integers(1, 3))
def test_stacked_cell_weights_are_the_weights_of_every_stacked_copy_of_the_grid(seed, channels):
    rng = np.random.default_rng(seed)
    paint = np.where(rng.random((2, 7, 9)) < 0.3, rng.random((2, 7, 9)), 0.0).astype(np.float32)
    cells = Steering.of_groups(paint, 5.0, [[0], [1]]).cell_weights()
    stacked = cells.stacked(channels)
    np.testing.assert_array_equal(stacked.dense(), np.concatenate([cells.dense()] * channels,
                                                                  axis=1))
    order = stacked.rows * 9 + stacked.cols
    assert np.all(np.diff(order) > 0)  # row-major, as the painted cells are


# ---- the masks -------------------------------------------------------------------


def steered_mask(channels=None, paint_value=1.0):
    rng = np.random.default_rng(1)
    W = rng.random((12, 4)).astype(np.float32)
    H = rng.random((4, 20)).astype(np.float32)
    paint = np.zeros((2, 12, 20), np.float32)
    paint[0, 2:5, 3:8] = paint_value
    steering = Steering(paint, 5.0, np.array([0, 0, 1, 1]))
    gains = None if channels is None else rng.random((channels, 4)).astype(np.float32) + 0.1
    return W, H, steering, SoftMask(W, H, channel_gains=gains, steering=steering, power=2.0)


@pytest.mark.parametrize("channels", [None, 2])
def test_steered_masks_of_the_sources_sum_to_one(channels):
    _, _, steering, masks = steered_mask(channels)
    parts = [masks.mask(group_gains(4, steering.members(s))) for s in range(2)]
    assert parts[0].shape == masks.shape
    np.testing.assert_allclose(parts[0] + parts[1], 1.0, atol=1e-5)


def test_a_confidently_painted_cell_favours_its_source_in_the_mask():
    W, H, steering, masks = steered_mask()
    blind = SoftMask(W, H, power=2.0)
    source_0 = group_gains(4, steering.members(0))
    steered, plain = masks.mask(source_0), blind.mask(source_0)
    painted = np.zeros((12, 20), bool)
    painted[2:5, 3:8] = True
    assert np.all(steered[painted] > plain[painted])
    assert steered[painted].min() > 0.95
    np.testing.assert_allclose(steered[~painted], plain[~painted], atol=1e-6)


def test_unpainted_steering_gives_the_blind_masks_and_frames_slice_like_columns():
    W, H, steering, _ = steered_mask(paint_value=0.0)
    masks = SoftMask(W, H, steering=steering, power=2.0)
    blind = SoftMask(W, H, power=2.0)
    gains = group_gains(4, [1, 2])
    np.testing.assert_allclose(masks.mask(gains), blind.mask(gains), atol=1e-6)
    _, _, _, painted = steered_mask()
    np.testing.assert_allclose(painted.mask(gains, slice(5, 12)), painted.mask(gains)[:, 5:12],
                               atol=1e-6)


def test_a_steering_that_does_not_fit_the_factors_is_refused():
    W, H, steering, _ = steered_mask()
    with pytest.raises(ValueError, match="does not fit"):
        SoftMask(W[:, :3], H[:3], steering=steering)
    with pytest.raises(ValueError, match="must index"):
        Steering(steering.paint, 5.0, np.array([0, 1, 2, 0]))


# ---- the guide -------------------------------------------------------------------


@pytest.mark.parametrize(
    "paint, words",
    [
        (np.zeros((2, 5)), "must be (sources, bins, frames)"),
        (np.zeros((2, 5, 8)), "5 bins x 8 frames, the STFT of this audio is 5 x 9"),
        (np.zeros((1, 5, 9)), "at least 2 sources"),
        (np.full((2, 5, 9), np.nan), "NaN"),
        (np.full((2, 5, 9), 1.5), "in [0, 1], found 1.5"),
        (np.full((2, 5, 9), -0.1), "in [0, 1]"),
        (np.zeros((2, 5, 9), complex), "real numbers"),
    ],
)
def test_paint_that_does_not_fit_is_refused_naming_the_problem(paint, words):
    with pytest.raises(GuideError, match="the guide") as raised:
        check_paint(paint, (5, 9))
    assert words in str(raised.value)


def test_a_guide_file_is_read_and_checked(tmp_path):
    paint = np.zeros((3, 5, 9), np.float32)
    paint[1, 2, 3] = 0.5
    good = tmp_path / "good.npz"
    np.savez(good, paint=paint)
    np.testing.assert_array_equal(load_guide(good, (5, 9)), paint)
    with pytest.raises(GuideError, match="'.*good.npz': paint is 5 bins x 9 frames"):
        load_guide(good, (5, 10))
    other = tmp_path / "other.npz"
    np.savez(other, strokes=paint)
    with pytest.raises(GuideError, match=r"has no 'paint' array \(it holds \['strokes'\]\)"):
        load_guide(other)
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(GuideError, match="'.*text.npz' is not a readable .npz guide"):
        load_guide(text)
    with pytest.raises(GuideError, match="missing.npz"):
        load_guide(tmp_path / "missing.npz")


@given(st.floats(0, 50), st.integers(0, 2**31 - 1))
def test_source_weights_are_one_unpainted_and_fall_with_others_paint(strength, seed):
    rng = np.random.default_rng(seed)
    paint = (rng.random((3, 4, 5)) * (rng.random((3, 4, 5)) < 0.5)).astype(np.float32)
    weights = source_weights(paint, strength).astype(np.float64)
    # Posterior regularization's weights, up to a factor per cell: the same shares.
    derived = np.exp(-strength * (paint.sum(axis=0) - paint).astype(np.float64))
    np.testing.assert_allclose(weights / weights.sum(axis=0), derived / derived.sum(axis=0),
                               rtol=1e-4, atol=1e-12)
    assert np.all(weights.max(axis=0) == 1.0)  # never all underflowing
    assert np.all(weights[:, paint.sum(axis=0) == 0] == 1.0)
    with pytest.raises(ValueError, match="strength"):
        source_weights(paint, -1.0)


def test_groups_are_given_to_the_sources_whose_paint_they_sound_under():
    W = np.eye(4, dtype=np.float32)  # component k is bin k
    H = np.ones((4, 6), np.float32)
    paint = np.zeros((2, 4, 6), np.float32)
    paint[0, 2, :] = 1.0  # source 0 is bin 2
    paint[1, 0, :3] = 1.0  # source 1 is bin 0
    assert order_groups(W, H, [[0, 1], [2, 3]], paint) == [[2, 3], [0, 1]]
    # Component 3 sounds wholly under source 1's paint: with move_share it moves there.
    paint[1, 3, :] = 1.0
    assert order_groups(W, H, [[0, 1], [2, 3]], paint, move_share=0.5) == [[2], [0, 1, 3]]
    with pytest.raises(ValueError, match="3 groups for a guide of 2 sources"):
        order_groups(W, H, [[0], [1], [2, 3]], paint)


def test_moves_never_empty_a_source():
    W = np.eye(3, dtype=np.float32)
    H = np.ones((3, 4), np.float32)
    paint = np.zeros((2, 3, 4), np.float32)
    paint[1] = 1.0  # everything is "source 1"
    groups = order_groups(W, H, [[0], [1, 2]], paint, move_share=0.1)
    assert sorted(sum(groups, [])) == [0, 1, 2]
    assert all(groups)


# ---- the pipeline ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    return make_demo(duration=2.0)


def demo_paint(demo, settings):
    """Paint from the demo's ground truth: where a source is 10 dB over the other, 20 % of cells."""
    spectra = [np.abs(stft(stem.samples, n_fft=settings.n_fft, hop=settings.hop)).mean(axis=0)
               for stem in demo.stems]
    rng = np.random.default_rng(0)
    paint = np.zeros((len(spectra), *spectra[0].shape), np.float32)
    for s, spectrum in enumerate(spectra):
        others = np.max([x for i, x in enumerate(spectra) if i != s], axis=0)
        dominant = (spectrum > 10 ** 0.5 * others) & (spectrum > 1e-3 * spectrum.max())
        paint[s][dominant & (rng.random(dominant.shape) < 0.2)] = 1.0
    return paint


def test_separating_with_paint_steers_and_keeps_the_partition(demo):
    settings = Settings(n_components=6, iterations=60, guide_iterations=40)
    paint = demo_paint(demo, settings)
    result = separate_audio(demo.mixture, settings, paint=paint[::-1].copy())
    assert result.steering is not None and result.steering.n_sources == len(paint)
    stems = list(result.stems())
    assert len(stems) == len(paint)
    np.testing.assert_allclose(sum(stems), demo.mixture.samples, atol=1e-4)
    # Stem i is source i of the (reversed) paint: it correlates best with that truth.
    truths = demo.stems[::-1]
    for i, stem in enumerate(stems):
        scores = [np.corrcoef(stem.ravel(), t.samples.ravel())[0, 1] for t in truths]
        assert int(np.argmax(scores)) == i


def test_paint_on_another_grid_or_for_other_sources_is_refused(demo):
    settings = Settings(n_components=6, iterations=5)
    paint = demo_paint(demo, settings)
    with pytest.raises(GuideError, match="check --n-fft and --hop"):
        separate_audio(demo.mixture, settings, paint=paint[:, :, :-1])
    with pytest.raises(ValueError, match=f"paints {len(paint)} sources, the settings ask for 5"):
        separate_audio(demo.mixture, Settings(n_components=6, n_sources=5), paint=paint)


def test_steering_weights_on_frames_are_the_source_weights_to_the_mask_power():
    paint = np.random.default_rng(2).random((3, 6, 10)).astype(np.float32)
    steering = Steering.of_groups(paint, 4.0, [[1], [0, 3], [2]])
    assert steering.sources.tolist() == [1, 0, 2, 1]
    np.testing.assert_allclose(steering.weights(slice(2, 7), 1.5),
                               source_weights(paint, 4.0)[:, :, 2:7] ** 1.5, rtol=1e-5)


def test_the_painted_cells_weights_are_the_dense_weights_and_steer_the_same():
    rng = np.random.default_rng(5)
    paint = np.zeros((3, 20, 30), np.float32)
    paint[0, 2:6, 3:9] = 0.8
    paint[2, 10:12, 20:28] = rng.random((2, 8))
    steering = Steering.of_groups(paint, 5.0, [[0, 3], [1], [2]])
    cells = steering.cell_weights()
    assert len(cells.rows) == 4 * 6 + 2 * 8  # the painted cells only
    np.testing.assert_allclose(cells.dense(), steering.weights(), rtol=1e-6)
    V = rng.random((20, 30)).astype(np.float32)
    W = rng.random((20, 4)).astype(np.float32) + 0.1
    H = rng.random((4, 30)).astype(np.float32) + 0.1
    sparse = GuidedSolver(V, W, H, cells, steering.sources)
    dense = GuidedSolver(V, W, H, steering.weights(), steering.sources)
    assert sparse.step(10) == pytest.approx(dense.step(10), rel=1e-6)
    np.testing.assert_allclose(sparse.W, dense.W, rtol=1e-5)
    rows = Steering.of_groups(np.concatenate([paint, paint[:1]]), 5.0, [[0, 3], [1], [2]],
                              rows=(3, 1, 2))
    np.testing.assert_allclose(rows.cell_weights().dense(), steering.weights(), rtol=1e-6)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), sources=st.integers(1, 4),
       share=st.sampled_from([0.0, 0.01, 0.3, 1.0]))
def test_painted_cells_are_the_cells_some_source_painted_in_row_major_order(seed, sources, share):
    from dsp.guide import painted_cells

    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 30, size=2)
    paint = np.where(rng.random((sources, m, n)) < share, rng.random((sources, m, n)), 0.0)
    rows, cols = painted_cells(paint.astype(np.float32))
    expected = np.nonzero(paint.max(axis=0))
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(cols, expected[1])
