"""Puts the steering features into the main window: controller, learn and scores docks."""

from __future__ import annotations

from ..services import Services
from .controller import SteeringController
from .learn_panel import LearnPanel
from .scores import ScoresPanel

__all__ = ["install_steering"]


def install_steering(services: Services) -> tuple[SteeringController, LearnPanel, ScoresPanel]:
    """The steering controller and the "Learn source" and "Scores" docks, through ``services``.

    Returns the controller and the two panels, for the window to keep.
    """
    steering = SteeringController(services.document, services.control, services.parent)
    services.set_component_editor(steering)
    learn_panel = LearnPanel(services.document, steering, services.spectrogram_plot)
    scores = ScoresPanel(services.document)
    steering.failed.connect(services.report_error)
    steering.busy_changed.connect(lambda text: services.show_status(text) if text else None)
    learn_dock = services.add_dock("Learn source", learn_panel, tab_with="Loss")
    services.add_dock("Scores", scores, tab_with="Loss")
    learn_dock.visibilityChanged.connect(learn_panel.set_region_visible)

    def detach() -> None:
        # Docks report themselves hidden while the window is torn down, after the
        # plot (and the band on it) may already be gone.
        learn_dock.visibilityChanged.disconnect(learn_panel.set_region_visible)

    services.on_close(detach)
    return steering, learn_panel, scores
