"""Painting in the window through real mouse events: the guide changes where the brush went."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.painting.brush import Brush, Grid, stroke_alpha


def viewport_point(view, seconds: float, hz: float) -> QPoint:
    """Where (seconds, hz) is drawn, in the spectrogram's viewport pixels."""
    y = np.log10(hz) if view.log_box.isChecked() else hz
    scene = view.plot.vb.mapViewToScene(QPointF(seconds, y))
    return view.graphics.mapFromScene(scene)


def move(viewport, pixel: QPoint) -> None:
    """A mouse move with the left button held, as a hand's drag sends it."""
    local = QPointF(pixel)
    event = QMouseEvent(QEvent.MouseMove, local, QPointF(viewport.mapToGlobal(pixel)),
                        Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(qtbot, view, points) -> None:
    """Press, move through ``points`` (seconds, hz) and release with the left button."""
    viewport = view.graphics.viewport()
    pixels = [viewport_point(view, t, hz) for t, hz in points]
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, pixels[0])
    for start, end in zip(pixels[:-1], pixels[1:]):
        for step in np.linspace(0, 1, 6)[1:]:  # several moves per segment, like a real hand
            move(viewport, start + (end - start) * step)
            qtbot.wait(20)  # pyqtgraph takes at most ~60 moves a second
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, pixels[-1])
    qtbot.wait(30)


@pytest.fixture
def painting(window, qtbot):
    window.resize(1400, 900)
    qtbot.wait(50)
    window.spectrogram.render()
    window.painting.brush_action.trigger()
    return window.painting


def painted_cells(document, source):
    paint = document.paint
    return np.argwhere(paint[source] > 0) if paint is not None and len(paint) > source else []


def test_a_brush_stroke_paints_the_cells_under_it_and_nowhere_else(qtbot, window, painting):
    document, spec = window.document, window.document.spectrogram
    painting.source_box.setCurrentIndex(1)
    painting.size_box.setValue(16)
    drag(qtbot, window.spectrogram, [(0.5, 800.0), (1.2, 800.0)])
    cells = painted_cells(document, 1)
    assert len(cells) > 0
    seconds = cells[:, 1] * spec.hop / spec.rate
    hz = cells[:, 0] * spec.rate / spec.n_fft
    assert seconds.min() > 0.35 and seconds.max() < 1.35  # where the brush went
    assert hz.min() > 500 and hz.max() < 1300
    assert not document.paint[0].any()  # only the chosen source
    assert document.paint.max() == pytest.approx(1.0)


def test_the_stroke_is_what_the_brush_model_paints(qtbot, window, painting):
    document, view = window.document, window.spectrogram
    painting.size_box.setValue(30)
    painting.hardness_box.setValue(20)
    painting.opacity_box.setValue(70)
    drag(qtbot, view, [(0.8, 400.0), (0.8, 402.0)])
    spec = document.spectrogram
    grid = Grid.of_stft(spec.rate, spec.n_fft, spec.hop, document.magnitude.shape,
                        log_frequency=True, pixel=tuple(view.plot.vb.viewPixelSize()))
    point = view.plot.vb.mapSceneToView(view.graphics.mapToScene(
        viewport_point(view, 0.8, 400.0)))
    expected = stroke_alpha([(point.x(), point.y())], Brush(30, 0.2, 0.7), grid)
    painted = document.paint[0]
    peak = painted[expected.bins, expected.frames]
    np.testing.assert_allclose(peak, 0.7 * expected.alpha, atol=0.05)
    outside = painted.copy()
    outside[expected.bins, expected.frames] = 0
    assert outside.max() < 0.05  # nothing beyond the disc (the drag moved ~2 px)


