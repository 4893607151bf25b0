"""The workstation window: composition of the views, docks, menus, toolbar and status bar.

Nothing here computes: the session holds the state, the solver control and the
loader do the work in threads, the views draw. This file only wires them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QWidget,
)

from . import jobs, preferences
from .dialogs.batch import BatchDialog
from .document import Document
from .explore import install_explore
from .history import EditHistory
from .loader import Loader
from .painting import install_painting
from .parameters_panel import ParametersPanel
from .playback.control import PlaybackControl
from .services import Services
from .session_files import SESSION_FILTER, SessionFiles, is_session
from .solver_actions import SolverActions
from .solver_control import SolverControl
from .steering.install import install_steering
from .theme import icon
from .views.activations import ActivationsView
from .views.components import ComponentsView
from .views.hint import install_hints
from .views.loss_plot import LossPlot
from .views.spectrogram import SpectrogramView
from .views.templates import TemplatesView

__all__ = ["MainWindow", "AUDIO_FILTER"]

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.aiff *.aif *.mp3);;All files (*)"
OPEN_FILTER = (
    "Audio files and sessions (*.wav *.flac *.ogg *.aiff *.aif *.mp3 *.partwise);;"
    f"{SESSION_FILTER};;{AUDIO_FILTER}"
)
_AXIS_WIDTH = 72  # every plot's left axis: fixed, so time axes line up and nothing shifts
# Saved dock layouts of an older version are ignored: the defaults changed since.
_LAYOUT_VERSION = 1
_SHUTDOWN_TIMEOUT = 10.0  # s to wait for the jobs when the window closes
_RIGHT_DOCK_WIDTH = 480  # reconstruction, templates and loss: readable, the centre stays wide


class MainWindow(QMainWindow):
    """Partwise's main window.

    Parameters
    ----------
    store : QSettings, optional
        Where layout, parameters and recent files are remembered (default: the
        application's settings).
    player : object, optional
        An ``app.playback.player.Player``; without one the playback controls are disabled.

    Signals
    -------
    error_reported(str)
        An error message was shown to the user.
    """

    error_reported = Signal(str)

    def __init__(self, *, store: QSettings | None = None, player=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Partwise")
        self.setObjectName("main_window")
        self.setAcceptDrops(True)
        self._store = store if store is not None else QSettings()
        self.document = Document(preferences.load_parameters(self._store))
        self.control = SolverControl(self.document, self)
        self.loader = Loader(self.document, self)
        self.history = EditHistory(self.document, self, control=self.control)
        self.error_box: QMessageBox | None = None
        self.restart_box: QMessageBox | None = None
        self._opening: str | None = None  # path being loaded, for the recent files
        self._start_text: str | None = None  # what a run's start is doing, until it iterates

        self.spectrogram = SpectrogramView(self.document, mode="mixture")
        self.reconstruction = SpectrogramView(self.document, mode="model")
        self.activations = ActivationsView(self.document)
        self.templates = TemplatesView(self.document)
        self.loss_plot = LossPlot(self.document)
        self.components = ComponentsView(self.document)
        self.parameters = ParametersPanel(self.document)
        self._link_time_axes()

        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.spectrogram)
        splitter.addWidget(self.activations)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.setCentralWidget(splitter)
        self._docks = {}
        self._add_dock("Parameters", self.parameters, Qt.LeftDockWidgetArea)
        self._add_dock("Components", self.components, Qt.LeftDockWidgetArea)
        self._add_dock("Reconstruction", self.reconstruction, Qt.RightDockWidgetArea)
        self._add_dock("Templates", self.templates, Qt.RightDockWidgetArea)
        self._add_dock("Loss", self.loss_plot, Qt.RightDockWidgetArea)
        self.playback = PlaybackControl(self.document, player, self, store=self._store)
        self.services = Services(
            self,
            add_dock=self._add_dock,
            set_component_editor=self.components.set_steering,
            show_status=self.statusBar().showMessage,
        )
        # Sources, locks, edits, learning, scores (issue 7).
        self.steering, self.learn_panel, self.scores = install_steering(self.services)

        self.solver_actions = SolverActions(self.control, self.document, self)
        self.files = SessionFiles(self, self._store, audio_filter=AUDIO_FILTER)
        self._build_status_bar()
        self._build_menus_and_toolbar()
        self.explore = install_explore(self.services)
        self.painting = install_painting(self.services)
        self._connect()
        self.hints = install_hints(self)  # what fills each view while it is empty
        self.resize(1600, 1000)
        self._default_dock_sizes()
        self._restore_layout()

    # -- building ----------------------------------------------------------------------------

    def _link_time_axes(self) -> None:
        self.activations.setXLink(self.spectrogram.plot)
        self.reconstruction.plot.setXLink(self.spectrogram.plot)
        # One fixed width for every left axis: the time axes line up, and labels that change
        # during a run (the loss's decades) never shift a plot.
        plots = (self.spectrogram.plot, self.reconstruction.plot, self.activations,
                 self.templates, self.loss_plot)
        for plot in plots:
            plot.getAxis("left").setWidth(_AXIS_WIDTH)

    def _default_dock_sizes(self) -> None:
        """Left docks wide enough for every component column; parameters no taller than needed."""
        left = self.components.preferred_width()
        self.resizeDocks([self._docks["Parameters"]], [left], Qt.Horizontal)
        self.resizeDocks([self._docks["Reconstruction"]], [_RIGHT_DOCK_WIDTH], Qt.Horizontal)
        parameters = self.parameters.sizeHint().height()
        self.resizeDocks([self._docks["Parameters"], self._docks["Components"]],
                         [parameters, self.height() - parameters], Qt.Vertical)

    def _add_dock(self, title: str, widget: QWidget, area, *, tab_with: str | None = None):
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self._docks[title] = dock
        if tab_with is not None:
            self.tabifyDockWidget(self._docks[tab_with], dock)
            self._docks[tab_with].raise_()
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy_bar = QProgressBar()
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setRange(0, 0)  # busy indicator: loading has no measurable progress
        self.busy_bar.hide()
        self.readout = QLabel()
        self.readout.setObjectName("readout")
        self.solver_label = QLabel("No factorization")
        bar.addPermanentWidget(self.busy_bar)
        bar.addPermanentWidget(self.readout)
        bar.addPermanentWidget(self.solver_label)
        bar.addPermanentWidget(self.playback.underrun_label)

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        # Each user action that replaces the session first settles unsaved changes.
        settled = self.files.after_saving_changes
        self.open_action = open_action = QAction(icon("open"), "&Open…", self)
        open_action.setShortcut(QKeySequence.Open)
        open_action.setToolTip("Open an audio file or a session (Ctrl+O)")
        open_action.triggered.connect(lambda: settled(self.choose_file))
        self.demo_action = demo_action = QAction("Open &demo mixture", self)
        demo_action.setShortcut(QKeySequence("Ctrl+D"))
        demo_action.triggered.connect(lambda: settled(self.open_demo))
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.insertAction(self.recent_menu.menuAction(), open_action)
        file_menu.addAction(demo_action)
        file_menu.addSeparator()
        file_menu.addActions([self.files.save_action, self.files.save_as_action])
        file_menu.addSeparator()
        file_menu.addAction(self.files.export_action)
        file_menu.addAction("&Batch separate…").triggered.connect(self.open_batch)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.Quit)
        quit_action.triggered.connect(self.close)
        self._update_recent_menu()

        edit_menu = menu.addMenu("&Edit")
        edit_menu.addActions([self.history.undo_action, self.history.redo_action])

        solver_menu = menu.addMenu("&Solver")
        for action in self.solver_actions.all:
            solver_menu.addAction(action)
        playback_menu = menu.addMenu("&Playback")
        for action in self.playback.actions:
            playback_menu.addAction(action)
        playback_menu.addMenu(self.playback.device_menu)
        view_menu = menu.addMenu("&View")
        for dock in self._docks.values():
            view_menu.addAction(dock.toggleViewAction())

        toolbar = self.addToolBar("Transport")
        toolbar.setObjectName("toolbar_transport")
        toolbar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        toolbar.addAction(open_action)
        toolbar.addSeparator()
        for action in self.solver_actions.all:
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action, name in zip(self.playback.actions, ("play", "stop", "loop")):
            action.setIcon(icon(name))
        toolbar.addWidget(self.playback.bar)

    def _connect(self) -> None:
        document = self.document
        self._busy_message = self._notice = ""
        self.loader.busy_changed.connect(self._on_busy_changed)
        self.loader.failed.connect(self.report_error)
        for view in (self.spectrogram, self.reconstruction):
            view.failed.connect(self.report_error)
        self.loader.loaded.connect(self._on_loaded)
        self.control.failed.connect(self.report_error)
        self.playback.failed.connect(self.report_error)
        self.files.file_used.connect(self._remember_recent)
        self.control.restart_offered.connect(self._offer_restart)
        self.control.state_changed.connect(self._on_solver_state)
        self.control.initialising.connect(self._show_start_progress)
        document.factors_changed.connect(self._update_solver_label)
        document.noticed.connect(self._show_notice)
        self.parameters.refused.connect(self._show_notice)
        for view in (self.spectrogram, self.reconstruction):
            view.hovered.connect(self.readout.setText)
        for view in (self.spectrogram, self.reconstruction, self.activations):
            view.seek_requested.connect(self.playback.seek)
            self.playback.position_changed.connect(view.playhead.set_position)
        for view in (self.spectrogram, self.activations):
            view.loop_region.changed.connect(self.playback.set_loop)
            self.playback.loop_changed.connect(view.loop_region.set_range)

    # -- opening files -----------------------------------------------------------------------

    def choose_file(self) -> None:
        """Ask for an audio file or a session and open it."""
        start = str(Path(preferences.recent_files(self._store)[0]).parent) if (
            preferences.recent_files(self._store)) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        """Open audio (in the background) or a ``.partwise`` session; a failure changes nothing."""
        if is_session(path):
            self.files.open_session(path)
            return
        self._opening = str(Path(path).resolve())
        self.loader.open_file(path)

    def open_batch(self) -> BatchDialog:
        """*File › Batch separate…*: many files with this session's settings (non-blocking)."""
        dialog = BatchDialog(self.document.settings, self)
        dialog.open()
        return dialog

    def open_demo(self) -> None:
        """Open the built-in demo mixture."""
        self._opening = None
        self.loader.open_demo()

    def _on_loaded(self, name: str) -> None:
        status = self.statusBar()
        if self._notice and status.currentMessage() == self._notice:
            # What opening did to the user's edits is still said.
            status.showMessage(f"Opened {name}. {self._notice}", 15_000)
        else:
            status.showMessage(f"Opened {name}", 4000)
        if self._opening:
            self._remember_recent(self._opening)

    def _remember_recent(self, path: str | Path) -> None:
        preferences.add_recent_file(self._store, str(Path(path).resolve()))
        self._update_recent_menu()

    def visible_plots(self) -> dict[str, QWidget]:
        """The plots on screen, by name (what the export writes as PNG)."""
        plots = {
            "spectrogram": self.spectrogram,
            "reconstruction": self.reconstruction,
            "activations": self.activations,
            "templates": self.templates,
            "loss": self.loss_plot,
        }
        return {name: plot for name, plot in plots.items() if plot.isVisible()}

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = preferences.recent_files(self._store)
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(
                lambda _=False, p=path: self.files.after_saving_changes(lambda: self.open_file(p))
            )
        self.recent_menu.setEnabled(bool(files))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accept local files."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Open the first dropped local file."""
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            self.files.after_saving_changes(lambda: self.open_file(files[0]))
            event.acceptProposedAction()

    # -- messages ----------------------------------------------------------------------------

    def report_error(self, message: str) -> None:
        """Show ``message`` in a (non-blocking) message box and emit :attr:`error_reported`."""
        self.statusBar().showMessage(message, 8000)
        self.error_box = QMessageBox(QMessageBox.Warning, "Partwise", message,
                                     QMessageBox.Ok, self)
        self.error_box.setAttribute(Qt.WA_DeleteOnClose)
        self.error_box.open()
        self.error_reported.emit(message)

    def _show_notice(self, message: str) -> None:
        """Something the model did to the user's edits (locks cleared…), said in the status bar."""
        self._notice = message
        self.statusBar().showMessage(message, 15_000)

    def _offer_restart(self, changed: str) -> None:
        self.restart_box = QMessageBox(
            QMessageBox.Question, "Parameters changed",
            f"The run was stopped because {changed} changed.\n"
            "Restart the factorization with the new parameters?",
            QMessageBox.Yes | QMessageBox.No, self,
        )
        self.restart_box.setDefaultButton(QMessageBox.Yes)
        self.restart_box.accepted.connect(self.control.run)
        self.restart_box.open()

    def _on_busy_changed(self, message: str) -> None:
        """Show the loader's busy message; when it is done, take down only that message.

        A notice shown while it worked (the paint a new FFT size cleared) stays.
        """
        self.busy_bar.setVisible(bool(message))
        status = self.statusBar()
        if message:
            status.showMessage(message)
        elif status.currentMessage() == self._busy_message:
            status.clearMessage()
        self._busy_message = message

    def _show_start_progress(self, phase: str, done: float) -> None:
        self._start_text = f"{phase}… {done:.0%}"
        self._update_solver_label()

    def _on_solver_state(self, state: str) -> None:
        if state == "idle":
            self._start_text = None  # stopped or reset: no start in progress
        self._update_solver_label()

    def _update_solver_label(self) -> None:
        document, state = self.document, self.control.state
        if document.losses:
            self._start_text = None  # the run's own figures say more now
        if not document.losses:
            text = self._start_text or ("Running…" if state == "running" else "No factorization")
        else:
            loss = document.losses[-1]
            text = f"{state.capitalize()} · iteration {document.n_iter} · loss {loss:.4g}"
        self.solver_label.setText(text)

    # -- lifetime ----------------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self._store.value("window/geometry")
        state = self._store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, _LAYOUT_VERSION)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Ask about unsaved changes; remember layout and parameters, stop every job, close."""
        if not self.files.may_close():
            event.ignore()
            return
        self._store.setValue("window/geometry", self.saveGeometry())
        self._store.setValue("window/state", self.saveState(_LAYOUT_VERSION))
        preferences.save_parameters(self._store, self.document.settings)
        self._store.sync()
        self.playback.shutdown()
        self.control.shutdown()
        self.services.close()
        # Stepped jobs stop at their next step; a function job still running after the
        # timeout (a long decode) runs in a daemon thread and cannot hold up the exit.
        jobs.registry.shutdown(_SHUTDOWN_TIMEOUT)
        self.files.closed()
        super().closeEvent(event)
