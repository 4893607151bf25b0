"""Locked templates through the solver control, and per-source solo/mute in the session."""

from dataclasses import replace

import numpy as np

from app.document import Document
from dsp.pipeline import Settings


def run_to_done(qtbot, window, action):
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        action()


def test_locked_templates_stay_bit_identical_through_continue_and_run(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    document.set_locked(0, True)
    document.set_locked(2, True)
    locked = document.W[:, [0, 2]].copy()
    free = document.W[:, 1].copy()
    iterations = document.n_iter
    run_to_done(qtbot, window, window.control.resume)  # continue from the current state
    qtbot.waitUntil(lambda: document.n_iter == iterations + 12, timeout=10_000)
    np.testing.assert_array_equal(document.W[:, [0, 2]], locked)
    assert not np.array_equal(document.W[:, 1], free)
    run_to_done(qtbot, window, window.control.run)  # a fresh run keeps them too
    qtbot.waitUntil(lambda: document.n_iter == 12, timeout=10_000)
    np.testing.assert_array_equal(document.W[:, [0, 2]], locked)


def test_a_zeroed_component_stays_silent_on_continue(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    window.control.stop()
    H = document.H.copy()
    H[1] = 0.0
    document.set_factors(document.W, H, document.losses)
    run_to_done(qtbot, window, window.control.resume)
    qtbot.waitUntil(lambda: document.n_iter == 24, timeout=10_000)
    assert document.H[1].max() <= 1e-15 and document.H[0].max() > 0


def test_source_mute_and_solo_apply_to_their_components():
    document = Document(Settings(n_components=4))
    document.assign_sources([[0, 1], [2], [3]])
    document.set_source_mute(0, True)
    np.testing.assert_array_equal(document.effective_gains(), [0, 0, 1, 1])
    document.set_source_solo(1, True)
    np.testing.assert_array_equal(document.effective_gains(), [0, 0, 1, 0])
    document.set_mute(2, True)  # a muted component stays silent inside a soloed source
    np.testing.assert_array_equal(document.effective_gains(), [0, 0, 0, 0])


def test_sources_are_created_renamed_and_merged(qtbot):
    document = Document(Settings(n_components=4))
    document.assign_sources([[0], [1, 2], [3]])
    document.rename_source(2, "Drums")
    new = document.add_source("Voice")
    assert new == 3 and document.n_sources == 4
    with qtbot.waitSignal(document.sources_changed):
        document.merge_sources(0, 1)
    assert [c.source for c in document.components] == [0, 0, 0, 1]
    assert [document.source_state(i).name for i in range(document.n_sources)] == [
        "Source 1", "Drums", "Voice"]


def test_locks_hold_through_a_change_of_k_as_the_first_components(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    document.rename_source(document.components[1].source, "Drums")
    for k in (1, 2):
        document.set_component_name(k, f"Drum {k}")
        document.set_locked(k, True)
    locked = document.W[:, [1, 2]].copy()
    k = document.settings.n_components + 2
    document.set_settings(replace(document.settings, n_components=k))
    assert [c.name for c in document.components[:2]] == ["Drum 1", "Drum 2"]
    assert document.locked_mask().tolist() == [True, True] + [False] * (k - 2)
    assert document.group_names()[0] == "Drums"
    run_to_done(qtbot, window, window.control.run)
    qtbot.waitUntil(lambda: document.n_iter == 12, timeout=10_000)
    np.testing.assert_array_equal(document.W[:, :2], locked)


def test_locks_that_cannot_hold_are_cleared_and_the_user_is_told(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    for k in range(3):
        document.set_locked(k, True)
    with qtbot.waitSignal(document.noticed) as notice:
        document.set_settings(replace(document.settings, n_components=2))
    assert not document.locked_mask().any()
    assert "Unlocked" in notice.args[0]
    assert window.statusBar().currentMessage() == notice.args[0]


def test_a_new_fft_size_clears_the_locks_with_a_notice(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    document.set_locked(0, True)
    with qtbot.waitSignal(document.noticed, timeout=20_000):
        document.set_settings(replace(document.settings, n_fft=document.settings.n_fft // 2))
    assert not document.locked_mask().any()


def test_changing_k_after_grouping_gives_each_component_its_own_source(qtbot):
    document = Document(Settings(n_components=4))
    document.assign_sources([[0, 1], [2, 3]])
    with qtbot.waitSignal(document.noticed):
        document.set_settings(Settings(n_components=6))
    assert document.groups() == [[k] for k in range(6)]
    assert document.group_names() == [f"Source {k}" for k in range(1, 7)]


def test_another_file_starts_a_new_document(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    document.set_component_name(0, "Kick")
    document.set_locked(0, True)
    document.assign_sources([[0, 1], [2, 3]])
    document.rename_source(0, "Drums")
    with qtbot.waitSignal(document.audio_changed, timeout=20_000):
        window.loader.open_demo(duration=1.0)
    k = document.settings.n_components
    assert [c.name for c in document.components] == [f"Part {i + 1}" for i in range(k)]
    assert not document.locked_mask().any()
    assert document.group_names() == [f"Source {i + 1}" for i in range(k)]


def test_a_run_started_when_new_audio_arrives_is_not_stopped_by_the_new_document(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    document.set_locked(0, True)  # the new document clears this lock
    document.audio_changed.connect(window.control.run)
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.loader.open_demo(duration=1.0)
    assert document.n_iter == document.settings.iterations
