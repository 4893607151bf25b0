"""Puts the steering features into the main window: controller, learn and scores docks."""

from __future__ import annotations

from PySide6.QtCore import Qt

from .controller import SteeringController
from .learn_panel import LearnPanel
from .scores import ScoresPanel

__all__ = ["install_steering", "shutdown_steering"]


def install_steering(window) -> SteeringController:
    """Give ``window`` (a MainWindow) the steering controller, "Learn source" and "Scores" docks.

    Sets ``window.steering``, ``window.learn_panel`` and ``window.scores``.
    """
    steering = SteeringController(window.session, window.control, window)
    window.steering = steering
    window.components.set_steering(steering)
    window.learn_panel = LearnPanel(window.session, steering, window.spectrogram.plot)
    window.scores = ScoresPanel(window.session)
    steering.failed.connect(window.report_error)
    steering.busy_changed.connect(
        lambda text: window.statusBar().showMessage(text, 4000) if text else None)
    for title, widget in (("Learn source", window.learn_panel), ("Scores", window.scores)):
        window._add_dock(title, widget, Qt.RightDockWidgetArea)
        window.tabifyDockWidget(window._docks["Loss"], window._docks[title])
    window._docks["Learn source"].visibilityChanged.connect(window.learn_panel.set_region_visible)
    window._docks["Loss"].raise_()
    return steering


def shutdown_steering(window) -> None:
    """Detach the steering from the window's docks (the window is closing)."""
    # Docks report themselves hidden while the window is torn down, after the
    # plot (and the band on it) may already be gone.
    window._docks["Learn source"].visibilityChanged.disconnect(
        window.learn_panel.set_region_visible
    )
