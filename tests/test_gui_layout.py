"""The window's layout at its default size: every column shown, every action drawn, no clutter."""

import pytest
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QStyle, QToolBar, QWidgetAction

from app import theme
from app.views.components import COLUMNS

WAIT = 30_000  # ms; a condition wait, not a timing assertion


def visible_pixels(icon: QIcon, mode=QIcon.Normal, size: int = 24) -> list[QColor]:
    """The colours of the icon's opaque pixels at ``size``."""
    image = icon.pixmap(size, size, mode).toImage()
    return [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
            if image.pixelColor(x, y).alpha() > 128]


def run_to_done(qtbot, window):
    with qtbot.waitSignal(window.control.state_changed,
                          check_params_cb=lambda s: s == "done", timeout=WAIT):
        window.control.run()


def test_every_component_column_is_visible_at_the_default_size(qtbot, window):
    assert (window.width(), window.height()) == (1600, 1000)
    run_to_done(qtbot, window)  # the pitch and percussiveness labels are filled in
    table = window.components.table
    header = table.horizontalHeader()
    assert table.horizontalScrollBar().maximum() == 0  # nothing to scroll to sideways
    for column, title in enumerate(COLUMNS):
        assert not table.isColumnHidden(column), title
        left = header.sectionViewportPosition(column)
        assert left >= 0 and left + header.sectionSize(column) <= table.viewport().width(), title
    metrics = table.fontMetrics()
    for column in (COLUMNS.index("Pitch"), COLUMNS.index("Perc.")):
        for row in range(table.rowCount()):
            text = table.item(row, column).text()
            assert metrics.horizontalAdvance(text) < table.columnWidth(column), text


def test_the_sources_list_is_short_and_the_component_table_takes_the_rest(window):
    sources, table = window.components.sources, window.components.table
    assert sources.height() >= sources.height_for_rows(3)  # a few sources readable at once
    assert table.height() > 2 * sources.height()


def test_every_toolbar_action_has_a_visible_icon_in_both_states(window):
    toolbar = window.findChild(QToolBar, "toolbar_transport")
    actions = [a for a in toolbar.actions()
               if not a.isSeparator() and not isinstance(a, QWidgetAction)]
    assert {a.text() for a in window.solver_actions.all} <= {a.text() for a in actions}
    for action in (*actions, *window.playback.actions):
        assert not action.icon().isNull(), action.text()
        for mode in (QIcon.Normal, QIcon.Disabled):
            assert visible_pixels(action.icon(), mode), (action.text(), mode)


@pytest.mark.parametrize("standard", [QStyle.SP_MediaPlay, QStyle.SP_MediaPause,
                                      QStyle.SP_MediaStop, QStyle.SP_BrowserReload])
def test_the_theme_draws_the_transport_standard_icons_light_on_dark(qapp, standard):
    icon = theme.IconStyle("Fusion").standardIcon(standard)
    pixels = visible_pixels(icon)
    assert pixels
    assert min(c.lightness() for c in pixels) > QColor(theme.BACKGROUND).lightness() + 100


def test_every_shipped_icon_loads_and_an_unknown_name_is_an_error(qapp):
    for name in theme.ICONS:
        assert visible_pixels(theme.icon(name), size=16), name
    with pytest.raises(ValueError, match="'nope'"):
        theme.icon("nope")


def test_the_learn_selection_is_shown_only_with_the_learn_dock(qtbot, window):
    region = window.learn_panel.region
    assert not region.isVisible()
    window._docks["Learn source"].raise_()
    qtbot.waitUntil(region.isVisible, timeout=WAIT)
    assert region.getRegion()[1] > region.getRegion()[0]
    assert window.learn_panel.region_label.toPlainText() == "learn from here"
    window._docks["Loss"].raise_()
    qtbot.waitUntil(lambda: not region.isVisible(), timeout=WAIT)


def test_empty_views_say_what_to_do_until_a_run_fills_them(qtbot, window):
    by_target = {hint.parentWidget(): hint for hint in window.hints}
    emptied = [window.activations, window.templates, window.loss_plot,
               window.reconstruction.graphics]
    for view in emptied:
        assert by_target[view].isVisible()
    hint = by_target[window.activations]
    assert "Run" in hint.text()
    assert abs(hint.geometry().center().x() - window.activations.rect().center().x()) <= 2
    assert abs(hint.geometry().center().y() - window.activations.rect().center().y()) <= 2
    assert not by_target[window.spectrogram.graphics].isVisible()  # the mixture is open
    run_to_done(qtbot, window)
    assert not any(by_target[view].isVisible() for view in emptied)
    window.solver_actions.reset.trigger()
    assert all(by_target[view].isVisible() for view in emptied)


def test_the_reconstruction_hint_follows_its_mode_and_the_selection(qtbot, window):
    hint = next(h for h in window.hints if h.parentWidget() is window.reconstruction.graphics)
    assert hint.isVisible()
    window.reconstruction.set_mode("mixture")
    assert not hint.isVisible()
    run_to_done(qtbot, window)
    window.reconstruction.set_mode("component")
    window.document.select_component(-1)
    assert hint.isVisible() and "Select a component" in hint.text()
    window.document.select_component(2)
    assert not hint.isVisible()


def test_scores_offer_only_what_can_be_scored(qtbot, window):
    panel = window.scores
    assert not panel.score_button.isEnabled() and "Run" in panel.summary.text()
    run_to_done(qtbot, window)
    assert panel.score_button.isEnabled()
    panel.score()
    qtbot.waitUntil(lambda: len(panel.rows) > 0, timeout=WAIT)
    shown = [panel.table.horizontalHeaderItem(c).text()
             for c in range(panel.table.columnCount()) if not panel.table.isColumnHidden(c)]
    assert shown == ["Source", "Energy"]  # no references: no empty SDR columns


def test_a_dock_layout_saved_by_an_older_version_is_not_restored(qtbot, window, store):
    from PySide6.QtCore import Qt

    from app.main_window import MainWindow

    window.resizeDocks([window._docks["Components"]], [200], Qt.Horizontal)  # the old, cramped
    store.setValue("window/state", window.saveState())  # version 0: before the new defaults
    again = MainWindow(store=store)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.components.width() >= again.components.preferred_width()
    assert again.components.table.horizontalScrollBar().maximum() == 0


def test_the_transport_draws_the_shipped_icons_and_the_loop_says_why_it_is_off(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from app.document import Document
    from app.playback.control import PlaybackControl

    host = QMainWindow()
    qtbot.addWidget(host)
    playback = PlaybackControl(Document(), None, host)  # no player: playback unavailable
    bar = playback.bar
    for button, name in ((bar.play_button, "play"), (bar.stop_button, "stop")):
        assert button.icon().pixmap(24).toImage() == theme.icon(name).pixmap(24).toImage()
    for button in (bar.play_button, bar.stop_button, bar.loop_button):
        assert not button.isEnabled()
        assert button.toolTip() == "Playback unavailable: no player", button
    assert playback.loop_action.toolTip() == "Playback unavailable: no player"
