"""Steering through the GUI: drag to a source, lock, split, learn from a selection, scores."""

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.steering import library
from dsp.audio import Audio, save
from dsp.demo import make_demo
from dsp.scores import score_estimate, si_sdr
from dsp.separation import separate


def run_to_done(qtbot, window, action):
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        action()


def drop_components(sources, rows, target_source):
    """A real drag-enter/move/drop sequence of component rows onto a source row."""
    table = sources.window().components.table
    mime = table.mimeData([table.item(r, 1) for r in rows])  # what a drag of the rows carries
    rect = sources.visualRect(sources.model().index(target_source, 0))
    pos = QPointF(rect.center())
    viewport = sources.viewport()
    for event in (
        QDragEnterEvent(pos.toPoint(), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier),
        QDragMoveEvent(pos.toPoint(), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier),
        QDropEvent(pos, Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier),
    ):
        QApplication.sendEvent(viewport, event)
    return event


def test_dragging_components_onto_a_source_groups_them(qtbot, window):
    document = window.document
    view = window.components
    target = document.add_source("Bass")
    drop = drop_components(view.sources, [1, 3], target)
    assert drop.isAccepted()
    assert document.source_members(target) == [1, 3]
    assert view.sources.item(target, 3).text() == "2"  # the parts column follows
    assert view.table.cellWidget(1, 5).currentText() == "Bass"


