"""Compare and sweep views inside the window: they hold what the solvers returned, and act."""

import numpy as np

from dsp import nmf
from dsp.compare import method_options

WAIT = 60_000  # ms; a condition wait, not a timing assertion


def test_explore_menu_has_the_three_entries(window):
    titles = [a.text() for a in window.explore.actions.values()]
    assert titles == ["&Design a mixture…", "&Compare methods…", "Choose &k (sweep)…"]


def test_compare_view_holds_the_solvers_results_and_promotes(qtbot, window):
    view = window.explore.show_comparison()
    view.rank.setValue(3)
    view.iterations.setValue(8)
    with qtbot.waitSignal(view.finished, timeout=WAIT):
        view.run()
    V = window.document.magnitude  # noqa: N806
    pca = view.columns["pca"].summary
    assert pca.negative_energy > 0 and (pca.W.min() < 0 or pca.H.min() < 0)
    for method in ("kmeans", "nmf", "sparse", "deep"):
        column = view.columns[method]
        solver = nmf.make_solver(V, 3, **method_options(method, V=V, n_components=3))
        solver.step(8)
        np.testing.assert_array_equal(column.W, solver.W, err_msg=method)
        np.testing.assert_array_equal(column.H, solver.H, err_msg=method)
        assert column.summary.negative_energy == 0.0 and column.summary.n_iter == 8
        assert column.promote.isEnabled()
    assert np.all(np.count_nonzero(view.columns["kmeans"].H, axis=0) == 1)
    assert not view.columns["pca"].promote.isEnabled()
    view.columns["kmeans"].promote.click()
    document = window.document
    assert document.settings.n_components == 3
    np.testing.assert_array_equal(document.W, view.columns["kmeans"].summary.W)
    qtbot.waitUntil(lambda: window.templates.templates is document.W, timeout=WAIT)


def test_clicking_a_sweep_point_sets_k_and_runs_it(qtbot, window):
    view = window.explore.show_sweep()
    view.ranks.setText("1:5")
    view.iterations.setValue(10)
    with qtbot.waitSignal(view.finished, timeout=WAIT):
        view.run()
    assert [p.k for p in view.points] == [1, 2, 3, 4, 5]
    # The fixture's window opens the demo mixture: its true sources are known.
    assert sorted(view.sdr) == [1, 2, 3, 4, 5] and len(view.sdr[3]) == 3
    np.testing.assert_array_equal(view.loss_curve.yData, [p.loss for p in view.points])
    spot = [s for s in view.loss_points.points() if s.data() == 4][0]
    view.loss_points.sigClicked.emit(view.loss_points, [spot], None)
    assert window.document.settings.n_components == 4
    qtbot.waitUntil(lambda: window.document.W is not None, timeout=WAIT)
    assert window.document.W.shape[1] == 4


def test_sweep_scores_against_references_loaded_in_the_scores_panel(qtbot, window, tmp_path):
    from dsp.audio import save
    from dsp.demo import make_demo

    demo = make_demo(duration=2.0)  # the window's demo mixture
    paths = [tmp_path / f"{name}.wav" for name in demo.names[:2]]
    for path, stem in zip(paths, demo.stems):
        save(stem, path, subtype="float")
    window.scores.load_references(paths)
    assert window.document.reference_names == tuple(p.name for p in paths)
    view = window.explore.show_sweep()
    view.ranks.setText("2:3")
    view.iterations.setValue(5)
    with qtbot.waitSignal(view.finished, timeout=WAIT):
        view.run()
    # Two loaded references, not the demo's three known stems.
    assert sorted(view.sdr) == [2, 3] and len(view.sdr[3]) == 2


def test_opening_other_audio_clears_the_references(qtbot, window, tmp_path):
    from dsp.audio import save

    window.document.set_references([window.document.audio.samples], ["mix.wav"])
    path = tmp_path / "other.wav"
    save(window.document.audio, path, subtype="float")
    with qtbot.waitSignal(window.document.references_changed, timeout=WAIT):
        window.loader.open_file(path)
    assert window.document.references == ()


def test_compare_columns_say_they_have_not_run_and_show_seconds(window):
    view = window.explore.show_comparison()
    for method, column in view.columns.items():
        assert column.figures.text() == "not run yet", method
        assert not column.hint.isHidden() and "press Compare" in column.hint.text(), method
        t0, t1 = column.activations.getViewBox().viewRange()[0]
        assert (t0, t1) == (0.0, window.document.audio.duration), method
        assert column.activations.getAxis("left").autoSIPrefixScale == 1.0, method


def test_the_sweep_hints_before_running_and_hides_the_sdr_note_with_the_demo_open(window):
    view = window.explore.show_sweep()
    assert not view.hint.isHidden() and "Sweep" in view.hint.text()
    assert view.loss_plot.getViewBox().viewRange()[0] == [0.5, 24.5]  # the ranks typed in
    assert view.references_known()
    assert view.sdr_note.isHidden()


def test_the_sweep_notes_that_sdr_needs_sources_for_a_file_without_references(
        qtbot, window, tmp_path):
    from dsp.audio import save

    view = window.explore.show_sweep()
    path = tmp_path / "take.wav"
    save(window.document.audio, path, subtype="float")
    with qtbot.waitSignal(window.document.audio_changed, timeout=WAIT):
        window.loader.open_file(path)
    assert not view.references_known()
    assert not view.sdr_note.isHidden()
    window.document.set_references([window.document.audio.samples], ["take.wav"])
    assert view.sdr_note.isHidden()
