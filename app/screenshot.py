"""Render the window after a demo run to ``docs/screenshot.png``: ``python -m app.screenshot``.

Runs offscreen (no display needed) with throwaway settings, so the picture
shows the defaults a first-time user sees.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402

from .gui import create_application  # noqa: E402
from .main_window import MainWindow  # noqa: E402
from .session_files import ASK_TO_SAVE_KEY  # noqa: E402

__all__ = ["render", "main"]

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


def render(path: Path = DEFAULT_PATH, *, size: tuple[int, int] = (1600, 1000)) -> Path:
    """Open the demo, factorise it, group it, select a component; save the window to ``path``."""
    app = create_application([])
    with tempfile.TemporaryDirectory() as folder:
        store = QSettings(str(Path(folder) / "s.ini"), QSettings.IniFormat)
        store.setValue(ASK_TO_SAVE_KEY, False)  # closing must not wait for an answer
        window = MainWindow(store=store)
        window.resize(*size)
        window.show()

        def capture(state: str) -> None:
            if state != "done":
                return
            window.components.group_button.click()  # the demo's three sources
            window.document.select_component(1)
            window.reconstruction.set_mode("component")
            QTimer.singleShot(300, finish)

        def finish() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(path))
            window.close()
            app.quit()

        window.document.audio_changed.connect(window.control.run)
        window.control.state_changed.connect(capture)
        window.open_demo()
        app.exec()
    return path


def main() -> int:
    """Write the screenshot and print where."""
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
