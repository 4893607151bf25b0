"""Paint to separate (issue 17): brush, eraser and region fills on the spectrogram, undoable.

``install_painting(services)`` puts a Paint toolbar and menu in the window:
Brush (B), Eraser (E), Rectangle (R) and Lasso (Shift+L; L is Loop) — the last two fill the
region outlined; none chosen, the mouse pans and seeks as always —, Select
(S: a rectangle selected, not painted; a click clears it), the source painted
for, the brush's size, hardness and opacity (the confidence painted), and
Clear paint. Strokes go to the document's paint (:mod:`dsp.guide`: what steers
the solver and the masks) as they are drawn, and each finished stroke is one
command on the window's undo stack. Hear region (H, :mod:`.hear`) plays only
the selection, or else the chosen source's painted cells, looped, through the
source chosen in "Through".
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QToolBar

from ..services import Services
from ..widgets import spin_box
from .brush import Brush
from .canvas import SELECT, PaintCanvas, source_colour
from .commands import ClearPaintCommand, StrokeRecorder
from .hear import HearRegion

__all__ = ["PaintTools", "install_painting"]


class PaintTools(QObject):
    """The paint tools of a window: the actions, the tool bar's controls and the canvas.

    Attributes
    ----------
    brush_action, eraser_action, clear_action : QAction
    source_box : QComboBox
        The source the brush paints for (its data: the source's index).
    size_box, hardness_box, opacity_box : spin boxes
        Diameter in pixels, hardness and opacity in percent.
    toolbar : QToolBar
    canvas : PaintCanvas
    hear : HearRegion
        Hear region (its action, and whose share is heard).
    selection : (slice, slice) or None
        The cells (bins, frames) selected with the Select tool, or None.
    """

    def __init__(self, services: Services) -> None:
        super().__init__(services.parent)
        self._document = document = services.document
        self._history = services.history
        self._show_status = services.show_status
        self.brush_action = QAction("&Brush", self, checkable=True)
        self.brush_action.setShortcut(QKeySequence("B"))
        self.brush_action.setToolTip(
            "Paint where the chosen source sounds (B); opacity is how sure you are")
        self.eraser_action = QAction("&Eraser", self, checkable=True)
        self.eraser_action.setShortcut(QKeySequence("E"))
        self.eraser_action.setToolTip("Erase paint of every source (E)")
        self.rectangle_action = QAction("&Rectangle", self, checkable=True)
        self.rectangle_action.setShortcut(QKeySequence("R"))
        self.rectangle_action.setToolTip(
            "Drag a rectangle to fill it for the chosen source at the brush's opacity (R)")
        self.lasso_action = QAction("&Lasso", self, checkable=True)
        self.lasso_action.setShortcut(QKeySequence("Shift+L"))
        self.lasso_action.setToolTip(
            "Draw round a region to fill it for the chosen source at the brush's opacity (Shift+L)")
        self.select_action = QAction("&Select", self, checkable=True)
        self.select_action.setShortcut(QKeySequence("S"))
        self.select_action.setToolTip(
            "Drag a rectangle to select it without painting; Hear region (H) plays it. "
            "A click clears it (S)")
        self.selection: tuple[slice, slice] | None = None
        group = QActionGroup(self)
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for action in self.tool_actions:
            group.addAction(action)
        self.clear_action = QAction("&Clear paint", self)
        self.clear_action.setToolTip("Remove all paint (undoable)")
        self.clear_action.triggered.connect(self.clear)

        self.source_box = QComboBox()
        self.source_box.setToolTip("The source the brush paints for")
        self.size_box = spin_box(QSpinBox, 2, 400, 24)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush diameter on the screen")
        self.hardness_box = spin_box(QSpinBox, 0, 100, 50)
        self.hardness_box.setSuffix(" %")
        self.hardness_box.setToolTip("Share of the radius painted at full opacity")
        self.opacity_box = spin_box(QSpinBox, 1, 100, 100)
        self.opacity_box.setSuffix(" %")
        self.opacity_box.setToolTip("How sure you are: the paint's confidence")

        self.toolbar = QToolBar("Paint")
        self.toolbar.setObjectName("toolbar_paint")
        self.toolbar.addActions(list(self.tool_actions))
        for label, widget in (("Source", self.source_box), ("Size", self.size_box),
                              ("Hardness", self.hardness_box), ("Opacity", self.opacity_box)):
            self.toolbar.addWidget(QLabel(f" {label} "))
            self.toolbar.addWidget(widget)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.clear_action)
        self.hear = HearRegion(document, services.playback, lambda: self.tool()[1],
                               services.parent, lambda: self.selection, services.show_status)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.hear.action)
        self.toolbar.addWidget(self.hear.through_box)
        self.source_box.currentIndexChanged.connect(lambda _: self.hear.update())

        self.canvas = PaintCanvas(document, services.spectrogram, self.tool, self._on_stroke,
                                  lambda cells: self._select(cells, self.output_canvas))
        self._output = services.reconstruction
        #: The same paint over the Reconstruction view; there, showing a component's share,
        #: the brush says "not this source here" (:meth:`output_tool`).
        self.output_canvas = PaintCanvas(document, self._output, self.output_tool,
                                         self._on_stroke,
                                         lambda cells: self._select(cells, self.canvas))
        for signal in (document.sources_changed, document.components_changed,
                       document.component_changed):
            signal.connect(lambda *_: self._fill_sources())
            signal.connect(lambda *_: self._fill_hear_sources())
        document.audio_changed.connect(self._enable)
        document.audio_changed.connect(lambda: self._select(None, self.canvas))
        self._fill_sources()
        self._enable()

    @property
    def tool_actions(self) -> tuple[QAction, ...]:
        """Brush, Eraser, Rectangle, Lasso and Select: at most one is chosen."""
        return (self.brush_action, self.eraser_action, self.rectangle_action, self.lasso_action,
                self.select_action)

    @property
    def brush(self) -> Brush:
        """The brush the controls describe."""
        return Brush(self.size_box.value(), self.hardness_box.value() / 100.0,
                     self.opacity_box.value() / 100.0)

    def tool(self) -> tuple[str | None, int, Brush]:
        """What the mouse does on the spectrogram: (mode, source, brush)."""
        modes = ("brush", "eraser", "rectangle", "lasso", SELECT)
        mode = next((m for m, a in zip(modes, self.tool_actions) if a.isChecked()), None)
        source = self.source_box.currentData()
        return mode, 0 if source is None else source, self.brush

    def output_tool(self) -> tuple[str | None, int, Brush]:
        """What the mouse does on the Reconstruction view.

        Showing the selected component's share, that view is its source's
        output: the brush, the rectangle and the lasso there paint "not this
        source" — every other source — so the next iterations push that
        energy to the others. Otherwise the tools work as on the mixture.
        """
        mode, source, brush = self.tool()
        document = self._document
        selected = document.selected
        if (mode in ("brush", "rectangle", "lasso") and self._output.mode == "component"
                and selected >= 0):
            own = document.components[selected].source
            if not any(c.source != own for c in document.components):
                self._show_status(
                    f"Nothing to paint “not {document.source_state(own).name}” for: "
                    "every component is in it (Auto-group splits them into sources)")
                return None, own, brush
            return ("not" if mode == "brush" else f"not {mode}"), own, brush
        return mode, source, brush

    def _select(self, cells: tuple[slice, slice] | None, other: PaintCanvas) -> None:
        """A selection made (or cleared) on one view; the other view's outline goes.

        A selection is not an edit of the document (nothing to undo): it says
        what Hear region plays, and other audio clears it.
        """
        other.clear_selection()
        if cells is None:
            self.canvas.clear_selection()
            self.output_canvas.clear_selection()
        if cells != self.selection:
            self.selection = cells
            self.hear.update()

    def clear(self) -> None:
        """Clear all paint, as one undoable edit."""
        if self._document.has_paint():
            self._history.push(ClearPaintCommand(self._document))

    def _on_stroke(self, recorder: StrokeRecorder, name: str) -> None:
        command = recorder.finish(name)
        if command is not None:
            self._history.push(command)

    def _enable(self) -> None:
        on = self._document.magnitude is not None
        for action in (*self.tool_actions, self.clear_action):
            action.setEnabled(on)

    def _fill_hear_sources(self) -> None:
        self.hear.fill_sources()
        self.hear.update()

    def _fill_sources(self) -> None:
        """One entry per source, in its colour; the chosen source stays chosen.

        A source is followed by its name: a merge or a move renumbers the
        sources after it, and the brush must stay on the source the user
        chose, not on the number it had. A renamed source keeps its number.
        """
        document = self._document
        chosen, chosen_name = self.source_box.currentData(), self.source_box.currentText()
        self.source_box.blockSignals(True)
        self.source_box.clear()
        for source in range(max(document.n_sources, 2)):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(source_colour(document, source)))
            self.source_box.addItem(QIcon(swatch), document.source_state(source).name, source)
        named = [i for i in range(self.source_box.count())
                 if self.source_box.itemText(i) == chosen_name]
        index = (min(named, key=lambda i: abs(i - chosen)) if named and chosen is not None
                 else self.source_box.findData(chosen))
        self.source_box.setCurrentIndex(max(index, 0))
        self.source_box.blockSignals(False)


def install_painting(services: Services) -> PaintTools:
    """The paint tools, their tool bar and their menu, through ``services``."""
    tools = PaintTools(services)
    services.add_toolbar(tools.toolbar)
    menu = services.add_menu("&Paint")
    menu.addActions(list(tools.tool_actions))
    menu.addSeparator()
    menu.addAction(tools.clear_action)
    menu.addSeparator()
    menu.addAction(tools.hear.action)
    menu.addMenu(tools.hear.through_menu)
    return tools
