"""What a feature (Explore, Steering, …) may use of the main window, and nothing more.

A feature is installed with ``install_…(services)``: it reads the document and
the solver, adds docks and menus, reports errors and shows status through this
small interface, and never reaches into the window's private members. The
window keeps what ``install_…`` returns, under a name of its own choosing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar, QWidget

__all__ = ["Services"]


class Services:
    """The main window's services for features.

    Attributes
    ----------
    document : app.document.Document
        The document model.
    control : app.solver_control.SolverControl
        Run, pause, step and stop the factorization.
    loader : app.loader.Loader
        Open audio or a designed mixture.
    parent : QWidget
        The parent of a feature's windows and actions.
    spectrogram_plot : pyqtgraph.PlotItem
        The mixture spectrogram's plot, for a feature that selects on it.
    spectrogram : app.views.spectrogram.SpectrogramView
        The mixture spectrogram's view, for a feature that draws on its grid.
    reconstruction : app.views.spectrogram.SpectrogramView
        The Reconstruction dock's view (the model, a component's share, the mix).
    history : app.history.EditHistory
        The window's undo stack: every edit a feature makes is pushed there.
    playback : app.playback.control.PlaybackControl
        The window's playback (without a player or device its actions are disabled).
    """

    def __init__(
        self,
        window,
        *,
        add_dock: Callable[..., QDockWidget],
        set_component_editor: Callable[[object], None],
        show_status: Callable[[str, int], None],
    ) -> None:
        self._window = window
        self._add_dock = add_dock
        self._set_component_editor = set_component_editor
        self._show_status = show_status
        self._closing: list[Callable[[], None]] = []
        self.document = window.document
        self.control = window.control
        self.loader = window.loader
        self.parent: QWidget = window
        self.spectrogram_plot = window.spectrogram.plot
        self.spectrogram = window.spectrogram
        self.reconstruction = window.reconstruction
        self.history = window.history
        self.playback = window.playback

    def add_dock(
        self, title: str, widget: QWidget, *, tab_with: str | None = None
    ) -> QDockWidget:
        """Show ``widget`` in a dock on the right (in a tab beside the ``tab_with`` dock)."""
        return self._add_dock(title, widget, Qt.RightDockWidgetArea, tab_with=tab_with)

    def add_toolbar(self, toolbar: QToolBar) -> None:
        """Show ``toolbar`` under the window's others."""
        self._window.addToolBarBreak()
        self._window.addToolBar(toolbar)

    def add_menu(self, title: str) -> QMenu:
        """A new menu in the window's menu bar."""
        return self._window.menuBar().addMenu(title)

    def report_error(self, message: str) -> None:
        """Tell the user that something failed (a non-blocking message box)."""
        self._window.report_error(message)

    def show_status(self, message: str, milliseconds: int = 4000) -> None:
        """A passing message in the status bar."""
        self._show_status(message, milliseconds)

    def set_component_editor(self, editor) -> None:
        """Offer ``editor``'s edits (lock, split, zero, delete) in the components' menu."""
        self._set_component_editor(editor)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the window closes, before its jobs are stopped."""
        self._closing.append(callback)

    def close(self) -> None:
        """The window is closing: tell every feature that asked (the window calls this)."""
        for callback in self._closing:
            callback()
