"""The export dialog and its background job: what is written, and what is never left behind."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

import app.dialogs.export  # noqa: E402
from app.dialogs.export import ExportDialog, ExportJob, ExportOptions  # noqa: E402
from app.document import Document  # noqa: E402
from dsp.audio import Audio, load, save  # noqa: E402
from dsp.pipeline import Separation, Settings, export_stems  # noqa: E402
from dsp.separation import separate  # noqa: E402
from dsp.stft import analyse  # noqa: E402

SETTINGS = Settings(n_components=3, n_fft=256, hop=64)


@pytest.fixture
def document(qtbot, tmp_path):
    """A stereo mixture on disk ('mix.wav'), random factors, components 1 and 2 in one source."""
    rng = np.random.default_rng(0)
    path = tmp_path / "mix.wav"
    save(Audio(rng.uniform(-0.5, 0.5, (4000, 2)).astype(np.float32), 8000), path, subtype="float")
    audio = load(path)
    document = Document(SETTINGS)
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
    bins, frames = document.magnitude.shape
    document.set_factors(
        rng.random((bins, 3), dtype=np.float32) + 0.01,
        rng.random((3, frames), dtype=np.float32) + 0.01,
        (2.0, 1.0),
    )
    document.assign_sources([[0], [1, 2]])
    return document


def make_dialog(qtbot, document, folder, *, what="components", fmt="WAV, 32-bit float", **kw):
    """An export dialog set to write ``what`` as ``fmt`` into ``folder``."""
    dialog = ExportDialog(document, **kw)
    qtbot.addWidget(dialog)
    dialog.what_combo.setCurrentIndex(dialog.what_combo.findData(what))
    dialog.format_combo.setCurrentText(fmt)
    dialog.folder_edit.setText(str(folder))
    return dialog


def run_export(qtbot, dialog) -> tuple[str, str]:
    """Start the export, wait for its outcome and for the thread to end."""
    with qtbot.waitSignal(dialog.export_ended, timeout=30_000) as blocker:
        assert dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None)
    return tuple(blocker.args)


def preview(dialog) -> list[str]:
    """File names the dialog shows."""
    return [dialog.preview.item(i).text() for i in range(dialog.preview.count())]


def expected_stems(document, groups):
    """What dsp.separation renders for ``groups``."""
    return list(
        separate(
            document.spectrogram, document.W, document.H, groups, power=document.settings.mask_power
        )
    )


def test_components_match_the_separation_and_sum_to_the_mixture(qtbot, document, tmp_path):
    dialog = make_dialog(qtbot, document, tmp_path / "out")
    names = preview(dialog)
    assert names == ["mix_" + c.name + ".wav" for c in document.components] + ["manifest.json"]
    assert run_export(qtbot, dialog)[0] == "exported"
    written = [sf.read(tmp_path / "out" / n, dtype="float32")[0] for n in names[:-1]]
    for stem, expected in zip(written, expected_stems(document, [[0], [1], [2]])):
        np.testing.assert_array_equal(stem, expected)
    np.testing.assert_allclose(sum(written), document.audio.samples, atol=1e-5)


def test_sources_match_the_separation_of_the_session_groups(qtbot, document, tmp_path):
    document.rename_source(0, "Drums")
    document.rename_source(1, "Bass/Synth")
    dialog = make_dialog(qtbot, document, tmp_path, what="sources")
    dialog.pattern_edit.setText("{file}_{index}_{source}.wav")
    # The sources' names, made safe for every file system.
    assert preview(dialog)[:2] == ["mix_1_Drums.wav", "mix_2_Bass_Synth.wav"]
    run_export(qtbot, dialog)
    for name, expected in zip(preview(dialog), expected_stems(document, document.groups())):
        np.testing.assert_array_equal(sf.read(tmp_path / name, dtype="float32")[0], expected)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["source"] for s in manifest["stems"]] == ["Drums", "Bass/Synth"]
    assert [s["components"] for s in manifest["stems"]] == [[1], [2, 3]]


def test_the_dialog_offers_sources_once_the_user_has_made_them(qtbot, document, tmp_path):
    assert make_dialog_default(qtbot, document).what_combo.currentData() == "sources"
    document.assign_sources([[0], [1], [2]])
    assert make_dialog_default(qtbot, document).what_combo.currentData() == "components"


def make_dialog_default(qtbot, document):
    dialog = ExportDialog(document)
    qtbot.addWidget(dialog)
    return dialog


def test_audible_mix_applies_gain_mute_and_solo(qtbot, document, tmp_path):
    document.set_gain(0, 0.5)
    document.set_mute(2, True)
    dialog = make_dialog(qtbot, document, tmp_path / "out", what="mix")
    run_export(qtbot, dialog)
    mix = sf.read(tmp_path / "out" / "mix_audible_mix.wav", dtype="float32")[0]
    components = expected_stems(document, [[0], [1], [2]])
    np.testing.assert_allclose(mix, 0.5 * components[0] + components[1], atol=1e-5)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["stems"] == [
        {"file": "mix_audible_mix.wav", "components": [1, 2], "gains": [0.5, 1.0]}
    ]


def test_selected_components_only(qtbot, document, tmp_path):
    document.select_component(1)
    dialog = make_dialog(qtbot, document, tmp_path / "out", what="selected")
    run_export(qtbot, dialog)
    stems = sorted(p.name for p in (tmp_path / "out").glob("*.wav"))
    assert stems == [f"mix_{document.components[1].name}.wav"]
    np.testing.assert_array_equal(
        sf.read(tmp_path / "out" / stems[0], dtype="float32")[0], expected_stems(document, [[1]])[0]
    )


def test_manifest_has_the_cli_keys(qtbot, document, tmp_path):
    separation = Separation(
        document.audio,
        document.spectrogram,
        SETTINGS,
        document.W,
        document.H,
        list(document.losses),
        [[0], [1], [2]],
    )
    export_stems(separation, tmp_path / "cli")
    cli = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    run_export(qtbot, make_dialog(qtbot, document, tmp_path / "gui", fmt="FLAC, 16-bit"))
    gui = json.loads((tmp_path / "gui" / "manifest.json").read_text())
    assert set(cli) <= set(gui)
    for key in ("input", "sample_rate", "channels", "frames", "parameters", "iterations"):
        assert gui[key] == cli[key]
    assert [s["components"] for s in gui["stems"]] == [s["components"] for s in cli["stems"]]
    assert gui["format"] == "flac" and gui["sample_format"] == "pcm16"
    info = sf.info(str(tmp_path / "gui" / gui["stems"][0]["file"]))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (8000, 2, 4000, "PCM_16")


def test_factors_losses_and_plots_are_exported(qtbot, document, tmp_path):
    plot = QLabel("templates")
    plot.resize(120, 80)
    dialog = make_dialog(qtbot, document, tmp_path, plots={"templates": plot})
    for check in (dialog.npz_check, dialog.csv_check, dialog.losses_check, dialog.plots_check):
        check.setChecked(True)
    extras = [
        "mix_factors.npz",
        "mix_templates.csv",
        "mix_activations.csv",
        "mix_losses.csv",
        "mix_templates.png",
    ]
    assert preview(dialog)[3:] == [*extras, "manifest.json"]
    run_export(qtbot, dialog)
    with np.load(tmp_path / "mix_factors.npz") as factors:
        np.testing.assert_array_equal(factors["templates"], document.W)
        np.testing.assert_array_equal(factors["activations"], document.H)
    with open(tmp_path / "mix_templates.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["frequency_hz"] + [c.name for c in document.components]
    np.testing.assert_allclose(np.array(rows[1:], float)[:, 1:], document.W, rtol=1e-6)
    with open(tmp_path / "mix_losses.csv", newline="") as fh:
        assert list(csv.reader(fh)) == [["iteration", "loss"], ["1", "2"], ["2", "1"]]
    assert QImage(str(tmp_path / "mix_templates.png")).width() == 120
    assert json.loads((tmp_path / "manifest.json").read_text())["files"] == extras


def test_bad_patterns_disable_export_and_say_why(qtbot, document, tmp_path):
    dialog = make_dialog(qtbot, document, tmp_path)
    dialog.pattern_edit.setText("{file}_{bogus}")
    assert not dialog.export_button.isEnabled()
    assert "{bogus}" in dialog.message_label.text()
    dialog.pattern_edit.setText("{file}")
    assert not dialog.export_button.isEnabled()
    assert "{index}" in dialog.message_label.text()
    dialog.pattern_edit.setText("{index:02d}_{name}")
    assert dialog.export_button.isEnabled()
    assert preview(dialog)[0] == f"01_{document.components[0].name}.wav"


def test_cancelled_job_removes_every_staged_file(qtbot, document, tmp_path):
    folder = tmp_path / "out"
    job = ExportJob(document, ExportOptions(folder=folder, losses_csv=True))
    seen_while_running = []

    def cancel_after_first_stem():
        seen_while_running.extend(os.listdir(folder))
        job.quit()

    job.progressed.connect(cancel_after_first_stem, Qt.DirectConnection)
    with qtbot.waitSignal(job.aborted, timeout=30_000):
        job.start()
    job.wait()
    assert any(name.endswith(".stage") for name in seen_while_running)
    assert os.listdir(folder) == []


class CancelAfterFirstFile(ExportJob):
    """A job the user cancels as soon as its first file is staged."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.progressed.connect(self.quit, Qt.DirectConnection)


