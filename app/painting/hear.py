"""Hear region: play only the selection, or else the cells painted for the chosen source, looped.

:class:`HearRegion` is the Paint menu's and tool bar's switch (H) and the choice
of whose share is heard inside the region ("Through": the chosen source, the
whole mix or any other source). The region is the rectangle selected with the
Select tool (S) while there is one, else the chosen source's paint. It tells
the playback control what to play
(:meth:`app.playback.control.PlaybackControl.listen`), which hands the player
the region as time–frequency weights, the gains and a loop over its frames;
strokes while a painted region is heard are heard as they are painted.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QMenu, QWidget

from ..document import Document
from ..playback.region import Listening

__all__ = ["HearRegion", "PAINTED", "WHOLE_MIX"]

#: "Through" entries that are not a source index.
PAINTED, WHOLE_MIX = "painted", "mix"


class HearRegion(QObject):
    """The "Hear region" action and its "Through" choice.

    Parameters
    ----------
    document : Document
    playback : PlaybackControl or None
        Where listening is asked for; without one (or without a player) the
        action is disabled and says why.
    painted_source : callable
        The source chosen in the paint tools.
    parent : QWidget
    selection : callable, optional
        The selected cells ``(bins, frames)``, or None: the painted cells are heard.
    notify : callable, optional
        Shows a line in the status bar: hearing a source with nothing painted
        and nothing selected says that its strokes will be heard as they come.

    Attributes
    ----------
    action : QAction
        Checkable, H: on while the region is heard.
    through_box : QComboBox
        Whose share is heard: ``PAINTED`` (default), ``WHOLE_MIX`` or a source index.
    through_menu : QMenu
        The same choice for the Paint menu.
    """

    def __init__(self, document: Document, playback, painted_source: Callable[[], int],
                 parent: QWidget,
                 selection: Callable[[], tuple[slice, slice] | None] = lambda: None,
                 notify: Callable[[str], None] = lambda _: None) -> None:
        super().__init__(parent)
        self._notify = notify
        self._document = document
        self._playback = playback
        self._painted_source = painted_source
        self._selection = selection
        self.action = QAction("&Hear region", self, checkable=True)
        self.action.setShortcut(QKeySequence("H"))
        self.through_box = QComboBox()
        self.through_box.setToolTip("Whose share of the mix is heard inside the region")
        self.through_menu = QMenu("Hear &through", parent)
        self.through_menu.aboutToShow.connect(self._fill_menu)
        self.fill_sources()
        available = playback is not None and playback.play_pause.isEnabled()
        self.action.setEnabled(available)
        self.through_box.setEnabled(available)
        if not available:
            self.action.setToolTip("Hear region: playback is unavailable")
            return
        self.action.setToolTip(
            "Play only the selection (Select, S), or else the cells painted for the chosen "
            "source, looped over their time span (H)")
        self.action.toggled.connect(self._on_toggled)
        self.through_box.currentIndexChanged.connect(lambda _: self.update())
        playback.listening_changed.connect(self._on_listening_changed)

    def listening(self) -> Listening | None:
        """What the controls ask to hear, or None while the action is off."""
        if not self.action.isChecked():
            return None
        source = self._painted_source()
        through = self.through_box.currentData()
        through = source if through == PAINTED else None if through == WHOLE_MIX else through
        return Listening(source, through, self._selection())

    def _on_toggled(self, on: bool) -> None:
        self.update()
        listening = self.listening()
        if on and listening.cells is None and not self._document.source_has_paint(
                listening.source):
            name = self._document.source_state(listening.source).name
            self._notify(f"Hear region: nothing is painted for {name} or selected yet; "
                         "its strokes are heard as you paint them")

    def update(self) -> None:
        """Hand the playback control what the controls now ask for (the source may have changed)."""
        if self._playback is not None:
            self._playback.listen(self.listening())

    def fill_sources(self) -> None:
        """The choices: the painted source, the whole mix and every source by name."""
        box, chosen = self.through_box, self.through_box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem("Through the chosen source", PAINTED)
        box.addItem("Through the whole mix", WHOLE_MIX)
        document = self._document
        for source in range(document.n_sources):
            box.addItem(f"Through {document.source_state(source).name}", source)
        box.setCurrentIndex(max(box.findData(chosen), 0))
        box.blockSignals(False)

    def _fill_menu(self) -> None:
        self.through_menu.clear()
        for i in range(self.through_box.count()):
            action = self.through_menu.addAction(self.through_box.itemText(i))
            action.setCheckable(True)
            action.setChecked(i == self.through_box.currentIndex())
            action.triggered.connect(lambda _=False, i=i: self.through_box.setCurrentIndex(i))

    def _on_listening_changed(self, listening) -> None:
        # Listening ended elsewhere (other audio): the switch follows.
        if listening is None and self.action.isChecked():
            self.action.blockSignals(True)
            self.action.setChecked(False)
            self.action.blockSignals(False)
