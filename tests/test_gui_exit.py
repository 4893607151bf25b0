"""Closing the window and leaving the process is clean: no traceback, no abort."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from app.session_files import ASK_TO_SAVE_KEY
from app.gui import create_application
from app.main_window import MainWindow
from dsp.demo import make_demo
from dsp.stft import analyse

app = create_application([])
store = QSettings(os.environ["STORE"], QSettings.IniFormat)
store.setValue(ASK_TO_SAVE_KEY, False)
window = MainWindow(store=store)
window.show()
audio = make_demo(duration=2.0).mixture
window.document.set_audio(audio, analyse(audio.samples, audio.rate))
app.processEvents()
window.close()
print("closed")
"""


def test_closing_the_window_exits_cleanly(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **__import__("os").environ,
            "STORE": str(tmp_path / "s.ini"),
            "PARTWISE_DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "closed"
    assert "Traceback" not in proc.stderr, proc.stderr
