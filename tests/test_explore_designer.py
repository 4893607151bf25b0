"""The mixture designer: the mixture its sliders describe, live separation, overlap warnings."""

from dataclasses import replace

import numpy as np
import pytest

from app.explore.designer import DURATION, RATE, DesignerDialog
from dsp.demo import render_source

WAIT = 30_000  # ms; a condition wait, not a timing assertion


@pytest.fixture
def designer(qtbot):
    used = []
    dialog = DesignerDialog(use_mixture=used.append)
    dialog.used = used
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy and dialog.separation is not None, timeout=WAIT)
    yield dialog
    dialog.shutdown()


def settle(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT)


def test_the_mixture_is_the_sum_of_the_sources_the_sliders_describe(qtbot, designer):
    editor = designer.editors[1]
    editor.sliders["n_harmonics"].set_value(3)
    editor.sliders["period"].set_value(0.4)
    designer.editors[2].setChecked(False)
    settle(qtbot, designer)
    sources = designer.sources()
    assert len(sources) == 2 and sources[1].n_harmonics == 3 and sources[1].period == 0.4
    assert designer.demo.sources == sources
    expected = sum(render_source(s, duration=DURATION, rate=RATE) for s in sources)
    np.testing.assert_allclose(designer.demo.mixture.samples, expected, atol=1e-6)
    assert designer.separation.demo is designer.demo
    assert len(designer.separation.sdr) == 2
    assert designer.image.image.shape[1] == designer.spectrogram.shape[1]


def test_moving_fundamentals_together_degrades_separation_and_is_explained(qtbot, designer):
    designer.editors[2].setChecked(False)
    designer.editors[1].sliders["f0"].set_value(311.1)  # a tritone and more above the bass
    settle(qtbot, designer)
    apart = designer.separation.sdr
    assert designer.warning.text() == ""
    bass = designer.editors[0].spec()
    designer.editors[1].set_spec(replace(designer.editors[1].spec(), f0=bass.f0))
    settle(qtbot, designer)
    together = designer.separation.sdr
    assert min(together) < min(apart)
    assert "bass and lead share their fundamental" in designer.warning.text()
    assert "cannot tell them apart" in designer.warning.text()


def test_a_burst_of_changes_runs_the_newest_parameters_last(qtbot, designer):
    slider = designer.editors[0].sliders["n_harmonics"]
    for n in range(2, 12):
        slider.set_value(n)
        designer.request()  # bypass the debounce: every change hits a running job
    settle(qtbot, designer)
    assert designer.separation.demo.sources[0].n_harmonics == 11


def test_use_this_mixture_hands_over_the_current_design(qtbot, designer):
    designer.use_button.click()
    assert len(designer.used) == 1
    assert designer.used[0].sources == designer.sources()
