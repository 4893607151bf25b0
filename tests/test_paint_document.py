"""Paint in the document model: blocks, growth, merges, the steering it gives, what clears it."""

import numpy as np
import pytest

from app.document import Document
from dsp.audio import Audio
from dsp.demo import make_demo
from dsp.guide import GuideError, source_weights
from dsp.pipeline import Settings
from dsp.stft import analyse


@pytest.fixture
def document():
    demo = make_demo(duration=1.0)
    document = Document(Settings(n_components=4, n_fft=512, hop=128))
    document.set_audio(demo.mixture, analyse(demo.mixture.samples, demo.mixture.rate,
                                             n_fft=512, hop=128))
    rng = np.random.default_rng(0)
    bins, frames = document.magnitude.shape
    document.set_factors(rng.random((bins, 4), np.float32), rng.random((4, frames), np.float32),
                         (1.0,))
    document.assign_sources([[0, 1], [2, 3]])
    return document


def changes(document):
    seen = []
    document.paint_changed.connect(seen.append)
    return seen


def test_a_block_is_painted_where_asked_and_nowhere_else(document):
    seen = changes(document)
    assert document.paint is None
    block = np.full((3, 4), 0.7, np.float32)
    document.set_paint_block(1, slice(10, 13), slice(5, 9), block)
    paint = document.paint
    assert paint.shape == (2, *document.magnitude.shape)
    assert np.all(paint[1, 10:13, 5:9] == np.float32(0.7))
    assert paint.sum() == pytest.approx(0.7 * 12, rel=1e-6)
    assert seen == [(slice(10, 13), slice(5, 9))]
    document.set_paint_block(1, slice(10, 13), slice(5, 9), block)  # no change: no signal
    assert len(seen) == 1
    np.testing.assert_array_equal(document.paint_block(1, slice(9, 14), slice(5, 9))[1:4], block)
    assert not document.paint_block(3, slice(0, 2), slice(0, 2)).any()
    with pytest.raises(ValueError, match="read-only"):
        document.paint[0, 0, 0] = 1.0


def test_values_are_clipped_and_shapes_checked(document):
    document.set_paint_block(0, slice(0, 2), slice(0, 2), np.array([[2.0, -1.0], [0.5, 1.0]]))
    assert document.paint[0, :2, :2].tolist() == [[1.0, 0.0], [0.5, 1.0]]
    with pytest.raises(ValueError, match="for a block of"):
        document.set_paint_block(0, slice(0, 2), slice(0, 2), np.zeros((3, 3)))


def test_steering_follows_groups_and_the_live_paint(document):
    assert document.steering() is None  # no paint, no steering
    document.set_paint_block(1, slice(0, 5), slice(0, 5), np.ones((5, 5)))
    steering = document.steering()
    assert steering.sources.tolist() == [0, 0, 1, 1]
    assert steering.strength == document.settings.guide_strength
    document.set_paint_block(0, slice(20, 21), slice(3, 4), np.ones((1, 1)))
    expected = source_weights(np.asarray(document.paint), document.settings.guide_strength)
    np.testing.assert_allclose(steering.weights(), expected)  # a later stroke steers it too


def test_steering_skips_empty_sources_and_keeps_group_order(document):
    document.assign_sources([[0, 1], [], [2, 3]])  # source 1 has no components
    document.set_paint_block(2, slice(0, 5), slice(0, 5), np.ones((5, 5)))
    document.set_paint_block(1, slice(6, 9), slice(0, 5), np.ones((3, 5)))
    steering = document.steering()
    assert steering.n_sources == 2 and steering.sources.tolist() == [0, 0, 1, 1]
    assert steering.rows == (0, 2)  # source 1 has no components: its paint steers nothing
    weights = steering.weights()
    np.testing.assert_allclose(weights, source_weights(np.asarray(document.paint)[[0, 2]],
                                                       document.settings.guide_strength))


def test_merging_sources_merges_their_paint(document):
    document.set_paint_block(0, slice(0, 2), slice(0, 1), np.array([[0.2], [0.9]]))
    document.set_paint_block(1, slice(0, 2), slice(0, 1), np.array([[0.6], [0.1]]))
    document.merge_sources(0, 1)
    assert len(document.paint) == 1
    np.testing.assert_allclose(document.paint[0, :2, 0], [0.6, 0.9])


def test_a_new_stft_clears_paint_with_a_notice_and_whole_paint_is_checked(document):
    notices = []
    document.noticed.connect(notices.append)
    with pytest.raises(GuideError, match="the paint: paint is 3 bins"):
        document.set_paint(np.zeros((2, 3, 4), np.float32))
    document.set_paint_block(0, slice(0, 2), slice(0, 2), np.ones((2, 2)))
    audio = document.audio
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=1024, hop=256))
    assert document.paint is None
    assert any("Cleared the paint" in n for n in notices)


def test_other_audio_starts_without_paint(document):
    document.set_paint_block(0, slice(0, 2), slice(0, 2), np.ones((2, 2)))
    other = Audio(np.zeros((8000, 1), np.float32), 8000)
    document.set_audio(other, analyse(other.samples, other.rate, n_fft=512, hop=128))
    assert document.paint is None


def test_has_paint_follows_every_change(document):
    assert not document.has_paint()
    document.set_paint_block(1, slice(0, 2), slice(0, 2), np.ones((2, 2)))
    assert document.has_paint()
    document.set_paint_block(1, slice(0, 2), slice(0, 1), np.zeros((2, 1)))
    assert document.has_paint()
    document.set_paint_block(1, slice(0, 2), slice(1, 2), np.zeros((2, 1)))
    assert not document.has_paint() and document.steering() is None
    document.set_paint(np.full((2, *document.magnitude.shape), 0.5, np.float32))
    assert document.has_paint()
    document.set_paint(None)
    assert not document.has_paint()