def test_lock_button_and_split_menu_edit_the_components(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    window.components.table.cellWidget(0, 6).click()  # the lock toggle
    assert document.components[0].locked
    k = len(document.components)
    window.components.table.selectRow(2)
    before = document.channel_gains.copy()
    menu = window.components.build_menu([2])
    split = next(a for a in menu.actions() if a.text() == "Split in two")
    with qtbot.waitSignal(document.components_changed, timeout=20_000):
        split.trigger()
    assert len(document.components) == k + 1 == document.W.shape[1]
    assert [c.name for c in document.components[2:4]] == ["Part 3 a", "Part 3 b"]
    # Both halves sit where the split component sat in the stereo image.
    np.testing.assert_array_equal(document.channel_gains[:, 2], before[:, 2])
    np.testing.assert_array_equal(document.channel_gains[:, 3], before[:, 2])
    np.testing.assert_array_equal(document.channel_gains[:, 4:], before[:, 3:])
    locked = document.W[:, 0].copy()
    run_to_done(qtbot, window, window.control.resume)  # continue from the edited state
    np.testing.assert_array_equal(document.W[:, 0], locked)


def test_deleting_components_drops_their_channel_gains(qtbot, window):
    document = window.document
    run_to_done(qtbot, window, window.control.run)
    before = document.channel_gains.copy()
    window.steering.delete([1, 3])
    kept = [k for k in range(before.shape[1]) if k not in (1, 3)]
    np.testing.assert_array_equal(document.channel_gains, before[:, kept])


def test_labels_appear_in_the_table(qtbot, window):
    run_to_done(qtbot, window, window.control.run)
    window.components.update_labels()
    # The last labelling shown is that of the final factors (earlier ones may finish first).
    qtbot.waitUntil(lambda: not window.components.labelling, timeout=20_000)
    pitches = window.components.label_texts("Pitch")
    assert {"98 Hz G2", "392 Hz G4"} & set(pitches)  # the demo's bass and lead
    assert all(text != "—" for text in window.components.label_texts("Perc."))


def test_learn_from_selection_locks_the_learned_templates(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(tmp_path))
    document, panel = window.document, window.learn_panel
    panel.region.setRegion((0.0, 0.2))  # the demo's bass plays alone at first
    panel.templates_box.setValue(2)
    panel.rest_box.setValue(3)
    panel.name_edit.setText("Bass")
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        panel.learn_from_selection()
    assert [c.locked for c in document.components] == [True, True, False, False, False]
    assert document.source_state(0).name == "Bass" and document.source_members(0) == [0, 1]
    panel.save_learned()
    assert library.list_templates() == ["Bass"]
    stored = library.load_templates("Bass", rate=document.audio.rate, n_fft=document.settings.n_fft)
    np.testing.assert_array_equal(stored, document.W[:, :2])


def test_scores_shown_match_dsp_metrics(qtbot, window, tmp_path):
    document, panel = window.document, window.scores
    run_to_done(qtbot, window, window.control.run)
    with qtbot.waitSignal(window.components.grouped, timeout=20_000):
        window.components._group()
    demo = make_demo(duration=2.0)  # the window's demo mixture
    paths = []
    for name, stem in zip(demo.names, demo.stems):
        paths.append(tmp_path / f"{name}.wav")
        save(stem, paths[-1], subtype="float")
    panel.load_references(paths)
    qtbot.waitUntil(lambda: len(panel.rows) == len(document.groups())
                    and bool(panel.rows[0].reference), timeout=60_000)
    # The demo is stereo: the run used the multichannel model, and the scores its masks.
    assert document.channel_gains.shape == (2, document.settings.n_components)
    stems = list(separate(document.spectrogram, document.W, document.H, document.groups(),
                          power=document.settings.mask_power,
                          channel_gains=document.channel_gains))
    references = [s.samples for s in demo.stems]
    for row, stem in zip(panel.rows, stems):
        j = [p.name for p in paths].index(row.reference)
        expected = score_estimate(references, stem, j)
        assert abs(row.sdr - expected.sdr) < 1e-9 and abs(row.sir - expected.sir) < 1e-9
        assert abs(row.si_sdr - si_sdr(references[j], stem)) < 1e-9
        text = panel.table.item(panel.rows.index(row), 2).text()
        assert text == f"{expected.sdr:.2f} dB"
    assert abs(sum(r.energy_share for r in panel.rows) - 1.0) < 0.2


def test_scores_follow_runs_and_renames_once_asked_for(qtbot, window):
    document, panel = window.document, window.scores
    run_to_done(qtbot, window, window.control.run)
    assert "No factorization" not in panel.summary.text()  # a run has finished
    panel.score()
    qtbot.waitUntil(lambda: len(panel.rows) == len(document.groups()), timeout=30_000)
    first = panel.summary.text()
    document.set_settings(replace(document.settings, seed=document.settings.seed + 1))
    run_to_done(qtbot, window, window.control.run)  # a new run: new figures, unasked
    qtbot.waitUntil(lambda: panel.summary.text() not in (first, "Scoring…")
                    and "again" not in panel.summary.text(), timeout=30_000)
    document.rename_source(document.components[0].source, "Lead")
    qtbot.waitUntil(lambda: bool(panel.rows) and panel.rows[0].name == "Lead", timeout=30_000)
    shown = panel.table.item(0, 0).text()
    assert shown == "Lead"


def test_scores_rate_the_stems_the_paint_cuts(qtbot, window, tmp_path):
    """The dock scores what the export writes: with the painted session's own stems as
    references, every source is scored as a perfect match; a stroke is scored again."""
    document, panel = window.document, window.scores
    run_to_done(qtbot, window, window.control.run)
    document.assign_sources([[0, 1], list(range(2, document.settings.n_components))])
    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(None), slice(frames // 4, frames // 2),
                             np.ones((bins, frames // 2 - frames // 4), np.float32))
    power, gains = document.settings.mask_power, document.channel_gains
    args = (document.spectrogram, document.W, document.H, document.groups())
    painted = list(separate(*args, power=power, channel_gains=gains,
                            steering=document.steering()))
    unpainted = list(separate(*args, power=power, channel_gains=gains))
    assert min(si_sdr(p, u) for p, u in zip(painted, unpainted)) < 30  # the paint matters
    paths = []
    for i, stem in enumerate(painted):
        paths.append(tmp_path / f"painted_{i}.wav")
        save(Audio(stem, document.audio.rate), paths[-1], subtype="float")
    panel.load_references(paths)
    qtbot.waitUntil(lambda: len(panel.rows) == 2 and all(r.reference for r in panel.rows),
                    timeout=60_000)
    assert all(row.si_sdr > 80 for row in panel.rows)
    scored = panel.rows
    document.set_paint_block(1, slice(None), slice(0, frames // 4),
                             np.ones((bins, frames // 4), np.float32))
    qtbot.waitUntil(lambda: panel.rows is not scored and "Scoring" not in panel.summary.text()
                    and "again" not in panel.summary.text(), timeout=60_000)
    assert all(row.si_sdr < 80 for row in panel.rows)  # the new stroke cut other stems