def test_a_dab_beside_the_grid_paints_no_cell(qtbot):
    # 20 frames 1 s apart, 11 bins 5 Hz apart; a screen pixel is 1 s wide and 2.5 Hz high.
    grid = Grid.of_stft(100, 20, 100, (11, 20), log_frequency=False, pixel=(1.0, 2.5))
    brush = Brush(6, 1.0, 1.0)  # radius 3 px: 3 frames, 7.5 Hz
    assert stroke_alpha([(-20.0, 25.0)], brush, grid) is None
    # Diagonal: from 20 frames left of the grid at 10 Hz, crossing its edge near 44 Hz.
    stroke = stroke_alpha([(-20.0, 10.0), (2.0, 47.0)], brush, grid)
    painted = np.zeros((11, 20), np.float32)
    painted[stroke.bins, stroke.frames] = stroke.alpha
    assert painted[8:, 0].min() == 1.0  # where the path crosses the edge
    assert painted[:6, 0].max() == 0  # nothing at the edge where the path was far beside it


def test_a_drag_that_starts_on_the_axis_paints_from_where_it_enters_and_does_not_zoom(
        qtbot, window, painting):
    document, view = window.document, window.spectrogram
    painting.size_box.setValue(12)
    y_range = view.plot.vb.viewRange()[1]
    viewport = view.graphics.viewport()
    axis = view.plot.getAxis("left").sceneBoundingRect()
    inside = viewport_point(view, 0.6, 800.0)
    start = QPoint(int(view.graphics.mapFromScene(axis.center()).x()), inside.y())
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in np.linspace(0, 1, 11)[1:]:
        move(viewport, start + (inside - start) * step)
        qtbot.wait(20)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, inside)
    qtbot.wait(30)
    cells = painted_cells(document, 0)
    spec = document.spectrogram
    seconds = cells[:, 1] * spec.hop / spec.rate
    hz = cells[:, 0] * spec.rate / spec.n_fft
    assert seconds.min() < 0.05 and seconds.max() < 0.75  # from the image's edge to the end
    assert hz.min() > 500 and hz.max() < 1300
    assert view.plot.vb.viewRange()[1] == pytest.approx(y_range)  # the axis did not zoom
    painting.brush_action.trigger()  # no tool: the same drag on the axis is the view's
    view.plot.vb.setYRange(2.5, 3.5, padding=0)  # zoomed in, so that it can pan
    y_range = view.plot.vb.viewRange()[1]
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in np.linspace(0, 1, 6)[1:]:
        move(viewport, start + QPoint(0, int(80 * step)))
        qtbot.wait(20)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPoint(0, 80))
    qtbot.wait(30)
    assert view.plot.vb.viewRange()[1] != pytest.approx(y_range)
    assert len(painted_cells(document, 0)) == len(cells)


def test_undo_and_redo_restore_every_stroke_exactly(qtbot, window, painting):
    document = window.document
    drag(qtbot, window.spectrogram, [(0.3, 300.0), (0.9, 600.0)])
    first = np.array(document.paint)
    painting.source_box.setCurrentIndex(1)
    drag(qtbot, window.spectrogram, [(0.6, 300.0), (1.4, 2000.0)])
    second = np.array(document.paint)
    painting.eraser_action.trigger()
    drag(qtbot, window.spectrogram, [(0.5, 400.0), (1.0, 400.0)])
    erased = np.array(document.paint)
    assert erased.sum() < second.sum()
    history = window.history
    assert history.undo_action.text() == "&Undo Erase paint"
    history.undo_action.trigger()
    np.testing.assert_array_equal(document.paint, second)
    assert history.undo_action.text() == "&Undo Paint Source 2"
    history.undo_action.trigger()
    np.testing.assert_array_equal(document.paint[:1], first[:1])
    assert not document.paint[1:].any()
    history.undo_action.trigger()
    assert not document.paint.any()
    for _ in range(3):
        history.redo_action.trigger()
    np.testing.assert_array_equal(document.paint, erased)
    painting.clear_action.trigger()
    assert document.paint is None
    history.undo_action.trigger()
    np.testing.assert_array_equal(document.paint, erased)


def test_without_a_tool_the_mouse_belongs_to_the_view(qtbot, window, painting):
    painting.brush_action.trigger()  # off again
    assert painting.tool()[0] is None
    drag(qtbot, window.spectrogram, [(0.5, 800.0), (1.2, 800.0)])
    assert window.document.paint is None


