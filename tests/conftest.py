"""Shared fixtures. Qt runs offscreen: the platform must be chosen before Qt is imported."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """A data folder of the test's own, so autosaves never touch the user's."""
    folder = tmp_path / "data"
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def store(tmp_path):
    """A QSettings file of the test's own, so tests never read or write the user's settings.

    Closing a window with unsaved changes does not ask here; the tests of that
    question turn it on.
    """
    from PySide6.QtCore import QSettings

    from app.session_files import ASK_TO_SAVE_KEY

    settings = QSettings(str(tmp_path / "partwise.ini"), QSettings.IniFormat)
    settings.setValue(ASK_TO_SAVE_KEY, False)
    return settings


@pytest.fixture
def window(qtbot, store):
    """The main window with a short demo mixture open and 12 iterations per run."""
    from dataclasses import replace

    from app.main_window import MainWindow

    win = MainWindow(store=store)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.document.audio_changed, timeout=20_000):
        win.loader.open_demo(duration=2.0)
    win.document.set_settings(replace(win.document.settings, iterations=12))
    yield win
    win.close()


def demo_wav(folder, **options):
    """The stereo demo mixture written to ``folder/mix.wav`` as float: a CLI input."""
    import soundfile as sf

    from dsp.demo import make_demo

    path = folder / "mix.wav"
    demo = make_demo(**options)
    sf.write(path, demo.mixture.samples, demo.mixture.rate, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def mix_wav(tmp_path_factory):
    """Three seconds of the stereo demo at 22.05 kHz: the CLI tests' input."""
    return demo_wav(tmp_path_factory.mktemp("in"), duration=3.0)


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    """Half a minute at 44.1 kHz: long enough to interrupt, and stems take a while to write."""
    return demo_wav(tmp_path_factory.mktemp("long"), duration=30.0, rate=44_100)


@pytest.fixture(scope="module")
def song_tree(tmp_path_factory, mix_wav):
    """A batch's input: three two-second songs, two of one name in different subfolders.

    Each is a different stretch of the demo, so a stem set written for the
    wrong file shows.
    """
    import soundfile as sf

    root = tmp_path_factory.mktemp("songs")
    samples, rate = sf.read(mix_wav, dtype="float32")
    for i, name in enumerate(("a/song.wav", "b/song.wav", "c.flac")):
        path = root / name
        path.parent.mkdir(exist_ok=True)
        start = i * rate // 2
        sf.write(path, samples[start:start + 2 * rate], rate)
    return root
