"""Autosave recovery after a crash: a real app process is killed, then its work restored."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from app.document import Document  # noqa: E402
from app.persistence import (  # noqa: E402
    Autosaver,
    discard_recovery,
    open_session,
    pending_recovery,
)

ROOT = Path(__file__).resolve().parent.parent

# The "app": a session with factors and edited components, autosaving every 50 ms.
# It never closes cleanly; a guard timer ends it if the test never kills it.
APP_SCRIPT = """
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.persistence import Autosaver
from app.document import Document
from dsp.audio import Audio, save
from dsp.pipeline import Settings
from dsp.stft import analyse

work = Path(sys.argv[1])
app = QApplication([])
rng = np.random.default_rng(3)
audio = Audio(rng.uniform(-0.5, 0.5, (6000, 1)).astype(np.float32), 8000, work / "take.wav")
save(audio, audio.path, subtype="float")
document = Document(Settings(n_components=2, n_fft=256, hop=64))
document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
bins, frames = document.magnitude.shape
W = rng.random((bins, 2), dtype=np.float32)
H = rng.random((2, frames), dtype=np.float32)
document.set_factors(W, H, (5.0, 4.0))
document.set_component_name(1, "Hi-hat")
document.set_gain(0, 0.5)
np.savez(work / "expected.npz", W=W, H=H)
autosaver = Autosaver(document, interval_ms=50)
autosaver.saved.connect(lambda path: print("autosaved", path, flush=True))
autosaver.failed.connect(lambda message: print("failed", message, flush=True))
autosaver.start()
QTimer.singleShot(20_000, app.quit)
app.exec()
"""


def kill_after_autosave(script: str, folder: Path) -> None:
    """Run ``script`` in a real process, kill it once it says it autosaved."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = app.stdout.readline()
    finally:
        app.kill()
        _, errors = app.communicate()
    assert first_line.startswith("autosaved"), errors
    assert app.returncode != 0  # killed, not a clean exit


def test_killed_app_leaves_an_autosave_that_restores_its_work(qtbot, tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(data))
    kill_after_autosave(APP_SCRIPT, tmp_path)

    recovery = pending_recovery()
    assert recovery.autosave.parent == data and recovery.autosave.name.startswith("autosave-")
    assert recovery.session is None
    restored = Document()
    open_session(recovery.autosave, restored)
    expected = np.load(tmp_path / "expected.npz")
    np.testing.assert_array_equal(restored.W, expected["W"])
    np.testing.assert_array_equal(restored.H, expected["H"])
    assert restored.losses == (5.0, 4.0)
    assert restored.components[1].name == "Hi-hat"
    assert [c.gain for c in restored.components] == [0.5, 1.0]
    assert restored.audio.path == tmp_path / "take.wav"


def test_clean_close_leaves_nothing_to_recover(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(tmp_path))
    autosaver = Autosaver(Document())
    autosaver.path.write_bytes(b"this instance's autosave")
    autosaver.clear()
    assert list(tmp_path.iterdir()) == []


def test_declined_recovery_is_not_offered_again(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(tmp_path))
    (tmp_path / "autosave.partwise").write_bytes(b"left by a crash")  # no lock: its owner is gone
    recovery = pending_recovery()
    assert recovery.autosave == tmp_path / "autosave.partwise"
    discard_recovery(recovery.autosave)
    assert pending_recovery() is None


# The real window: a demo run completes (so it autosaves), then the process is killed.
WINDOW_SCRIPT = """
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QTimer

from app.gui import create_application
from app.main_window import MainWindow

work = Path(sys.argv[1])
app = create_application([])
window = MainWindow(store=QSettings(str(work / "app.ini"), QSettings.IniFormat))
window.show()
document = window.document
document.set_settings(replace(document.settings, n_components=4, iterations=15))


def loaded(_name):
    document.set_component_name(0, "Kick")
    document.set_mute(2, True)
    window.control.run()


def autosaved(path):
    np.savez(work / "expected.npz", W=document.W, H=document.H)
    print("autosaved", path, flush=True)


window.loader.loaded.connect(loaded)
window.files.autosaver.saved.connect(autosaved)
window.open_demo()
QTimer.singleShot(60_000, app.quit)
app.exec()
"""


def test_killed_window_is_offered_for_recovery_at_the_next_start(qtbot, tmp_path, store):
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    kill_after_autosave(WINDOW_SCRIPT, tmp_path)

    window = MainWindow(store=store)  # the next start, as app.gui.run does it
    qtbot.addWidget(window)
    window.show()
    fallback = []
    assert window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    with qtbot.waitSignal(window.files.session_opened, timeout=30_000):
        window.files.recovery_box.button(QMessageBox.Yes).click()
    expected = np.load(tmp_path / "expected.npz")
    np.testing.assert_array_equal(window.document.W, expected["W"])
    np.testing.assert_array_equal(window.document.H, expected["H"])
    assert window.document.n_iter == 15 and fallback == []
    assert window.document.components[0].name == "Kick" and window.document.components[2].mute
    assert window.windowTitle() == "Recovered session[*] — Partwise"
