"""Start the workstation: ``run(argv)`` is what ``python main.py [FILE]`` calls."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from .theme import BACKGROUND, FOREGROUND, apply_theme

__all__ = ["run", "create_application", "make_player", "show_starting", "warm_up_engine"]

#: What the start-up screen says while the window's modules load.
STARTING = "Starting Partwise…"
#: What it says while the NMF engine compiles, on the first start after an install.
COMPILING = "Starting Partwise…\nCompiling the NMF engine, once after an install (~15 s)…"


def create_application(argv: list[str]) -> QApplication:
    """The QApplication (reused if one exists) with Partwise's names and theme."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("Partwise")
    app.setApplicationName("Partwise")
    apply_theme(app)
    return app


def show_starting(app: QApplication) -> QSplashScreen:
    """A start-up screen, painted now, to stay up while the engine and the window load.

    The NMF engine's numba kernels compile on the first start after an install
    (about fifteen seconds here) and load from numba's cache after that;
    without this the user would see nothing meanwhile.
    """
    pixmap = QPixmap(520, 110)
    pixmap.fill(QColor(BACKGROUND))
    splash = QSplashScreen(pixmap)
    splash.showMessage(STARTING, Qt.AlignCenter, QColor(FOREGROUND))
    splash.show()
    app.processEvents()  # painted before the imports hold the GIL
    return splash


def warm_up_engine(splash: QSplashScreen, app: QApplication) -> None:
    """Compile the NMF kernels now, on the GUI thread before any solver thread starts.

    When they are not in numba's cache the start-up screen says they are compiling.
    """
    from dsp.nmf.kernels import warm_up  # here: importing app.gui never loads the engine

    def say_compiling(_message: str) -> None:
        splash.showMessage(COMPILING, Qt.AlignCenter, QColor(FOREGROUND))
        app.processEvents()  # painted before the compilation holds the GIL

    warm_up(report=say_compiling)


def make_player():
    """The audio player, or None when the playback module is not installed."""
    try:
        from .playback.player import Player
    except ImportError:
        return None
    return Player()


def run(argv: list[str]) -> int:
    """Open the window on the file in ``argv`` or on the demo mixture; return the exit code.

    If an instance that is gone left an autosave, restoring it (or the file its
    work was saved as, when that is newer) is offered first; the file or the
    demo opens if the user declines or restoring fails (a damaged autosave is
    set aside, never offered again).
    """
    app = create_application(argv)
    splash = show_starting(app)
    warm_up_engine(splash, app)
    from .main_window import MainWindow  # here: after the start-up screen is up

    window = MainWindow(player=make_player())
    window.show()
    splash.finish(window)
    files = [arg for arg in argv if not arg.startswith("-")]
    window.files.offer_recovery(
        otherwise=(lambda: window.open_file(files[0])) if files else window.open_demo
    )
    return app.exec()
