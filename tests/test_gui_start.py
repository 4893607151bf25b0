"""Starting the workstation: something is on screen before the NMF engine loads."""

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.gui import COMPILING, STARTING, show_starting, warm_up_engine
from app.theme import BACKGROUND, FOREGROUND

ROOT = Path(__file__).resolve().parents[1]


def test_the_start_up_screen_says_what_is_happening_until_the_window_shows(qtbot, qapp):
    splash = show_starting(qapp)
    qtbot.addWidget(splash)
    assert splash.isVisible()
    assert splash.message() == STARTING
    image = splash.grab().toImage()
    colours = {
        image.pixelColor(x, y).name()
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    }
    assert QColor(BACKGROUND).name() in colours
    # the message is drawn: pixels near the text colour, not only the background
    text = QColor(FOREGROUND)
    assert any(
        abs(QColor(c).red() - text.red()) + abs(QColor(c).green() - text.green()) < 60
        for c in colours
    )
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    splash.finish(window)
    qtbot.waitUntil(lambda: not splash.isVisible(), timeout=5_000)


@pytest.mark.parametrize("compiles", [True, False])
def test_the_start_up_screen_says_when_the_engine_compiles(qtbot, qapp, monkeypatch, compiles):
    from dsp.nmf import kernels

    def warm_up(report=None):
        if compiles:  # what warm_up does when the kernels are not in numba's cache
            report(kernels.COMPILING)
        shown.append(splash.message())

    shown = []
    monkeypatch.setattr(kernels, "warm_up", warm_up)
    splash = show_starting(qapp)
    qtbot.addWidget(splash)
    warm_up_engine(splash, qapp)
    assert shown == [COMPILING if compiles else STARTING]


def test_the_gui_module_loads_without_the_nmf_engine():
    """So ``run`` can show the start-up screen before the engine's kernels compile."""
    script = "import sys, app.gui; print('dsp.nmf' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
