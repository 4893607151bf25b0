"""Playback wiring: the session's mix to the player, the player's position to the window.

The player (``app.playback.player.Player``) streams the mixture through per-frame masks
with live gains; this class feeds it the session's spectrogram, factors, paint
steering and effective gains, and turns its reports into the transport bar, the playhead, the
loop range and the underrun count. It also offers the output devices, and
remembers the chosen one. While a region is heard (:meth:`PlaybackControl.listen`,
the Paint menu's "Hear region": a selection, or a source's paint), it hands the player
that region, the gains of the source heard through it and a loop over the region's
time extent.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from ..document import Document
from .bar import PlaybackBar
from .region import (
    Listening,
    PaintedFrames,
    listening_gains,
    region_of,
    selection_region,
    span_seconds,
)

__all__ = ["PlaybackControl"]


#: How long Hear region waits before it starts playing: the render thread
#: takes the region, gains and loop first (a few of its 3 ms polls), ms.
START_DELAY_MS = 40

class PlaybackControl(QObject):
    """Transport actions and bar for an optional player.

    Signals
    -------
    position_changed(object)
        Playback position in seconds, or None when stopped (hides the playhead).
    loop_changed(object)
        The loop range ``(start, end)`` in seconds, or None: no loop.
    listening_changed(object)
        The :class:`~app.playback.region.Listening` played, or None: the whole mix.
    failed(str)
        The player reported an error (device lost, stream failed).

    Attributes
    ----------
    bar : PlaybackBar
        Transport buttons and clock, for a toolbar.
    actions : tuple of QAction
        Play/pause, stop and loop, for a menu.
    device_menu : QMenu
        The output devices; the chosen one is remembered in ``store``.
    underrun_label : QLabel
        Hidden until the device is starved; then says how often, for the status bar.
    """

    position_changed = Signal(object)
    loop_changed = Signal(object)
    listening_changed = Signal(object)
    failed = Signal(str)

    def __init__(
        self, document: Document, player, parent: QWidget, *, store: QSettings | None = None
    ) -> None:
        super().__init__(parent)
        self._document = document
        self._player = player
        self._store = store if store is not None else QSettings()
        self._state = "stopped"
        self._position = 0.0
        self._groups: list[list[int]] = []  # the components' sources the player has
        self._strength: float | None = None  # the paint strength the player has
        self._loop: tuple[float, float] | None = None
        self._listening: Listening | None = None
        self._loop_before: tuple[float, float] | None = None  # restored when listening ends
        self._painted: PaintedFrames | None = None  # the listened region's painted frames
        self.bar = PlaybackBar()
        self.play_pause = QAction("Play/Pause", parent)
        self.play_pause.setShortcut(QKeySequence(Qt.Key_Space))
        self.play_pause.setToolTip("Play or pause the mix (Space)")
        self.stop_action = QAction("Stop playback", parent)
        self.stop_action.setShortcut(QKeySequence("Ctrl+Space"))
        self.loop_action = QAction("Loop", parent)
        self.loop_action.setCheckable(True)
        self.loop_action.setShortcut(QKeySequence("L"))
        self.loop_action.setToolTip(
            "Loop a time range (L): drag the band's edges on the spectrogram or activations"
        )
        self.actions = (self.play_pause, self.stop_action, self.loop_action)
        parent.addActions(list(self.actions))
        self.bar.loop_button.setDefaultAction(self.loop_action)
        self.device_menu = QMenu("Output &device", parent)
        self.underrun_label = QLabel()
        self.underrun_label.setObjectName("underruns")
        self.underrun_label.setToolTip(
            "Blocks of silence the audio device got because rendering fell behind"
        )
        self.underrun_label.hide()
        self.play_pause.triggered.connect(self.toggle)
        self.stop_action.triggered.connect(self.stop)
        self.loop_action.toggled.connect(self._on_loop_toggled)
        self.bar.play_pause_clicked.connect(self.toggle)
        self.bar.stop_clicked.connect(self.stop)
        document.audio_changed.connect(self._on_audio_changed)
        available = player is not None and player.available
        reason = "no player" if player is None else getattr(player, "unavailable_reason", "")
        self.bar.set_available(available, reason)
        for action in self.actions:
            action.setEnabled(available)
        self.device_menu.setEnabled(available)
        if not available:
            self.device_menu.setToolTip(f"Playback unavailable: {reason}")
            return
        self._build_device_menu()
        player.position_changed.connect(self._on_position)
        player.state_changed.connect(self._on_state)
        player.underruns_changed.connect(self._on_underruns)
        player.error_occurred.connect(self.failed)
        document.factors_changed.connect(self._send_factors)
        document.settings_changed.connect(self._on_settings_changed)
        document.component_changed.connect(self._on_component_changed)
        document.components_changed.connect(self._send_gains)
        # A stroke, or components moved between sources, changes the masks: the
        # player renders what it holds ahead again (document.steering() is cheap:
        # weights are made per block, in the engine's thread).
        document.paint_changed.connect(self._on_paint_changed)
        document.sources_changed.connect(self._on_sources_changed)

    @property
    def state(self) -> str:
        """The player's last reported state."""
        return self._state

    def toggle(self) -> None:
        """Play if paused or stopped, pause if playing."""
        if self._player is None or self._document.spectrogram is None:
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

    def set_loop(self, span: tuple[float, float] | None) -> None:
        """Loop ``span`` (seconds, clamped to the mixture) while playing; None plays through."""
        if span is not None:
            duration = self._document.audio.duration if self._document.audio else 0.0
            start, end = max(0.0, min(span)), min(duration, max(span))
            span = (start, end) if end > start else None
        if span == self._loop:
            return
        self._loop = span
        if self._player is not None and self._player.available:
            self._player.set_loop(*(span or (None, None)))
        self.loop_action.blockSignals(True)
        self.loop_action.setChecked(span is not None)
        self.loop_action.blockSignals(False)
        self.loop_changed.emit(span)

    @property
    def loop(self) -> tuple[float, float] | None:
        """The loop range in seconds, or None."""
        return self._loop

    @property
    def listening(self) -> Listening | None:
        """The painted region being heard, or None: the whole mix plays."""
        return self._listening

    def listen(self, listening: Listening | None) -> None:
        """Hear only ``listening.source``'s painted cells (or the selection), through ``through``.

        The player gets the source's paint row as its region (soft paint plays
        softly; later strokes are heard as they are painted) — or, for a
        selection (``listening.cells``), that rectangle at full weight —, the
        gains of the source heard through it, and a loop over the region's time
        span, where playback moves if it is elsewhere; it starts playing. None
        returns to the whole mix and the loop there was before.
        """
        if self._player is None or not self._player.available or listening == self._listening:
            return
        if self._document.spectrogram is None:
            listening = None
        started = self._listening is None
        if started and listening is not None:
            self._loop_before = self._loop
        self._listening = listening
        if listening is None:
            self._painted = None
            self._player.set_region(None)
            self._send_gains()
            self.set_loop(self._loop_before)
        else:
            if listening.cells is None:
                region = region_of(self._document, listening.source)
                self._painted = PaintedFrames(region)
            else:
                grid = self._document.magnitude.shape
                region = selection_region(grid, listening.cells)
                self._painted = PaintedFrames.spanning(grid[1], listening.cells[1])
            self._player.set_region(region)
            self._send_gains()
            self._loop_to_region()
            if self._state != "playing":
                # Start once the render thread has taken the region, gains and loop: a start
                # before would have it take back what it had rendered while it plays.
                QTimer.singleShot(START_DELAY_MS, self._start_listening)
        self.listening_changed.emit(listening)

    def _start_listening(self) -> None:
        if self._listening is not None and self._state != "playing":
            self._player.play()

    def _loop_to_region(self) -> None:
        """Loop the region's time span (if anything is painted) and play inside it."""
        frames = self._painted.span()
        if frames is None:
            return
        span = span_seconds(frames, self._document.spectrogram)
        self.set_loop(span)
        if self._loop is not None and not self._loop[0] <= self._position < self._loop[1]:
            self.seek(self._loop[0])

    def _on_paint_changed(self, block) -> None:
        self._send_steering()
        if self._listening is None or self._listening.cells is not None:
            return  # a selection is heard whatever is painted
        # The paint may be a new array (a new source's row, an undo): hand it over again.
        region = region_of(self._document, self._listening.source)
        if block is None:
            self._painted = PaintedFrames(region)
        else:
            self._painted.update(region, block[1])
        self._player.set_region(region)
        self._loop_to_region()

    def shutdown(self) -> None:
        """Close the audio stream (the window is closing)."""
        if self._player is not None:
            self._player.close()

    def _on_loop_toggled(self, on: bool) -> None:
        audio = self._document.audio
        if not on or audio is None:
            self.set_loop(None)
            return
        # A first range to drag from: an eighth of the file (at least a second) from the playhead.
        length = min(audio.duration, max(1.0, audio.duration / 8))
        start = min(self._position, audio.duration - length)
        self.set_loop((start, start + length))

    def _build_device_menu(self) -> None:
        """System default plus every output device, checked as chosen; the choice is kept."""
        group = QActionGroup(self.device_menu)
        remembered = self._store.value("playback/device", "", type=str)
        names = [device["name"] for device in self._player.output_devices()]
        if remembered not in names:
            remembered = ""
        for name in ["", *names]:
            action = self.device_menu.addAction(name or "System default")
            action.setCheckable(True)
            action.setChecked(name == remembered)
            action.setToolTip(name or "The output device the system chooses")
            group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self._choose_device(n))
        if remembered:
            self._player.set_device(remembered)

    def _choose_device(self, name: str) -> None:
        self._player.set_device(name or None)
        self._store.setValue("playback/device", name)

    def _on_underruns(self, count: int) -> None:
        self.underrun_label.setText(f"⚠ {count} audio underrun{'s' if count != 1 else ''}")
        self.underrun_label.setVisible(count > 0)

    def _on_audio_changed(self) -> None:
        audio = self._document.audio
        self.bar.set_duration(audio.duration)
        self._position = 0.0
        if self._listening is not None:  # other audio: another paint, nothing to hear
            self._listening = self._painted = self._loop_before = None
            self.listening_changed.emit(None)
        self.set_loop(None)
        if self._player is not None and self._player.available:
            self._player.stop()
            self._send_material()

    def _factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The session's factors and channel gains, or a one-component identity
        that plays the mixture."""
        document = self._document
        if document.W is not None:
            return document.W, document.H, document.channel_gains
        bins, frames = document.spectrogram.shape
        return np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32), None

    def _steering(self):
        """The document's paint steering (None without paint or factors), noting what it
        was made of."""
        document = self._document
        self._groups = document.groups()
        self._strength = document.settings.guide_strength
        return document.steering()

    def _send_material(self) -> None:
        W, H, gains = self._factors()  # noqa: N806
        power = self._document.settings.mask_power
        self._player.set_material(self._document.spectrogram, W, H, power=power,
                                  channel_gains=gains, steering=self._steering())
        self._send_gains()

    def _send_factors(self) -> None:
        if self._document.spectrogram is None:
            return
        W, H, gains = self._factors()  # noqa: N806
        self._player.set_factors(W, H, power=self._document.settings.mask_power,
                                 channel_gains=gains, steering=self._steering())
        self._send_gains()

    def _send_steering(self) -> None:
        if self._document.spectrogram is not None:
            self._player.set_steering(self._steering())

    def _on_settings_changed(self, settings) -> None:
        # The export renders with the session's mask exponent and paint strength:
        # so does the player.
        if settings.mask_power != self._player.power:
            self._send_factors()
        elif settings.guide_strength != self._strength:
            self._send_steering()

    def _on_sources_changed(self) -> None:
        self._send_gains()  # a source's solo and mute are in the effective gains
        self._send_steering()

    def _on_component_changed(self, _index: int) -> None:
        self._send_gains()
        # Only a move to another source changes the steering (not a gain, mute or name).
        if self._document.groups() != self._groups:
            self._send_steering()

    def _send_gains(self) -> None:
        if self._document.spectrogram is None:
            return
        if self._listening is not None:
            self._player.set_gains(listening_gains(self._document, self._listening))
        elif self._document.W is None:
            self._player.set_gains(np.ones(1, np.float32))
        else:
            self._player.set_gains(self._document.effective_gains())

    def _on_position(self, seconds: float) -> None:
        self._position = seconds
        self.bar.set_position(seconds)
        self.position_changed.emit(seconds if self._state != "stopped" or seconds > 0 else None)

    def _on_state(self, state: str) -> None:
        self._state = state
        self.bar.set_state(state)
        if state == "stopped":
            self.position_changed.emit(None)
