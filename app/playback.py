"""Playback wiring: the session's mix to the player, the player's position to the window.

The player (``app.player.Player``) streams the mixture through per-frame masks
with live gains; this class feeds it the session's spectrogram, factors and
effective gains, and turns its reports into the transport bar and playhead.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from .playback_bar import PlaybackBar
from .session import Session

__all__ = ["PlaybackControl"]


class PlaybackControl(QObject):
    """Transport actions and bar for an optional player.

    Signals
    -------
    position_changed(object)
        Playback position in seconds, or None when stopped (hides the playhead).
    failed(str)
        The player reported an error (device lost, stream failed).
    """

    position_changed = Signal(object)
    failed = Signal(str)

    def __init__(self, session: Session, player, parent: QWidget) -> None:
        super().__init__(parent)
        self._session = session
        self._player = player
        self._state = "stopped"
        self.bar = PlaybackBar()
        self.play_pause = QAction("Play/Pause", parent)
        self.play_pause.setShortcut(QKeySequence(Qt.Key_Space))
        self.play_pause.setToolTip("Play or pause the mix (Space)")
        self.stop_action = QAction("Stop playback", parent)
        self.stop_action.setShortcut(QKeySequence("Ctrl+Space"))
        self.actions = (self.play_pause, self.stop_action)
        parent.addActions(list(self.actions))
        self.play_pause.triggered.connect(self.toggle)
        self.stop_action.triggered.connect(self.stop)
        self.bar.play_pause_clicked.connect(self.toggle)
        self.bar.stop_clicked.connect(self.stop)
        session.audio_changed.connect(self._on_audio_changed)
        available = player is not None and player.available
        reason = "no player" if player is None else getattr(player, "unavailable_reason", "")
        self.bar.set_available(available, reason)
        for action in self.actions:
            action.setEnabled(available)
        if not available:
            return
        player.position_changed.connect(self._on_position)
        player.state_changed.connect(self._on_state)
        player.error_occurred.connect(self.failed)
        session.factors_changed.connect(self._send_factors)
        session.component_changed.connect(lambda _: self._send_gains())
        session.components_changed.connect(self._send_gains)

    @property
    def state(self) -> str:
        """The player's last reported state."""
        return self._state

    def toggle(self) -> None:
        """Play if paused or stopped, pause if playing."""
        if self._player is None or self._session.spectrogram is None:
            return
        if self._state == "playing":
            self._player.pause()
        else:
            self._player.play()

    def stop(self) -> None:
        """Stop and rewind."""
        if self._player is not None:
            self._player.stop()

    def seek(self, seconds: float) -> None:
        """Move the playback position."""
        if self._player is not None and self._player.available:
            self._player.seek(seconds)
            self.position_changed.emit(seconds)
            self.bar.set_position(seconds)

    def shutdown(self) -> None:
        """Close the audio stream (the window is closing)."""
        if self._player is not None:
            self._player.close()

    def _on_audio_changed(self) -> None:
        audio = self._session.audio
        self.bar.set_duration(audio.duration)
        if self._player is not None and self._player.available:
            self._player.stop()
            self._send_material()

    def _factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The session's factors, or a one-component identity that plays the mixture."""
        session = self._session
        if session.W is not None:
            return session.W, session.H
        bins, frames = session.spectrogram.shape
        return np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32)

    def _send_material(self) -> None:
        W, H = self._factors()  # noqa: N806
        self._player.set_material(self._session.spectrogram, W, H)
        self._send_gains()

    def _send_factors(self) -> None:
        if self._session.spectrogram is None:
            return
        W, H = self._factors()  # noqa: N806
        self._player.set_factors(W, H)
        self._send_gains()

    def _send_gains(self) -> None:
        if self._session.spectrogram is None:
            return
        if self._session.W is None:
            self._player.set_gains(np.ones(1, np.float32))
        else:
            self._player.set_gains(self._session.effective_gains())

    def _on_position(self, seconds: float) -> None:
        self.bar.set_position(seconds)
        self.position_changed.emit(seconds if self._state != "stopped" or seconds > 0 else None)

    def _on_state(self, state: str) -> None:
        self._state = state
        self.bar.set_state(state)
        if state == "stopped":
            self.position_changed.emit(None)
