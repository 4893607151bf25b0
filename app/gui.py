"""Start the workstation: ``run(argv)`` is what ``python main.py [FILE]`` calls."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from .theme import BACKGROUND, FOREGROUND, apply_theme

__all__ = ["run", "create_application", "make_player", "show_starting"]

#: What the start-up screen says while the window's modules load.
STARTING = (
    "Starting Partwise…\n"
    "The first start after an install compiles the NMF engine (some seconds);\n"
    "later starts take about a second."
)


def create_application(argv: list[str]) -> QApplication:
    """The QApplication (reused if one exists) with Partwise's names and theme."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("Partwise")
    app.setApplicationName("Partwise")
    apply_theme(app)
    return app


def show_starting(app: QApplication) -> QSplashScreen:
    """A start-up screen, painted now, to stay up while the window's modules load.

    Importing the window imports the NMF engine, whose numba kernels compile on
    the first start after an install (about ten seconds here) and load from
    numba's cache after that; without this the user would see nothing meanwhile.
    """
    pixmap = QPixmap(520, 110)
    pixmap.fill(QColor(BACKGROUND))
    splash = QSplashScreen(pixmap)
    splash.showMessage(STARTING, Qt.AlignCenter, QColor(FOREGROUND))
    splash.show()
    app.processEvents()  # painted before the imports hold the GIL
    return splash


def make_player():
    """The audio player, or None when the playback module is not installed."""
    try:
        from .playback.player import Player
    except ImportError:
        return None
    return Player()


def run(argv: list[str]) -> int:
    """Open the window on the file in ``argv`` or on the demo mixture; return the exit code.

    If the last run did not close cleanly, restoring its autosave is offered
    first; the file or the demo opens only if the user declines.
    """
    app = create_application(argv)
    splash = show_starting(app)
    from .main_window import MainWindow  # here: the engine may compile meanwhile

    window = MainWindow(player=make_player())
    window.show()
    splash.finish(window)
    files = [arg for arg in argv if not arg.startswith("-")]
    window.files.offer_recovery(
        otherwise=(lambda: window.open_file(files[0])) if files else window.open_demo
    )
    return app.exec()
