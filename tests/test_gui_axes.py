"""Axes that read right: decade labels on the loss, seconds and hertz before audio,
and time ranges that line up between the spectrogram and the activations."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from app.views.axes import DecadeAxis, decade_ticks

WAIT = 30_000  # ms; a condition wait, not a timing assertion


def test_a_log_axis_over_two_decades_labels_the_decades_only(qtbot):
    axis = DecadeAxis("left")
    axis.setLogMode(False, True)
    levels = axis.tickValues(2.2, 4.6, 300)  # 158 … 40 000: minor ticks in every decade
    labelled = levels[0][1]
    assert labelled == [3.0, 4.0]
    assert axis.tickStrings(labelled, 1.0, levels[0][0]) == ["10³", "10⁴"]
    assert len(levels[1][1]) > 10 and all(not float(v).is_integer() for v in levels[1][1])
    assert axis.style["maxTextLevel"] == 0  # the minor level is marks only


def test_crowded_decades_are_thinned_and_a_short_range_gets_1_2_5_labels():
    assert decade_ticks(0.0, 12.0, 100)[0][1] == [0.0, 4.0, 8.0, 12.0]
    labels = decade_ticks(3.1, 3.9, 300)[0][1]
    np.testing.assert_allclose(labels, np.log10([2000, 5000]))


def test_the_loss_plot_labels_never_crowd_after_a_run(qtbot, window):
    from PySide6.QtGui import QFontMetrics

    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=WAIT):
        window.control.run()
    axis = window.loss_plot.getAxis("left")
    low, high = window.loss_plot.getViewBox().viewRange()[1]
    labelled = np.array(axis.tickValues(low, high, axis.height())[0][1])
    # A short axis over less than a decade may have room for one label only.
    assert labelled.size >= 1
    mantissas = np.round(10 ** (labelled - np.floor(labelled)), 6)
    assert set(mantissas) <= {1.0, 2.0, 5.0}  # decades, or 1-2-5 within one
    pixels = np.diff(labelled) * axis.height() / (high - low)
    assert pixels.size == 0 or pixels.min() > 1.5 * QFontMetrics(axis.font()).height()


def test_an_empty_spectrogram_shows_seconds_and_the_audible_range(qtbot):
    from app.document import Document
    from app.views.spectrogram import SpectrogramView

    for mode in ("mixture", "model"):
        view = SpectrogramView(Document(), mode=mode)
        qtbot.addWidget(view)
        view.resize(600, 300)
        view.show()
        (t0, t1), (y0, y1) = view.plot.vb.viewRange()
        assert t0 >= 0.0 and 1.0 <= t1 <= 60.0, mode  # seconds, not ±400 ms
        assert view.plot.getAxis("bottom").labelUnits == "s"
        assert np.isclose(10**y0, 20.0) and 10**y1 >= 20_000.0, mode


def test_activations_show_the_same_times_as_the_spectrogram_after_a_run(qtbot, window):
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=WAIT):
        window.control.run()
    spectrogram = window.spectrogram.plot.vb
    activations = window.activations.getViewBox()
    duration = window.document.audio.duration
    assert np.allclose(spectrogram.viewRange()[0], (0.0, duration))
    qtbot.waitUntil(lambda: np.allclose(activations.viewRange()[0], (0.0, duration),
                                        atol=duration / 200), timeout=WAIT)
    spectrogram.setXRange(0.5, 1.5, padding=0)
    qtbot.waitUntil(lambda: np.allclose(activations.viewRange()[0], (0.5, 1.5), atol=0.01),
                    timeout=WAIT)


def test_an_empty_loss_plot_spans_the_iterations_to_come_without_loss_values(qtbot):
    from app.document import Document
    from app.views.loss_plot import LossPlot

    document = Document()
    plot = LossPlot(document)
    qtbot.addWidget(plot)
    assert plot.getViewBox().viewRange()[0] == [1.0, float(document.settings.iterations)]
    assert not plot.getAxis("left").style["showValues"]


@given(done=st.integers(1, 10**7), planned=st.integers(2, 10**6))
def test_the_loss_plots_iteration_span_holds_the_run_and_grows_in_steps(done, planned):
    from app.views.loss_plot import iteration_span

    span = iteration_span(done, planned)
    assert span >= done  # every iteration done is shown
    if done <= planned:
        assert span == planned  # a planned run's span is fixed from its start
    else:
        assert 3 * span <= 4 * done  # never more than a quarter empty
        # A step: the same span for every count up to it, so the axis is redrawn rarely.
        assert iteration_span(span, planned) == span


@given(low=st.floats(1e-20, 1e20), ratio=st.floats(1.0, 1e6))
def test_the_loss_plots_decade_span_holds_the_losses_in_tenths_of_a_decade(low, ratio):
    from app.views.loss_plot import decade_span

    high = low * ratio
    a, b = decade_span(low, high)
    assert a < np.log10(low) and b > np.log10(high)
    assert np.isclose(a * 10, round(a * 10)) and np.isclose(b * 10, round(b * 10))


def test_the_loss_plot_follows_a_run_until_the_user_zooms_and_again_at_the_next_run(qtbot):
    from app.document import Document
    from app.views.loss_plot import LossPlot

    document = Document()
    plot = LossPlot(document)
    qtbot.addWidget(plot)
    view = plot.getViewBox()
    losses = 1e4 * np.exp(-np.arange(1, 301) / 40.0) + 10.0

    def show(history):  # what a snapshot does to the plot, without a solver
        document._losses = tuple(history)
        plot._on_factors_changed()

    show(losses[:250])  # past the planned 200 iterations
    (x0, x1), (y0, y1) = view.viewRange()
    assert x0 == 1 and 250 <= x1 <= 250 * 4 / 3
    assert y0 < np.log10(losses[249]) and y1 > np.log10(losses[0])
    view.setRange(xRange=(10, 50), padding=0)
    view.sigRangeChangedManually.emit([True, True])  # as a mouse zoom reports it
    show(losses[:300])
    assert view.viewRange()[0] == [10.0, 50.0]  # the user's view stays
    show(losses[:5])  # a new run starts over
    assert view.viewRange()[0] == [1.0, float(document.settings.iterations)]