def test_the_overlay_shows_the_paint_in_the_sources_colour(qtbot, window, painting):
    document = window.document
    painting.source_box.setCurrentIndex(1)
    drag(qtbot, window.spectrogram, [(0.5, 800.0), (1.2, 800.0)])
    qtbot.waitUntil(lambda: window.painting.canvas.image is not None
                    and window.painting.canvas.image[..., 3].max() > 0, timeout=2000)
    from app.painting.canvas import OUTLINE

    image = window.painting.canvas.image
    outline = (image == OUTLINE).all(axis=2)
    assert outline.any()  # the stroke's edge, dark on every colour of the map
    fill = np.where(outline, 0, image[..., 3])
    strongest = np.unravel_index(np.argmax(fill), image.shape[:2])
    colour = document.components[document.source_members(1)[0]].colour
    expected = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    np.testing.assert_allclose(image[strongest][:3], expected, atol=2)


def test_the_overlay_outlines_each_painted_region_and_columns_redraw_as_the_whole():
    from app.painting.canvas import OUTLINE, overlay_rgba

    paint = np.zeros((2, 12, 40), np.float32)
    paint[0, 3:7, 8:20] = 1.0  # frames 8–19: columns 2–4 at 4 frames a column
    paint[1, 8:10, 30:34] = 0.5
    rows, colours = np.arange(12), ["#ff8000", "#0080ff"]
    full = overlay_rgba(paint, rows, slice(0, 40), 4, colours)
    outline = (full == OUTLINE).all(axis=2)
    expected = np.zeros((12, 10), bool)
    expected[3:7, 2:5] = True
    expected[4:6, 3:4] = False  # the one pixel inside the first region
    expected[8:10, 7:9] = True  # the second is all edge
    np.testing.assert_array_equal(outline, expected)
    assert full[5, 3, 3] == round(0.6 * 255) and tuple(full[5, 3, :3]) == (255, 128, 0)
    for first, last in [(0, 3), (3, 4), (2, 9), (8, 10)]:  # any columns, drawn alone
        part = overlay_rgba(paint, rows, slice(4 * first, 4 * last), 4, colours)
        np.testing.assert_array_equal(part, full[:, first:last])


def test_a_click_with_the_brush_paints_a_dab_and_does_not_seek(qtbot, window, painting):
    seeks = []
    window.spectrogram.seek_requested.connect(seeks.append)
    viewport = window.spectrogram.graphics.viewport()
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window.spectrogram, 1.0, 1000.0))
    qtbot.wait(30)
    assert len(painted_cells(window.document, 0)) > 0
    assert seeks == []
    painting.brush_action.trigger()  # no tool: a click seeks again
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window.spectrogram, 1.0, 1000.0))
    qtbot.wait(30)
    assert seeks and seeks[0] == pytest.approx(1.0, abs=0.05)


def test_new_audio_starts_a_new_history(qtbot, window, painting):
    drag(qtbot, window.spectrogram, [(0.5, 800.0), (1.2, 800.0)])
    assert window.history.stack.count() == 1
    with qtbot.waitSignal(window.document.audio_changed, timeout=20_000):
        window.loader.open_demo(duration=1.5)
    assert window.history.stack.count() == 0 and window.document.paint is None


def test_a_stroke_redraws_its_columns_to_what_a_full_redraw_draws(qtbot, window, painting):
    from app.painting.canvas import overlay_rgba, source_colour

    document, canvas = window.document, window.painting.canvas
    drag(qtbot, window.spectrogram, [(0.3, 300.0), (0.6, 700.0)])
    painting.source_box.setCurrentIndex(1)
    drag(qtbot, window.spectrogram, [(1.0, 2000.0), (1.5, 900.0)])
    qtbot.waitUntil(lambda: not canvas._redraw.isActive(), timeout=2000)
    a, b, step, rows, _ = window.spectrogram.shown_grid
    colours = [source_colour(document, s) for s in range(len(document.paint))]
    full = overlay_rgba(document.paint, rows, slice(a, b), step, colours)
    np.testing.assert_array_equal(canvas.image, full)
    assert full[..., 3].max() > 0



