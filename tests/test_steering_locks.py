"""Locked templates through the solver control, and per-source solo/mute in the session."""

from dataclasses import replace

import numpy as np

from app.session import Session
from dsp.pipeline import Settings


def run_to_done(qtbot, window, action):
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        action()


def test_locked_templates_stay_bit_identical_through_continue_and_run(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    session.set_locked(0, True)
    session.set_locked(2, True)
    locked = session.W[:, [0, 2]].copy()
    free = session.W[:, 1].copy()
    iterations = session.n_iter
    run_to_done(qtbot, window, window.control.resume)  # continue from the current state
    qtbot.waitUntil(lambda: session.n_iter == iterations + 12, timeout=10_000)
    np.testing.assert_array_equal(session.W[:, [0, 2]], locked)
    assert not np.array_equal(session.W[:, 1], free)
    run_to_done(qtbot, window, window.control.run)  # a fresh run keeps them too
    qtbot.waitUntil(lambda: session.n_iter == 12, timeout=10_000)
    np.testing.assert_array_equal(session.W[:, [0, 2]], locked)


def test_a_zeroed_component_stays_silent_on_continue(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    window.control.stop()
    H = session.H.copy()
    H[1] = 0.0
    session.set_factors(session.W, H, session.losses)
    run_to_done(qtbot, window, window.control.resume)
    qtbot.waitUntil(lambda: session.n_iter == 24, timeout=10_000)
    assert session.H[1].max() <= 1e-15 and session.H[0].max() > 0


def test_source_mute_and_solo_apply_to_their_components():
    session = Session(Settings(n_components=4))
    session.assign_sources([[0, 1], [2], [3]])
    session.set_source_mute(0, True)
    np.testing.assert_array_equal(session.effective_gains(), [0, 0, 1, 1])
    session.set_source_solo(1, True)
    np.testing.assert_array_equal(session.effective_gains(), [0, 0, 1, 0])
    session.set_mute(2, True)  # a muted component stays silent inside a soloed source
    np.testing.assert_array_equal(session.effective_gains(), [0, 0, 0, 0])


def test_sources_are_created_renamed_and_merged(qtbot):
    session = Session(Settings(n_components=4))
    session.assign_sources([[0], [1, 2], [3]])
    session.rename_source(2, "Drums")
    new = session.add_source("Voice")
    assert new == 3 and session.n_sources == 4
    with qtbot.waitSignal(session.sources_changed):
        session.merge_sources(0, 1)
    assert [c.source for c in session.components] == [0, 0, 0, 1]
    assert [session.source_state(i).name for i in range(session.n_sources)] == [
        "Source 1", "Drums", "Voice"]


def test_locks_hold_through_a_change_of_k_as_the_first_components(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    session.rename_source(session.components[1].source, "Drums")
    for k in (1, 2):
        session.set_component_name(k, f"Drum {k}")
        session.set_locked(k, True)
    locked = session.W[:, [1, 2]].copy()
    k = session.settings.n_components + 2
    session.set_settings(replace(session.settings, n_components=k))
    assert [c.name for c in session.components[:2]] == ["Drum 1", "Drum 2"]
    assert session.locked_mask().tolist() == [True, True] + [False] * (k - 2)
    assert session.group_names()[0] == "Drums"
    run_to_done(qtbot, window, window.control.run)
    qtbot.waitUntil(lambda: session.n_iter == 12, timeout=10_000)
    np.testing.assert_array_equal(session.W[:, :2], locked)


def test_locks_that_cannot_hold_are_cleared_and_the_user_is_told(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    for k in range(3):
        session.set_locked(k, True)
    with qtbot.waitSignal(session.noticed) as notice:
        session.set_settings(replace(session.settings, n_components=2))
    assert not session.locked_mask().any()
    assert "Unlocked" in notice.args[0]
    assert window.statusBar().currentMessage() == notice.args[0]


def test_a_new_fft_size_clears_the_locks_with_a_notice(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    session.set_locked(0, True)
    with qtbot.waitSignal(session.noticed, timeout=20_000):
        session.set_settings(replace(session.settings, n_fft=session.settings.n_fft // 2))
    assert not session.locked_mask().any()


def test_changing_k_after_grouping_gives_each_component_its_own_source(qtbot):
    session = Session(Settings(n_components=4))
    session.assign_sources([[0, 1], [2, 3]])
    with qtbot.waitSignal(session.noticed):
        session.set_settings(Settings(n_components=6))
    assert session.groups() == [[k] for k in range(6)]
    assert session.group_names() == [f"Source {k}" for k in range(1, 7)]


def test_another_file_starts_a_new_document(qtbot, window):
    session = window.session
    run_to_done(qtbot, window, window.control.run)
    session.set_component_name(0, "Kick")
    session.set_locked(0, True)
    session.assign_sources([[0, 1], [2, 3]])
    session.rename_source(0, "Drums")
    with qtbot.waitSignal(session.audio_changed, timeout=20_000):
        window.loader.open_demo(duration=1.0)
    k = session.settings.n_components
    assert [c.name for c in session.components] == [f"Part {i + 1}" for i in range(k)]
    assert not session.locked_mask().any()
    assert session.group_names() == [f"Source {i + 1}" for i in range(k)]