def test_cancelled_export_keeps_existing_files_and_says_so(qtbot, document, tmp_path, monkeypatch):
    monkeypatch.setattr(app.dialogs.export, "ExportJob", CancelAfterFirstFile)
    dialog = make_dialog(qtbot, document, tmp_path, confirm_overwrite=lambda paths: True)
    first = tmp_path / preview(dialog)[0]
    first.write_bytes(b"an older take")
    outcome, message = run_export(qtbot, dialog)
    assert outcome == "cancelled"
    assert "cancelled" in message and "Nothing was written" in message
    assert first.read_bytes() == b"an older take"
    assert sorted(os.listdir(tmp_path)) == ["mix.wav", first.name]


def test_unwritable_folder_is_a_clear_error_and_touches_nothing(qtbot, document, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    dialog = make_dialog(qtbot, document, blocker / "stems")
    outcome, message = run_export(qtbot, dialog)
    assert outcome == "failed"
    assert "stems" in message and "Nothing was written" in message
    assert dialog.message_label.text() == message
    assert blocker.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["mix.wav", "notes.txt"]


def test_overwrite_prompt_lists_existing_files_and_no_keeps_them(qtbot, document, tmp_path):
    asked = []
    dialog = make_dialog(
        qtbot, document, tmp_path, confirm_overwrite=lambda paths: asked.append(paths) or False
    )
    names = preview(dialog)
    for name in (names[1], "manifest.json"):
        (tmp_path / name).write_text("old")
    assert not dialog.start_export()
    assert asked == [[tmp_path / names[1], tmp_path / "manifest.json"]]
    assert (tmp_path / names[1]).read_text() == "old"
    assert not (tmp_path / names[0]).exists()


def test_overwrite_prompt_yes_replaces_the_files(qtbot, document, tmp_path):
    dialog = make_dialog(qtbot, document, tmp_path, confirm_overwrite=lambda paths: True)
    target = tmp_path / preview(dialog)[0]
    target.write_text("old")
    assert run_export(qtbot, dialog)[0] == "exported"
    assert sf.info(str(target)).frames == 4000


def test_failure_part_way_removes_staged_stems_and_reports_the_cause(
    qtbot, document, tmp_path, monkeypatch
):
    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.export_job._write_csv", disk_full)
    dialog = make_dialog(qtbot, document, tmp_path / "out")
    dialog.losses_check.setChecked(True)
    outcome, message = run_export(qtbot, dialog)
    assert outcome == "failed"
    assert "could not write 'mix_losses.csv' (no space left on device)" in message
    assert "Nothing was written" in message
    assert os.listdir(tmp_path / "out") == []


def test_gui_export_equals_the_cli_replay_of_the_saved_session(qtbot, document, tmp_path):
    from app.cli.separate import run_separate
    from app.persistence import save_session

    save_session(document, tmp_path / "work.partwise")
    argv = [
        "--session",
        str(tmp_path / "work.partwise"),
        "--out",
        str(tmp_path / "cli"),
        "--sample-format",
        "float",
        "--quiet",
    ]
    assert run_separate(argv) == 0
    dialog = make_dialog(qtbot, document, tmp_path / "gui", what="sources")
    dialog.pattern_edit.setText("{name}")
    run_export(qtbot, dialog)
    cli = sorted(p.name for p in (tmp_path / "cli").glob("*.wav"))
    assert cli == sorted(p.name for p in (tmp_path / "gui").glob("*.wav"))
    assert cli == ["Source 1.wav", "Source 2.wav"]  # the sources' names, as in the GUI
    for name in cli:
        np.testing.assert_array_equal(
            sf.read(tmp_path / "gui" / name)[0], sf.read(tmp_path / "cli" / name)[0]
        )


def paint_frames(document, source, frames: slice) -> None:
    """A stroke: every bin of ``frames`` painted for ``source`` with full confidence."""
    bins, count = document.magnitude.shape
    width = len(range(*frames.indices(count)))
    document.set_paint_block(source, slice(None), frames, np.ones((bins, width), np.float32))


def test_a_painted_session_exports_the_stems_its_paint_cuts(qtbot, document, tmp_path):
    paint_frames(document, 1, slice(20, 40))  # source 1: components 2 and 3
    dialog = make_dialog(qtbot, document, tmp_path / "out")
    names = preview(dialog)
    assert run_export(qtbot, dialog)[0] == "exported"
    written = [sf.read(tmp_path / "out" / n, dtype="float32")[0] for n in names[:-1]]
    groups = [[0], [1], [2]]
    steered = list(separate(document.spectrogram, document.W, document.H, groups,
                            power=document.settings.mask_power, steering=document.steering()))
    for stem, expected in zip(written, steered):
        np.testing.assert_array_equal(stem, expected)
    np.testing.assert_allclose(sum(written), document.audio.samples, atol=1e-5)
    # The paint moved the painted frames' sound towards source 1, and only there:
    # frame t covers samples t·hop ± n_fft/2.
    hop, half = SETTINGS.hop, SETTINGS.n_fft // 2
    painted = slice(20 * hop - half, 40 * hop + half - hop)
    unpainted = expected_stems(document, groups)
    assert np.abs(written[0][painted]).sum() < 0.5 * np.abs(unpainted[0][painted]).sum()
    for stem, before in zip(written, unpainted):
        np.testing.assert_allclose(stem[: painted.start], before[: painted.start], atol=1e-6)
        np.testing.assert_allclose(stem[painted.stop :], before[painted.stop :], atol=1e-6)


def test_strokes_during_an_export_change_none_of_its_stems(qtbot, document, tmp_path):
    """The export cuts every stem with the paint as it was when it started."""
    paint_frames(document, 1, slice(20, 40))
    at_start = document.steering()
    at_start = type(at_start)(document.paint.copy(), at_start.strength, at_start.sources)
    folder = tmp_path / "out"
    job = ExportJob(document, ExportOptions(folder=folder, file_format="wav", subtype="float"))
    strokes = []

    def stroke_after_first_stem(done, _total):
        if done == 1:  # in the job's thread, between two stems
            paint_frames(document, 0, slice(45, 60))
            strokes.append(done)

    job.progressed.connect(stroke_after_first_stem, Qt.DirectConnection)
    with qtbot.waitSignal(job.returned, timeout=30_000):
        job.start()
    job.wait()
    assert strokes == [1]
    spec, W, H = document.spectrogram, document.W, document.H  # noqa: N806
    power, groups = document.settings.mask_power, [[0], [1], [2]]
    expected = list(separate(spec, W, H, groups, power=power, steering=at_start))
    later = list(separate(spec, W, H, groups, power=power, steering=document.steering()))
    for stem, before in zip(job.plan.stems, expected):
        written = sf.read(folder / f"{stem.name}.wav", dtype="float32")[0]
        np.testing.assert_array_equal(written, before)
    # The stroke does change those stems: without the snapshot they would differ.
    assert max(np.abs(a - b).max() for a, b in zip(expected[1:], later[1:])) > 1e-2


def paint(document):
    """Source 0 ("Source 1") painted over the low bins, source 1 over the late high ones."""
    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(0, bins // 4), slice(None),
                             np.ones((bins // 4, frames), np.float32))
    late = frames - frames // 2
    document.set_paint_block(1, slice(bins // 2, bins), slice(frames // 2, frames),
                             np.full((bins - bins // 2, late), 0.6, np.float32))


def test_paint_is_offered_only_once_something_is_painted(qtbot, document, tmp_path):
    assert not make_dialog(qtbot, document, tmp_path).paint_check.isEnabled()
    paint(document)
    dialog = make_dialog(qtbot, document, tmp_path)
    assert dialog.paint_check.isEnabled()
    dialog.paint_check.setChecked(True)
    assert preview(dialog)[-2:] == ["mix_paint.npz", "manifest.json"]


def test_exported_paint_is_a_guide_the_command_line_reads(qtbot, document, tmp_path):
    from dsp.guide import load_guide

    paint(document)
    dialog = make_dialog(qtbot, document, tmp_path)
    dialog.paint_check.setChecked(True)
    assert run_export(qtbot, dialog)[0] == "exported"
    guide = load_guide(tmp_path / "mix_paint.npz", document.magnitude.shape)
    assert guide.dtype == np.float32
    np.testing.assert_array_equal(guide, document.paint)
    assert "mix_paint.npz" in json.loads((tmp_path / "manifest.json").read_text())["files"]


def test_exported_paint_has_a_row_for_every_source(qtbot, document, tmp_path):
    from dsp.guide import load_guide

    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(0, 4), slice(0, 4), np.ones((4, 4), np.float32))
    document.add_source("Keys")  # after the stroke: the paint has no row for it
    assert len(document.paint) < document.n_sources == 3
    dialog = make_dialog(qtbot, document, tmp_path)
    dialog.paint_check.setChecked(True)
    run_export(qtbot, dialog)
    guide = load_guide(tmp_path / "mix_paint.npz")
    assert guide.shape == (document.n_sources, bins, frames)
    np.testing.assert_array_equal(guide[: len(document.paint)], document.paint)
    assert not guide[1:].any()


def test_painted_sources_export_as_the_cli_replays_them(qtbot, document, tmp_path):
    from app.cli.separate import run_separate
    from app.persistence import save_session

    paint(document)
    save_session(document, tmp_path / "work.partwise")
    assert run_separate(["--session", str(tmp_path / "work.partwise"), "--out",
                         str(tmp_path / "cli"), "--sample-format", "float", "--quiet"]) == 0
    dialog = make_dialog(qtbot, document, tmp_path / "gui", what="sources")
    dialog.pattern_edit.setText("{name}")
    run_export(qtbot, dialog)
    unsteered = expected_stems(document, document.groups())
    for name, plain in zip(["Source 1.wav", "Source 2.wav"], unsteered):
        gui = sf.read(tmp_path / "gui" / name, dtype="float32")[0]
        np.testing.assert_array_equal(gui, sf.read(tmp_path / "cli" / name, dtype="float32")[0])
        assert np.abs(gui - plain).max() > 1e-3  # cut by the paint, not by the factors alone


def test_export_removes_staging_left_by_an_export_that_was_killed(qtbot, document, tmp_path):
    from .test_cli_output import process_start

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start(child.pid)
    child.wait()
    folder = tmp_path / "out"
    killed = folder / f".partwise-{child.pid}-{start}-0badf00d.stage"
    killed.mkdir(parents=True)
    (killed / "mix_01.wav").write_bytes(b"x" * 4096)
    outcome, _ = run_export(qtbot, make_dialog(qtbot, document, folder))
    assert outcome == "exported"
    assert not killed.exists()
    assert not [name for name in os.listdir(folder) if name.startswith(".")]
