"""Start the workstation: ``run(argv)`` is what ``python main.py [FILE]`` calls."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .theme import apply_theme

__all__ = ["run", "create_application", "make_player"]


def create_application(argv: list[str]) -> QApplication:
    """The QApplication (reused if one exists) with Partwise's names and theme."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("Partwise")
    app.setApplicationName("Partwise")
    apply_theme(app)
    return app


def make_player():
    """The audio player, or None when the playback module is not installed."""
    try:
        from .player import Player
    except ImportError:
        return None
    return Player()


def run(argv: list[str]) -> int:
    """Open the window on the file in ``argv`` or on the demo mixture; return the exit code.

    If the last run did not close cleanly, restoring its autosave is offered
    first; the file or the demo opens only if the user declines.
    """
    app = create_application(argv)
    window = MainWindow(player=make_player())
    window.show()
    files = [arg for arg in argv if not arg.startswith("-")]
    window.files.offer_recovery(
        otherwise=(lambda: window.open_file(files[0])) if files else window.open_demo
    )
    return app.exec()