def test_steering_of_a_subset_of_rows_shares_the_paint_without_a_copy(document):
    document.assign_sources([[0], [1], [2], [3]])
    document.set_paint_block(2, slice(0, 3), slice(0, 3), np.ones((3, 3)))
    document.assign_sources([[0], [1], [], [2, 3]])  # source 2, painted, has no components now
    document.set_paint_block(3, slice(5, 6), slice(0, 3), np.ones((1, 3)))
    steering = document.steering()
    assert steering.n_sources == 3 and steering.rows == (0, 1, 3)
    assert np.shares_memory(steering.paint, document.paint)
    weights = steering.weights()
    assert weights.shape == (3, *document.magnitude.shape)
    np.testing.assert_allclose(weights[:2, 5, :3], np.exp(-document.settings.guide_strength),
                               rtol=1e-5)
    assert np.all(weights[:, :3, :3] == 1.0)  # source 2's paint steers no component


def test_group_paint_is_a_copy_of_each_groups_paint(document):
    assert document.group_paint() is None
    document.assign_sources([[0], [1], [], [2, 3]])
    document.set_paint_block(3, slice(1, 2), slice(1, 2), np.ones((1, 1)))
    paint = document.group_paint()
    assert paint.shape == (3, *document.magnitude.shape)
    assert paint[2, 1, 1] == 1.0 and paint.sum() == 1.0
    paint[2, 1, 1] = 0.0
    assert document.paint[3, 1, 1] == 1.0


def test_paint_has_rows_only_up_to_the_highest_painted_source(document):
    document.assign_sources([[0], [1], [2], [3]])  # a source per component, as by default
    document.set_paint_block(1, slice(0, 1), slice(0, 1), np.ones((1, 1)))
    assert len(document.paint) == 2  # not one per source: rows cost bins x frames each


def test_another_sources_first_stroke_takes_the_next_row_without_copying_the_paint(document):
    document.assign_sources([[0], [1], [2], [3]])
    document.set_paint_block(0, slice(0, 2), slice(0, 2), np.ones((2, 2)))
    first, before = document.paint, document.edit_state()
    document.set_paint_block(2, slice(3, 4), slice(3, 4), np.full((1, 1), 0.5))
    grown = document.paint
    assert len(first) == 1 and len(grown) == 3
    assert np.shares_memory(first, grown)  # the painted row was not copied
    assert grown[0, :2, :2].sum() == 4 and grown.sum() == pytest.approx(4.5)
    assert not grown[1].any()
    # A source beyond the block (added later) makes a new one and keeps every row.
    index = document.add_source("New")
    document.set_paint_block(index, slice(0, 1), slice(0, 1), np.ones((1, 1)))
    assert len(document.paint) == index + 1
    np.testing.assert_array_equal(document.paint[:3], grown)
    # Back to the one-row paint (undo), then painting again never shows rows painted since.
    document.restore_edit_state(before)
    assert len(document.paint) == 1
    document.set_paint_block(2, slice(5, 6), slice(5, 6), np.ones((1, 1)))
    assert document.paint.sum() == pytest.approx(5.0)
    assert not document.paint[1].any() and document.paint[2, 3, 3] == 0


def test_a_new_number_of_components_keeps_the_paint_of_the_sources_it_keeps_only(document):
    notices = []
    document.noticed.connect(notices.append)
    document.assign_sources([[0], [1, 2], [3]])
    document.rename_source(1, "Keys")
    document.rename_source(2, "Drums")
    for source in range(3):
        document.set_paint_block(source, slice(10 * source, 10 * source + 5), slice(2, 6),
                                 np.full((5, 4), 0.5 + 0.1 * source, np.float32))
    before = document.paint.copy()
    document.set_locked(3, True)  # Drums is kept, as the first source
    document.set_settings(Settings(n_components=6, n_fft=512, hop=128))
    np.testing.assert_array_equal(document.paint, before[2:3])  # its paint, as row 0
    assert document.source_state(0).name == "Drums"
    assert "The paint of Source 1, Keys went with their sources" in notices[-1]
    document.set_locked(0, False)
    document.set_settings(Settings(n_components=4, n_fft=512, hop=128))
    assert document.paint is None and not document.has_paint()
    assert "The paint of Drums went with its source" in notices[-1]


def test_a_painted_source_that_loses_its_last_part_stays_a_source_with_its_paint(document):
    document.assign_sources([[0], [1, 2], [3]])
    document.set_paint_block(2, slice(5, 9), slice(1, 4), np.full((4, 3), 0.9, np.float32))
    before = document.paint.copy()
    document.set_source(3, 0)  # source 2's only part leaves
    assert document.n_sources == 3 and document.source_members(2) == []
    np.testing.assert_array_equal(document.paint, before)
    assert document.add_source("Pads") == 3  # a new source takes the next row, not its paint
    np.testing.assert_array_equal(document.paint[2], before[2])
    document.set_source(3, 2)  # a part moved back finds its paint
    assert document.source_members(2) == [3]


def test_an_unpainted_source_that_loses_its_last_part_still_goes(document):
    document.assign_sources([[0], [1, 2], [3]])
    document.set_source(3, 0)
    assert document.n_sources == 2
