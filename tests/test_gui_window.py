"""The workstation window driven like a user would: run, pause, step, stop, open, close."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

WAIT = 30_000  # ms; a condition wait, not a timing assertion


def run_to_completion(qtbot, window) -> None:
    window.control.run()
    qtbot.waitUntil(lambda: window.control.state == "done", timeout=WAIT)


def test_views_hold_the_session_factors_after_a_run(qtbot, window):
    run_to_completion(qtbot, window)
    document = window.document
    W, H = document.W, document.H  # noqa: N806
    assert document.n_iter == 12
    k = document.settings.n_components
    assert W.shape == (document.magnitude.shape[0], k)
    assert H.shape == (k, document.magnitude.shape[1])
    np.testing.assert_array_equal(window.templates.templates, W)
    np.testing.assert_array_equal(window.activations.activations, H)
    assert len(window.templates.curves) == k and len(window.activations.curves) == k
    curve = window.templates.curves[2]  # each pixel column's minimum and maximum
    shape = W[1:, 2] / W[:, 2].max()
    columns = window.templates.getViewBox().width() * window.templates.devicePixelRatioF()
    assert curve.yData.size <= 2 * columns + 2
    assert curve.yData.max() == pytest.approx(shape.max()) and curve.yData.min() == shape.min()
    assert 10 ** curve.xData[0] == pytest.approx(window.document.spectrogram.freqs[1])
    y = window.activations.curves[0].yData
    np.testing.assert_allclose(y, (k - 1) + 0.85 * H[0] / H[0].max(), rtol=1e-6)
    curve = window.loss_plot.curve
    assert curve.xData.size == 12
    np.testing.assert_allclose(curve.yData, document.losses, rtol=1e-12)
    assert window.reconstruction.image.image is not None


def test_pause_step_continue_and_stop(qtbot, window):
    document, control = window.document, window.control
    document.set_settings(replace(document.settings, iterations=100_000))
    control.run()
    qtbot.waitUntil(lambda: document.n_iter >= 3, timeout=WAIT)
    control.pause()
    qtbot.waitUntil(lambda: control.state == "paused", timeout=WAIT)
    paused_at = document.n_iter
    assert window.loss_plot.curve.xData.size == paused_at
    control.step()
    qtbot.waitUntil(lambda: document.n_iter == paused_at + 1, timeout=WAIT)
    assert control.state == "paused"
    control.resume()
    qtbot.waitUntil(lambda: document.n_iter >= paused_at + 3, timeout=WAIT)
    control.stop()
    qtbot.waitUntil(lambda: control.threads_alive == 0, timeout=WAIT)
    assert control.state == "idle"
    assert document.W is not None and document.n_iter > paused_at + 1


def test_continue_after_stop_extends_the_loss_history(qtbot, window):
    run_to_completion(qtbot, window)
    window.control.stop()
    first = window.document.losses
    window.solver_actions.resume.trigger()
    qtbot.waitUntil(lambda: window.control.state == "done", timeout=WAIT)
    assert window.document.n_iter == 24
    assert window.document.losses[:12] == first
    assert window.document.losses[-1] <= first[-1]


def test_reset_forgets_the_factors(qtbot, window):
    run_to_completion(qtbot, window)
    window.solver_actions.reset.trigger()
    assert window.document.W is None and window.document.n_iter == 0
    assert window.loss_plot.curve.xData is None or window.loss_plot.curve.xData.size == 0


def test_closing_while_running_stops_the_solver(qtbot, window):
    document = window.document
    document.set_settings(replace(document.settings, iterations=100_000))
    window.control.run()
    qtbot.waitUntil(lambda: window.control.state == "running", timeout=WAIT)
    job = window.control._job
    assert window.close()
    assert window.control.threads_alive == 0
    assert not job.is_running


def test_a_bad_file_reports_an_error_and_keeps_the_session(qtbot, window, tmp_path):
    run_to_completion(qtbot, window)
    audio, W = window.document.audio, window.document.W  # noqa: N806
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio\n" * 50)
    with qtbot.waitSignal(window.error_reported, timeout=WAIT) as blocker:
        window.open_file(bad)
    assert "'notes.wav' is not a readable audio file" in blocker.args[0]
    assert window.error_box.isVisible()
    assert "notes.wav" in window.error_box.text()
    assert window.document.audio is audio and window.document.W is W
    assert window.windowTitle().startswith("Demo mixture")


def test_a_good_file_opens_and_becomes_recent(qtbot, window, tmp_path, store):
    from dsp.audio import save
    from dsp.demo import make_demo

    path = save(make_demo(duration=1.0).mixture, tmp_path / "short.wav", subtype="float")
    with qtbot.waitSignal(window.loader.loaded, timeout=WAIT):
        window.open_file(path)
    assert window.document.audio.path == path
    assert window.recent_menu.actions()[0].text() == "short.wav"


def test_changing_a_parameter_mid_run_stops_and_offers_a_restart(qtbot, window):
    document, control = window.document, window.control
    document.set_settings(replace(document.settings, iterations=100_000))
    control.run()
    qtbot.waitUntil(lambda: control.state == "running", timeout=WAIT)
    window.parameters.loss.setCurrentIndex(window.parameters.loss.findData("euclidean"))
    assert control.state == "idle"
    qtbot.waitUntil(lambda: window.restart_box is not None and window.restart_box.isVisible())
    assert "loss" in window.restart_box.text()
    window.restart_box.button(QMessageBox.Yes).click()
    qtbot.waitUntil(lambda: control.state == "running", timeout=WAIT)
    assert document.settings.loss == "euclidean"
    control.stop()
    qtbot.waitUntil(lambda: control.threads_alive == 0, timeout=WAIT)


def test_a_new_fft_size_recomputes_the_spectrogram(qtbot, window):
    with qtbot.waitSignal(window.document.audio_changed, timeout=WAIT):
        window.parameters.n_fft.setCurrentIndex(window.parameters.n_fft.findData(1024))
    spec = window.document.spectrogram
    assert (spec.n_fft, spec.hop) == (1024, 256)
    assert window.document.magnitude.shape[0] == 513
    assert window.parameters.hop.value() == 256


def test_layout_and_parameters_are_remembered(qtbot, window, store):
    from app.main_window import MainWindow

    window.parameters.components.setValue(5)
    window.close()
    again = MainWindow(store=store)
    qtbot.addWidget(again)
    assert again.document.settings.n_components == 5
    assert again.parameters.components.value() == 5


def test_saying_how_many_sources_sets_the_default_components_as_the_cli_does(qtbot, window):
    from dsp.pipeline import default_components

    window.parameters.sources.setValue(3)
    settings, frames = window.document.settings, window.document.magnitude.shape[1]
    expected = default_components(3, frames=frames)
    assert settings.n_sources == 3 and settings.n_components == expected
    assert window.parameters.components.value() == expected
    assert window.components.sources_box.value() == 3  # what Auto-group will make
    window.parameters.components.setValue(10)  # the user's own k still wins
    assert window.document.settings.n_components == 10
    window.parameters.sources.setValue(0)
    assert window.document.settings.n_sources is None
    assert window.document.settings.n_components == default_components(None, frames=frames)


@pytest.mark.parametrize(
    "control, typed, used",
    [("components", "500", 64), ("hop", "1", 16), ("iterations", "0", 1)],
)
def test_an_out_of_range_value_is_clamped_and_the_user_told(qtbot, window, control, typed, used):
    box = getattr(window.parameters, control)
    box.setFocus()
    box.lineEdit().selectAll()
    with qtbot.waitSignal(window.parameters.refused) as refused:
        qtbot.keyClicks(box, typed)
        qtbot.keyClick(box, Qt.Key_Return)
    assert typed in refused.args[0] and f"{used} is used" in refused.args[0]
    assert box.value() == used
    if control != "hop":  # a new hop then says that the spectrogram is being recomputed
        assert window.statusBar().currentMessage() == refused.args[0]


def test_the_start_of_a_run_shows_what_it_does_until_the_first_iteration(qtbot, window):
    window.document.set_settings(replace(window.document.settings, init="comb"))
    seen = []
    window.control.initialising.connect(lambda phase, done: seen.append(
        (window.solver_label.text(), done)))
    run_to_completion(qtbot, window)
    assert seen, "the start reported no progress"
    assert all(text.startswith("Initialising from harmonic combs…") for text, _ in seen)
    fractions = [done for _, done in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert window.solver_label.text().startswith("Done · iteration")


def test_comb_start_progress_does_not_change_the_start():
    from dsp.nmf.init import comb_init

    V = np.random.default_rng(0).random((513, 200), dtype=np.float32)  # noqa: N806
    reported = []
    with_progress = comb_init(V, 6, rate=22050, progress=reported.append)
    np.testing.assert_array_equal(with_progress[0], comb_init(V, 6, rate=22050)[0])
    assert reported[0] == pytest.approx(0.1) and reported[-1] == pytest.approx(1.0)
    assert len(reported) == 31  # the NNDSVDa start, then each of the 30 updates


def test_no_two_actions_share_a_shortcut(window):
    # Qt fires neither of two enabled actions with one key ("Ambiguous shortcut overload").
    owners: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            owners.setdefault(key.toString(), []).append(action.text())
    assert "L" in owners and "Shift+L" in owners  # the player's Loop and the Lasso
    shared = {key: names for key, names in owners.items() if len(names) > 1}
    assert not shared, shared
