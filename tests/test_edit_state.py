"""The document's edit state: taken without copies, put back exactly, with the right signals."""

import numpy as np

from app.document import ComponentState
from tests.test_paint_document import document  # noqa: F401 - the fixture


def recorder(document):  # noqa: F811
    """Every signal but the paint's, in order, with its arguments."""
    seen = []
    for name in ("settings_changed", "factors_changed", "components_changed",
                 "component_changed", "selection_changed", "sources_changed", "locks_changed"):
        getattr(document, name).connect(lambda *args, name=name: seen.append((name, *args)))
    return seen


def test_a_gain_change_puts_back_one_component_and_says_only_that(document):  # noqa: F811
    before = document.edit_state()
    document.set_gain(2, 0.5)
    assert before.changed(document.edit_state()) == {"components"}
    seen = recorder(document)
    document.restore_edit_state(before)
    assert document.components == before.components
    assert seen == [("component_changed", 2)]


def test_snapshots_and_edits_leave_an_earlier_state_as_it_was(document):  # noqa: F811
    before = document.edit_state()
    W, H = before.W.copy(), before.H.copy()  # noqa: N806
    document.set_factors(before.W * 2, before.H * 2, (1.0, 0.5))  # as the solver does
    document.replace_components(document.W[:, :3], document.H[:3], document.components[:3])
    np.testing.assert_array_equal(before.W, W)
    np.testing.assert_array_equal(before.H, H)
    seen = recorder(document)
    document.restore_edit_state(before)
    assert document.W is before.W and document.H is before.H and document.losses == (1.0,)
    assert document.settings.n_components == 4 and len(document.components) == 4
    assert [s[0] for s in seen] == ["settings_changed", "components_changed", "sources_changed",
                                    "locks_changed", "factors_changed"]


def test_a_merge_keeps_the_previous_paint_whole_for_undo(document):  # noqa: F811
    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(None), slice(None), np.full((bins, frames), 0.25))
    document.set_paint_block(1, slice(0, 4), slice(0, 4), np.ones((4, 4)))
    before = document.edit_state()
    painted = before.paint.copy()
    document.merge_sources(0, 1)
    np.testing.assert_array_equal(before.paint, painted)  # the merge made a new array
    assert len(document.paint) == 1 and document.paint[0, :4, :4].min() == 1.0
    document.restore_edit_state(before)
    np.testing.assert_array_equal(document.paint, painted)
    assert document.has_paint() and document.n_sources == 2


def test_a_merge_into_a_source_never_painted(document):  # noqa: F811
    document.add_source("Drums")
    document.set_paint_block(0, slice(0, 2), slice(0, 2), np.ones((2, 2)))
    document.merge_sources(2, 0)  # Drums (2) takes source 0's paint; rows close up
    assert len(document.paint) == 2 and document.paint[1, :2, :2].min() == 1.0
    assert not document.paint[0].any()


def test_restoring_fewer_components_drops_a_selection_beyond_them(document):  # noqa: F811
    fewer = document.edit_state()
    bins, frames = document.magnitude.shape
    extra = ComponentState("Extra", "#ffffff", source=0)
    document.replace_components(np.ones((bins, 5), np.float32), np.ones((5, frames), np.float32),
                                [*document.components, extra])
    document.select_component(4)
    seen = recorder(document)
    document.restore_edit_state(fewer)
    assert document.selected == -1 and seen[-1] == ("selection_changed", -1)
