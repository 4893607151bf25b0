"""Sessions saved and reopened, unsaved-changes tracking, and the autosaver."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from app.autosaves import Owner  # noqa: E402
from app.document import Document  # noqa: E402
from app.persistence import (  # noqa: E402
    Autosaver,
    DocumentFile,
    open_session,
    pending_recovery,
    save_session,
)
from dsp.audio import Audio, load, save  # noqa: E402
from dsp.pipeline import Settings  # noqa: E402
from dsp.project_file import ProjectError, load_project  # noqa: E402
from dsp.stft import analyse  # noqa: E402

SETTINGS = Settings(n_components=3, n_fft=256, hop=64, seed=7, loss="euclidean")


def make_session(audio_path, settings=SETTINGS) -> Document:
    """A session on ``audio_path`` with random factors and edited component states."""
    audio = load(audio_path)
    document = Document(settings)
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
    bins, frames = document.magnitude.shape
    rng = np.random.default_rng(1)
    k = settings.n_components
    document.set_factors(
        rng.random((bins, k), dtype=np.float32),
        rng.random((k, frames), dtype=np.float32),
        (3.0, 2.0, 1.5),
    )
    document.set_component_name(0, "Bass")
    document.set_component_colour(0, "#123456")
    document.set_locked(2, True)
    document.rename_source(0, "Drums")
    document.set_source_mute(1, True)
    document.set_source_solo(0, True)
    document.set_gain(1, 0.25)
    document.set_mute(2, True)
    document.set_solo(1, True)
    document.set_source(2, 0)
    return document


@pytest.fixture
def audio_file(tmp_path):
    """A short stereo WAV file."""
    rng = np.random.default_rng(0)
    path = tmp_path / "mix.wav"
    save(Audio(rng.uniform(-0.5, 0.5, (4000, 2)).astype(np.float32), 8000), path, subtype="float")
    return path


def assert_same_session(a: Document, b: Document) -> None:
    """Identical arrays, settings and component states."""
    assert b.settings == a.settings
    np.testing.assert_array_equal(b.W, a.W)
    np.testing.assert_array_equal(b.H, a.H)
    assert b.losses == a.losses
    assert b.components == a.components
    assert [b.source_state(s) for s in range(b.n_sources)] == [
        a.source_state(s) for s in range(a.n_sources)
    ]
    np.testing.assert_array_equal(b.audio.samples, a.audio.samples)
    np.testing.assert_array_equal(b.spectrogram.data, a.spectrogram.data)


def test_saved_session_reopens_with_identical_arrays_and_states(qtbot, audio_file, tmp_path):
    original = make_session(audio_file)
    save_session(original, tmp_path / "work.partwise")
    reopened = Document()
    open_session(tmp_path / "work.partwise", reopened)
    assert_same_session(original, reopened)
    assert reopened.components[0].colour == "#123456" and reopened.components[2].locked
    assert reopened.source_state(0).name == "Drums"
    assert reopened.effective_gains().tolist() == original.effective_gains().tolist()


def test_session_without_factors_reopens_without_factors(qtbot, audio_file, tmp_path):
    audio = load(audio_file)
    document = Document(SETTINGS)
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
    save_session(document, tmp_path / "empty.partwise")
    reopened = Document()
    open_session(tmp_path / "empty.partwise", reopened)
    assert reopened.W is None and reopened.losses == ()
    assert reopened.settings == SETTINGS


def test_audio_without_a_file_is_saved_beside_the_session(qtbot, audio_file, tmp_path):
    source = make_session(audio_file)
    memory = Audio(source.audio.samples, source.audio.rate)
    document = Document(SETTINGS)
    document.set_audio(memory, source.spectrogram)
    document.set_factors(source.W, source.H, source.losses)
    save_session(document, tmp_path / "demo.partwise")
    assert (tmp_path / "demo_mixture.wav").is_file()
    reopened = Document()
    open_session(tmp_path / "demo.partwise", reopened)
    np.testing.assert_array_equal(reopened.audio.samples, memory.samples)
    np.testing.assert_array_equal(reopened.W, source.W)


def test_moved_audio_is_asked_for(qtbot, audio_file, tmp_path):
    original = make_session(audio_file)
    save_session(original, tmp_path / "work.partwise")
    moved = tmp_path / "elsewhere.wav"
    audio_file.rename(moved)
    asked = []
    reopened = Document()
    open_session(
        tmp_path / "work.partwise", reopened, ask_location=lambda p: asked.append(p) or moved
    )
    assert asked == [audio_file.resolve()]
    assert reopened.audio.path == moved
    np.testing.assert_array_equal(reopened.H, original.H)


def test_missing_audio_without_an_answer_is_a_clear_error_and_changes_nothing(
    qtbot, audio_file, tmp_path
):
    save_session(make_session(audio_file), tmp_path / "work.partwise")
    audio_file.unlink()
    document = Document()
    with pytest.raises(ProjectError, match="mix.wav.*not found"):
        open_session(tmp_path / "work.partwise", document, ask_location=lambda p: None)
    assert document.audio is None


def test_changed_audio_needs_confirmation(qtbot, audio_file, tmp_path):
    original = make_session(audio_file)
    save_session(original, tmp_path / "work.partwise")
    changed = load(audio_file)
    save(Audio(changed.samples * 0.5, changed.rate), audio_file, subtype="float")
    refused = Document()
    with pytest.raises(ProjectError, match="has changed"):
        open_session(tmp_path / "work.partwise", refused, confirm_changed=lambda p: False)
    assert refused.audio is None
    accepted = Document()
    open_session(tmp_path / "work.partwise", accepted, confirm_changed=lambda p: True)
    np.testing.assert_array_equal(accepted.W, original.W)


def test_corrupt_session_file_is_a_clear_error(qtbot, tmp_path):
    bad = tmp_path / "bad.partwise"
    bad.write_bytes(b"not a zip")
    document = Document()
    with pytest.raises(ProjectError, match="bad.partwise"):
        open_session(bad, document)
    assert document.audio is None


def test_saving_without_audio_is_refused(qtbot, tmp_path):
    with pytest.raises(ProjectError, match="no audio"):
        save_session(Document(), tmp_path / "x.partwise")
    assert not (tmp_path / "x.partwise").exists()


def test_document_is_dirty_after_a_change_and_clean_after_save(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    document_file = DocumentFile(document)
    assert not document_file.dirty
    with qtbot.waitSignal(document_file.dirty_changed) as blocker:
        document.set_gain(0, 0.5)
    assert blocker.args == [True] and document_file.dirty
    document_file.save(tmp_path / "doc.partwise")
    assert not document_file.dirty and document_file.path == tmp_path / "doc.partwise"
    assert load_project(tmp_path / "doc.partwise").components[0].gain == 0.5


def test_document_without_a_file_refuses_plain_save(qtbot, audio_file):
    document_file = DocumentFile(make_session(audio_file))
    with pytest.raises(ProjectError, match="no file"):
        document_file.save()


def test_autosaver_writes_changed_session_and_clear_removes_it(
    qtbot, audio_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("PARTWISE_DATA_DIR", str(tmp_path / "data"))
    document = make_session(audio_file)
    autosaver = Autosaver(document, interval_ms=10)
    assert pending_recovery() is None
    document.set_gain(0, 0.75)
    autosaver.start()
    with qtbot.waitSignal(autosaver.saved) as blocker:
        pass
    path = blocker.args[0]
    me = Owner.this_process()
    assert path.parent == tmp_path / "data"
    assert path.name == f"autosave-{me.pid}-{me.started}.partwise"
    assert pending_recovery() is None  # this instance's own autosave: it still runs
    assert load_project(path).components[0].gain == 0.75
    autosaver.clear()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == []


def test_autosaver_skips_an_unchanged_session(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    autosaver = Autosaver(document, path=tmp_path / "auto.partwise")
    with qtbot.waitSignal(autosaver.saved):
        autosaver.save_now()
    assert autosaver.path.exists()
    autosaver.path.unlink()
    with qtbot.assertNotEmitted(autosaver.saved, wait=200):
        autosaver.save_now()
    assert not autosaver.path.exists()
    document.set_mute(0, True)
    with qtbot.waitSignal(autosaver.saved):
        autosaver.save_now()
    assert autosaver.path.exists()


def test_document_is_dirty_after_a_source_is_renamed(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    document_file = DocumentFile(document)
    document.rename_source(1, "Keys")
    assert document_file.dirty
    document_file.save(tmp_path / "doc.partwise")
    assert load_project(tmp_path / "doc.partwise").sources[1].name == "Keys"


def test_reference_stems_come_back_with_the_session(audio_file, tmp_path, qtbot):
    document = make_session(audio_file)
    rng = np.random.default_rng(5)
    paths = []
    for name in ("drums.wav", "bass.wav"):
        paths.append(tmp_path / name)
        save(Audio(rng.uniform(-0.1, 0.1, (4000, 2)).astype(np.float32), 8000), paths[-1],
             subtype="float")
    document.set_references([load(p).samples for p in paths], ["drums.wav", "bass.wav"], paths)
    save_session(document, tmp_path / "s.partwise")
    reopened = Document()
    open_session(tmp_path / "s.partwise", reopened)
    assert reopened.reference_names == ("drums.wav", "bass.wav")
    for got, path in zip(reopened.references, paths):
        np.testing.assert_array_equal(got, load(path).samples)

    paths[0].unlink()  # a reference that has gone is left out, and the user told
    again = Document()
    with qtbot.waitSignal(again.noticed) as notice:
        open_session(tmp_path / "s.partwise", again)
    assert again.reference_names == ("bass.wav",)
    assert "drums.wav" in notice.args[0]


def paint_strokes(document: Document) -> None:
    """Two strokes: source 0 low and early, source 1 high and late."""
    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(2, 20), slice(0, 10), np.full((18, 10), 0.8, np.float32))
    ramp = np.linspace(0.1, 1.0, 12 * (frames - 20), dtype=np.float32).reshape(12, -1)
    document.set_paint_block(1, slice(bins - 12, bins), slice(20, frames), ramp)


def test_paint_comes_back_with_the_session_bit_for_bit(qtbot, audio_file, tmp_path):
    original = make_session(audio_file)
    paint_strokes(original)
    save_session(original, tmp_path / "work.partwise")
    reopened = Document()
    open_session(tmp_path / "work.partwise", reopened)
    assert_same_session(original, reopened)
    assert reopened.paint.dtype == np.float32
    np.testing.assert_array_equal(reopened.paint, original.paint)
    # It steers the reopened session's masks exactly as it steered the saved one's.
    before, after = original.steering(), reopened.steering()
    np.testing.assert_array_equal(after.weights(), before.weights())
    np.testing.assert_array_equal(after.sources, before.sources)


def test_paint_before_any_run_comes_back_too(qtbot, audio_file, tmp_path):
    audio = load(audio_file)
    document = Document(SETTINGS)
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
    paint_strokes(document)
    save_session(document, tmp_path / "early.partwise")
    reopened = Document()
    open_session(tmp_path / "early.partwise", reopened)
    assert reopened.W is None
    np.testing.assert_array_equal(reopened.paint, document.paint)


def test_erased_paint_is_not_stored(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    paint_strokes(document)
    document.set_paint(np.zeros_like(document.paint))
    save_session(document, tmp_path / "work.partwise")
    assert load_project(tmp_path / "work.partwise").paint is None
    reopened = Document()
    open_session(tmp_path / "work.partwise", reopened)
    assert reopened.paint is None


def test_paint_that_does_not_fit_the_audio_is_a_clear_error_and_changes_nothing(
    qtbot, audio_file, tmp_path
):
    audio = load(audio_file)
    document = Document(SETTINGS)
    document.set_audio(audio, analyse(audio.samples, audio.rate, n_fft=256, hop=64))
    paint_strokes(document)  # no factors: only the audio can say the paint does not fit
    save_session(document, tmp_path / "work.partwise")
    save(Audio(audio.samples[:3000], audio.rate), audio_file, subtype="float")
    reopened = Document()
    with pytest.raises(ProjectError, match="mix.wav.*does not fit.*paint") as err:
        open_session(tmp_path / "work.partwise", reopened, confirm_changed=lambda p: True)
    assert "\n" not in str(err.value)
    assert reopened.audio is None and reopened.paint is None


def test_a_stroke_alone_makes_the_document_dirty(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    document_file = DocumentFile(document)
    document_file.save(tmp_path / "doc.partwise")
    with qtbot.waitSignal(document_file.dirty_changed) as blocker:
        paint_strokes(document)
    assert blocker.args == [True]


def test_autosave_carries_the_paint_and_a_stroke_alone_triggers_it(qtbot, audio_file, tmp_path):
    document = make_session(audio_file)
    autosaver = Autosaver(document, path=tmp_path / "auto.partwise")
    with qtbot.waitSignal(autosaver.saved):
        autosaver.save_now()
    assert load_project(autosaver.path).paint is None
    paint_strokes(document)
    painted = document.paint.copy()
    with qtbot.waitSignal(autosaver.saved):
        autosaver.save_now()
    np.testing.assert_array_equal(load_project(autosaver.path).paint, painted)
    document.set_paint_block(1, slice(0, 40), slice(0, 40), np.ones((40, 40), np.float32))
    before = document.paint.copy()
    with qtbot.waitSignal(autosaver.saved):
        autosaver.save_now()
        # A stroke while the job copies the paint is wholly in the file or wholly not.
        document.set_paint_block(0, slice(0, 40), slice(0, 40), np.ones((40, 40), np.float32))
    after = document.paint.copy()
    saved = load_project(autosaver.path).paint
    assert np.array_equal(saved, before) or np.array_equal(saved, after)
    recovered = Document()
    open_session(autosaver.path, recovered)
    np.testing.assert_array_equal(recovered.paint, saved)
