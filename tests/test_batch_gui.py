"""*File › Batch separate…*: the dialog runs a batch on local workers and shows how it went."""

from dataclasses import replace

from PySide6.QtCore import QTimer

from app.dialogs.batch import BatchDialog
from dsp.pipeline import Settings


def test_the_dialog_runs_a_batch_showing_progress_and_a_failure(qtbot, song_tree, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    dialog = BatchDialog(Settings(n_components=2, iterations=3, tol=0))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.add_inputs([song_tree, bad])
    dialog.recursive.setChecked(True)
    dialog.out.setText(str(tmp_path / "out"))
    dialog.jobs.setValue(2)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(dialog.progress.value()))
    timer.start(50)
    dialog.start_button.click()
    assert dialog.running
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    timer.stop()
    # The GUI thread kept running its timers while the files were separated.
    assert len(ticks) > 20 and ticks[0] < 4
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    lines = [dialog.outcomes.item(i).text() for i in range(dialog.outcomes.count())]
    assert [line for line in lines if line.startswith("Failed: ")] == [
        "Failed: 'bad.wav' is not a readable audio file (Format not recognised.)"]
    assert sorted(line.split(":")[0] for line in lines if " done in " in line) == [
        "a/song.wav", "b/song.wav", "c.flac"]
    assert dialog.status.text().startswith("Finished: 3 done, 1 failed, 0 skipped of 4")
    assert (tmp_path / "out" / "b" / "song" / "manifest.json").exists()
    assert dialog.start_button.isEnabled()


def test_a_form_without_inputs_says_so_and_starts_nothing(qtbot, tmp_path):
    dialog = BatchDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.out.setText(str(tmp_path))
    dialog.start_button.click()
    assert not dialog.running
    assert dialog.status.text() == "Cannot start: add files or folders to separate."


def test_the_file_menu_opens_it_with_the_sessions_settings(window):
    window.document.set_settings(replace(window.document.settings, n_components=5))
    [action] = [a for a in window.menuBar().actions()[0].menu().actions()
                if a.text() == "&Batch separate…"]
    action.trigger()
    [dialog] = window.findChildren(BatchDialog)
    assert dialog.isVisible()
    assert dialog.settings_label.text().startswith("The session's: 5 components")
    dialog.close()