def test_a_solver_snapshot_keeps_the_overlay_and_a_zoom_redraws_it(qtbot, window, painting):
    from app.painting.canvas import overlay_rgba, source_colour

    document, canvas, view = window.document, window.painting.canvas, window.spectrogram
    drag(qtbot, view, [(0.3, 300.0), (0.9, 700.0)])
    qtbot.waitUntil(lambda: not canvas._redraw.isActive(), timeout=2000)
    drawn = canvas.image
    grid = view.shown_grid
    k = len(document.components)
    rng = np.random.default_rng(0)
    W = rng.random((document.magnitude.shape[0], k)).astype(np.float32)  # noqa: N806
    H = rng.random((k, document.magnitude.shape[1])).astype(np.float32)  # noqa: N806
    document.set_factors(W, H, (1.0,))  # a solver snapshot: the view renders again
    qtbot.wait(50)
    assert view.shown_grid is grid and canvas.image is drawn  # same grid: not redrawn
    view.plot.vb.setXRange(0.2, 1.0, padding=0)  # a zoom: another grid, drawn anew
    qtbot.waitUntil(lambda: view.shown_grid is not grid and canvas.image is not drawn,
                    timeout=2000)
    a, b, step, rows, _ = view.shown_grid
    colours = [source_colour(document, s) for s in range(len(document.paint))]
    np.testing.assert_array_equal(canvas.image,
                                  overlay_rgba(document.paint, rows, slice(a, b), step, colours))

def cell_centres(document, view):
    spec = document.spectrogram
    bins, frames = document.magnitude.shape
    seconds = np.arange(frames) * spec.hop / spec.rate
    with np.errstate(divide="ignore"):
        y = np.log10(np.arange(bins) * spec.rate / spec.n_fft)
    return seconds, y


def view_point(view, seconds, hz):
    """The view coordinates the mouse reaches at (seconds, hz), after pixel rounding."""
    scene = view.graphics.mapToScene(viewport_point(view, seconds, hz))
    point = view.plot.vb.mapSceneToView(scene)
    return point.x(), point.y()


def test_a_rectangle_fills_the_cells_inside_it_at_the_brushs_opacity(qtbot, window, painting):
    document, view = window.document, window.spectrogram
    painting.rectangle_action.trigger()
    painting.opacity_box.setValue(60)
    painting.source_box.setCurrentIndex(1)
    drag(qtbot, view, [(0.4, 500.0), (0.9, 900.0), (1.1, 2000.0)])
    (x0, y0), (x1, y1) = view_point(view, 0.4, 500.0), view_point(view, 1.1, 2000.0)
    seconds, y = cell_centres(document, view)
    inside = ((y >= y0) & (y <= y1))[:, None] & ((seconds >= x0) & (seconds <= x1))[None, :]
    np.testing.assert_allclose(document.paint[1], np.where(inside, 0.6, 0.0), atol=1e-6)
    assert window.history.undo_action.text() == "&Undo Fill Source 2"
    window.history.undo_action.trigger()
    assert not document.paint.any()


def test_a_lasso_fills_the_cells_inside_its_path(qtbot, window, painting):
    document, view = window.document, window.spectrogram
    painting.lasso_action.trigger()
    corners = [(0.3, 300.0), (1.5, 300.0), (0.9, 3000.0)]  # a triangle, drawn edge by edge
    drag(qtbot, view, [*corners, corners[0]])
    (ax, ay), (bx, by), (cx, cy) = (view_point(view, *c) for c in corners)
    seconds, y = cell_centres(document, view)
    X, Y = np.meshgrid(seconds, y)

    def side(px, py, qx, qy):
        return (qx - px) * (Y - py) - (qy - py) * (X - px)

    inside = (side(ax, ay, bx, by) > 0) & (side(bx, by, cx, cy) > 0) & (side(cx, cy, ax, ay) > 0)
    painted = document.paint[0] > 0
    # The same cells but for those the path passes over (the mouse moves in pixel steps).
    assert (painted != inside).sum() <= 0.05 * inside.sum()
    assert inside.sum() > 100


