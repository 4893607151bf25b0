"""Transport for audio playback: play/pause, stop, loop, elapsed and total time."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ..theme import icon

__all__ = ["PlaybackBar", "format_time"]


def format_time(seconds: float) -> str:
    """``m:ss.s`` for a time in seconds."""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


class PlaybackBar(QWidget):
    """Buttons and a clock; it shows the player's state and forwards the user's clicks.

    Signals
    -------
    play_pause_clicked, stop_clicked
    """

    play_pause_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._play_icon, self._pause_icon = icon("play"), icon("pause")
        self.play_button = QToolButton()
        self.play_button.setIcon(self._play_icon)
        self.play_button.setToolTip("Play or pause the mix with the components' gains (Space)")
        self.stop_button = QToolButton()
        self.stop_button.setIcon(icon("stop"))
        self.stop_button.setToolTip("Stop playback and return to the start")
        self.loop_button = QToolButton()  # shows the owner's loop action
        self.loop_button.setIcon(icon("loop"))
        self.clock = QLabel(f"{format_time(0)} / {format_time(0)}")
        self.clock.setObjectName("clock")
        self.clock.setToolTip("Playback position / length of the mixture")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.stop_button)
        layout.addWidget(self.loop_button)
        layout.addWidget(self.clock)
        self._duration = 0.0
        self.play_button.clicked.connect(self.play_pause_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)

    def set_available(self, available: bool, reason: str = "") -> None:
        """Enable the controls, or disable them and say why in their tooltips.

        The loop button shows its owner's action, which sets the button's tooltip
        whenever it changes: the reason goes on the action too.
        """
        for button in (self.play_button, self.stop_button):
            button.setEnabled(available)
        if not available:
            tip = f"Playback unavailable: {reason}" if reason else "Playback unavailable"
            self.play_button.setToolTip(tip)
            self.stop_button.setToolTip(tip)
            loop = self.loop_button.defaultAction()
            (loop or self.loop_button).setToolTip(tip)

    def set_duration(self, seconds: float) -> None:
        """Length shown after the slash."""
        self._duration = seconds
        self.set_position(0.0)

    def set_position(self, seconds: float) -> None:
        """Elapsed time shown before the slash."""
        self.clock.setText(f"{format_time(seconds)} / {format_time(self._duration)}")

    def set_state(self, state: str) -> None:
        """Show ``'playing'``, ``'paused'`` or ``'stopped'`` on the play button."""
        self.play_button.setIcon(self._pause_icon if state == "playing" else self._play_icon)