@pytest.mark.parametrize("tool, path, name", [
    ("brush", [(0.5, 800.0), (1.0, 800.0)], "Paint not"),
    ("rectangle", [(0.5, 600.0), (1.0, 1200.0)], "Fill not"),
    ("lasso", [(0.5, 600.0), (1.0, 600.0), (0.8, 1500.0)], "Fill not"),
])
def test_a_tool_on_a_components_output_paints_not_its_source(qtbot, window, painting, tool, path,
                                                            name):
    document, view = window.document, window.reconstruction
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.control.run()
    document.assign_sources([[0, 1, 2], [3, 4], [5, 6, 7]])
    document.select_component(3)  # source 1
    painting.source_box.setCurrentIndex(1)  # the box too names source 1: the view decides
    if tool != "brush":  # the fixture chose the brush
        getattr(painting, f"{tool}_action").trigger()
    view.set_mode("component")
    view.render()
    qtbot.wait(50)
    drag(qtbot, view, path)
    paint = document.paint
    assert not paint[1].any()  # never the source whose output it is
    np.testing.assert_array_equal(paint[0] > 0, paint[2] > 0)  # every other source, alike
    assert paint[0].any()
    assert window.history.undo_action.text() == f"&Undo {name} Source 2"
    window.history.undo_action.trigger()
    assert not document.paint.any()


def test_auto_group_keeps_the_paint_on_the_parts_it_was_painted_on(qtbot, window, painting):
    document = window.document
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.control.run()
    W, H = document.W, document.H
    # Paint source 0 where components 5, 6, 7 sound (their share of the model > 0.9).
    share = (W[:, 5:] @ H[5:]) / np.maximum(W @ H, 1e-12)
    document.set_paint_block(0, slice(None), slice(None), (share > 0.9).astype(np.float32))
    window.components._group_size = len(document.components)
    window.components._on_grouped([[0, 1, 2, 3, 4], [5, 6, 7]])  # the grouper's order
    assert document.source_members(0) == [5, 6, 7]  # the painted parts keep the paint


def test_a_brush_smaller_than_a_cell_paints_the_cell_it_is_on_in_full(qtbot, window, painting):
    painting.size_box.setValue(2)
    painting.hardness_box.setValue(0)
    painting.opacity_box.setValue(100)
    viewport = window.spectrogram.graphics.viewport()
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window.spectrogram, 1.0, 5000.0))
    qtbot.wait(30)
    assert window.document.paint.max() == 1.0


def test_run_with_paint_on_factors_continues_them_even_if_the_paint_steers_nothing(
        qtbot, window, painting):
    document = window.document
    notices = []
    document.noticed.connect(notices.append)
    document.set_paint_block(1, slice(0, 10), slice(0, 10), np.ones((10, 10), np.float32))
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.control.run()  # the first run: factorizes, says when the paint steers
    assert any("the paint steers the next" in n for n in notices)
    first = document.n_iter
    document.assign_sources([list(range(len(document.components)))])  # source 1 now empty
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.control.run()
    assert document.n_iter == first + document.settings.iterations  # continued, not restarted
    assert any("steers nothing" in n for n in notices)


def test_the_brush_stays_on_its_source_when_a_merge_renumbers_the_sources(
        qtbot, window, painting):
    document = window.document
    document.assign_sources([[0, 1], [2, 3], [4, 5], [6, 7]])
    document.rename_source(3, "Drums")
    painting.source_box.setCurrentIndex(3)
    document.merge_sources(0, 1)  # Drums is source 2 now
    assert painting.source_box.currentText() == "Drums"
    assert painting.tool()[1] == 2
    document.rename_source(2, "Kit")  # a rename keeps the number
    assert painting.tool()[1] == 2


def test_painting_not_the_only_source_paints_nothing_and_says_why(qtbot, window, painting):
    document, view = window.document, window.reconstruction
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=30_000):
        window.control.run()
    document.assign_sources([list(range(len(document.components)))])
    document.select_component(0)
    view.set_mode("component")
    view.render()
    qtbot.wait(50)
    drag(qtbot, view, [(0.5, 800.0), (1.0, 800.0)])
    assert not document.has_paint()
    assert "every component is in it" in window.statusBar().currentMessage()
    assert "Paint" not in window.history.undo_action.text()

