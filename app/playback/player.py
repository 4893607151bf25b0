"""Audio playback of the live mix: a PortAudio stream fed by :class:`dsp.mixer.Mixer`.

The audio threads — a producer rendering ahead into a ring and the PortAudio
callback that copies from it — live in :mod:`app.playback.engine` and know nothing
of Qt. This module is the GUI thread's side: it opens and closes the stream,
hands the engine its requests (new material, seek, gains, factors with their
paint steering, the region heard, loop) by replacing whole attributes, which is atomic in Python,
and polls the position, underrun count and end of playback with a ~30 Hz timer.
"""

from __future__ import annotations

import weakref

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from dsp.guide import Steering
from dsp.mixer import Mixer

from .engine import BLOCK, Engine, Ring

__all__ = ["Player"]

_TICK_MS = 33  # GUI polling period: the playhead moves at ~30 Hz


def _load_sounddevice():
    """The sounddevice module and '' — or None and why it cannot be used."""
    try:
        import sounddevice
    except OSError as exc:  # the package is there but the PortAudio library is not
        return None, f"PortAudio is not installed ({exc})"
    except ImportError as exc:
        return None, f"the sounddevice package is not installed ({exc})"
    return sounddevice, ""


class Player(QObject):
    """Plays the mixture through live per-component gains on an output device.

    Construction never fails for lack of audio: without PortAudio or an output
    device, ``available`` is False, ``unavailable_reason`` says why, and every
    method is a harmless no-op.

    Signals
    -------
    position_changed(float)
        Playback position in seconds, from frames the device has taken (GUI thread, ≤ ~30 Hz).
    state_changed(str)
        'playing', 'paused' or 'stopped'.
    underruns_changed(int)
        Total number of blocks the device had to be given silence mid-playback.
    error_occurred(str)
        A stream could not be opened or failed while playing.
    """

    position_changed = Signal(float)
    state_changed = Signal(str)
    underruns_changed = Signal(int)
    error_occurred = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sd, self.unavailable_reason = _load_sounddevice()
        if self._sd is not None and not self.output_devices():
            self.unavailable_reason = "no audio output device was found"
        self.available = not self.unavailable_reason
        self._device: int | str | None = None
        self._stream = None
        self._state = "stopped"
        self._mixer: Mixer | None = None
        self._power: float | None = None
        #: (W, H, power, channel gains, steering) last handed to the engine.
        self._factors: tuple | None = None
        self._ring: Ring | None = None
        self._generation = 0
        self._loop: tuple[float, float] | None = None
        self._reported_position = -1.0
        self._reported_underruns = 0
        self._engine = Engine() if self.available else None
        if self._engine is not None:
            weakref.finalize(self, self._engine.close)
        self._timer = QTimer(self, interval=_TICK_MS)
        self._timer.timeout.connect(self._poll)

    @staticmethod
    def output_devices() -> list[dict]:
        """Output devices as ``{"name", "index", "channels", "default"}`` ([] without PortAudio)."""
        sd, _ = _load_sounddevice()
        if sd is None:
            return []
        try:
            default = sd.default.device[1]
            devices = sd.query_devices()
        except sd.PortAudioError:
            return []
        return [
            {
                "name": d["name"],
                "index": d["index"],
                "channels": d["max_output_channels"],
                "default": d["index"] == default,
            }
            for d in devices
            if d["max_output_channels"] > 0
        ]

    @property
    def device(self) -> int | str | None:
        """The chosen output device (name or index); None is the system default."""
        return self._device

    @property
    def duration(self) -> float:
        """Length of the material in seconds (0 without material)."""
        return self._mixer.length / self._mixer.rate if self._mixer else 0.0

    @property
    def power(self) -> float | None:
        """The mask exponent last handed to the engine (None without material)."""
        return self._power

    @property
    def position(self) -> float:
        """Playback position in seconds, from the frames the device has consumed."""
        if self._mixer is None:
            return 0.0
        engine = self._engine
        if engine.position_generation == self._generation:
            return engine.position / self._mixer.rate
        return engine.request[3] / self._mixer.rate  # nothing played since the seek

    def set_material(
        self,
        spectrogram,
        W: np.ndarray,  # noqa: N803 - the domain's names
        H: np.ndarray,  # noqa: N803
        *,
        power: float = 1.0,
        channel_gains: np.ndarray | None = None,
        steering: Steering | None = None,
    ) -> None:
        """New audio and factors, masks with exponent ``power`` (steered by ``steering``'s
        paint, if given): stops and rewinds."""
        if not self.available:
            return
        self.stop()
        self._mixer = Mixer(spectrogram, W, H, power=power, channel_gains=channel_gains,
                            steering=steering, ramp=BLOCK)
        self._power = power
        self._factors = (W, H, power, channel_gains, steering)
        self._ring = Ring(spectrogram.channels)
        self._send(0)

    def set_factors(
        self,
        W: np.ndarray,  # noqa: N803 - the domain's names
        H: np.ndarray,  # noqa: N803
        *,
        power: float | None = None,
        channel_gains: np.ndarray | None = None,
        steering: Steering | None = None,
    ) -> None:
        """Newest factor snapshot (not mutated afterwards), its channel gains, its
        paint steering (None: no paint) and, if given, mask exponent.

        Heard without a restart, from the next block the engine renders.
        """
        if self.available and self._mixer is not None:
            self._power = self._power if power is None else power
            self._factors = (W, H, self._power, channel_gains, steering)
            self._engine.factors = (self._mixer, *self._factors)

    def set_steering(self, steering: Steering | None) -> None:
        """The paint or the components' sources changed: render ahead again with ``steering``.

        The steering's paint may be the live array a stroke changed in place;
        the blocks not yet played are rendered again with it, so a stroke is
        heard within about a block. A steering made for other factors (another
        number of components) is ignored: :meth:`set_factors` brings their own.
        """
        if not self.available or self._mixer is None:
            return
        W, H, power, channel_gains, _ = self._factors  # noqa: N806
        if steering is not None and (len(steering.sources) != W.shape[1]
                                     or steering.grid != (W.shape[0], H.shape[1])):
            return
        self._factors = (W, H, power, channel_gains, steering)
        # Always a new tuple: the engine re-renders even for the same (changed) steering.
        self._engine.factors = (self._mixer, *self._factors)

    def set_region(self, region: np.ndarray | None) -> None:
        """Play only through ``region`` (bins, frames) in [0, 1]; None plays every cell.

        The blocks not yet played are rendered again with it, so it is heard
        within about a block; handing over the same array again (changed in
        place by a stroke) renders them again too. New material drops it.

        Raises
        ------
        ValueError
            If ``region`` is not on the material's grid.
        """
        if not self.available or self._mixer is None:
            return
        if region is not None and np.shape(region) != self._mixer.grid:
            raise ValueError(
                f"a region of {np.shape(region)} cells does not fit the material's "
                f"{self._mixer.grid}"
            )
        self._engine.region = (self._mixer, region)

    def set_gains(self, gains: np.ndarray) -> None:
        """Effective per-component gains; ramped over one block, heard within ~50 ms."""
        if self.available and self._mixer is not None:
            self._engine.gains = (self._mixer, np.array(gains, dtype=np.float32))

    def set_loop(self, start: float | None, end: float | None) -> None:
        """Loop between ``start`` and ``end`` seconds; ``(None, None)`` plays through.

        The last few milliseconds before ``end`` crossfade into those before
        ``start`` (see :data:`app.playback.engine.FADE`), so the wrap does not click.
        """
        if start is None or end is None or end <= start:
            self._loop = None
            if self.available:
                self._engine.loop = None
            return
        self._loop = (float(start), float(end))
        if self.available and self._mixer is not None:
            rate, length = self._mixer.rate, self._mixer.length
            # A loop that runs past the end wraps at the end.
            self._engine.loop = (min(round(start * rate), length), min(round(end * rate), length))

    def set_device(self, device: int | str | None) -> None:
        """Play on ``device`` (name or index; None = default); a running stream moves over."""
        if not self.available:
            return
        try:
            self._sd.query_devices(device, "output")
        except (ValueError, self._sd.PortAudioError) as exc:
            self.error_occurred.emit(f"cannot use output device {device!r}: {exc}")
            return
        self._device = device
        if self._stream is not None:
            position = round(self.position * self._mixer.rate)
            self._close_stream()
            self._send(position)
            if self._state == "playing" and self._open_stream():
                self._engine.running = True
                self._stream.start()

    def play(self) -> None:
        """Start or resume playback (from the start after the end was reached)."""
        if not self.available or self._mixer is None or self._state == "playing":
            return
        if self._engine.finished_generation == self._generation:
            self._send(self._loop_start())
        if self._stream is None and not self._open_stream():
            return
        self._engine.running = True
        self._engine.wait_ready()  # the device's first buffer, rendered before it asks
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self._close_stream()
            self.error_occurred.emit(f"cannot start the audio output: {exc}")
            return
        self._timer.start()
        self._set_state("playing")

    def pause(self) -> None:
        """Pause, keeping the position."""
        if self._state != "playing":
            return
        self._stream.stop()
        self._engine.running = False
        self._timer.stop()
        self._poll()
        self._set_state("paused")

    def stop(self) -> None:
        """Stop and return to the start (of the loop, if one is set)."""
        if self._stream is not None:
            self._close_stream()
        self._timer.stop()
        if self._mixer is not None:
            self._send(self._loop_start())
            self._emit_position()
        self._set_state("stopped")

    def seek(self, seconds: float) -> None:
        """Continue from ``seconds`` (clamped to the material), playing or not."""
        if not self.available or self._mixer is None:
            return
        self._send(round(min(max(seconds, 0.0), self.duration) * self._mixer.rate))
        self._emit_position()

    def close(self) -> None:
        """Release the stream and the render thread (also done when garbage-collected)."""
        self.stop()
        if self._engine is not None:
            self._engine.close()

    def _send(self, start: int) -> None:
        """Hand the producer a new generation: the material from ``start`` on."""
        self._generation += 1
        self._engine.request = (self._generation, self._mixer, self._ring, start)
        if self._loop is not None:
            self.set_loop(*self._loop)

    def _open_stream(self) -> bool:
        device = self._device
        if device is None and self._sd.default.device[1] < 0:
            device = self.output_devices()[0]["index"]  # no system default: take the first
        try:
            self._stream = self._sd.OutputStream(
                samplerate=self._mixer.rate,
                channels=self._mixer.channels,
                dtype="float32",
                blocksize=BLOCK,
                latency="low",
                device=device,
                callback=self._engine.callback,
            )
        except (self._sd.PortAudioError, ValueError) as exc:
            self.error_occurred.emit(f"cannot open the audio output: {exc}")
            return False
        return True

    def _loop_start(self) -> int:
        return self._engine.loop[0] if self._engine.loop is not None else 0

    def _close_stream(self) -> None:
        self._engine.running = False
        try:
            self._stream.abort()
            self._stream.close()
        except self._sd.PortAudioError as exc:
            self.error_occurred.emit(f"audio output failed to close: {exc}")
        self._stream = None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _emit_position(self) -> None:
        seconds = self.position
        if seconds != self._reported_position:
            self._reported_position = seconds
            self.position_changed.emit(seconds)

    def _poll(self) -> None:
        """Timer tick on the GUI thread: report what the audio threads did."""
        engine = self._engine
        self._emit_position()
        if engine.underruns != self._reported_underruns:
            self._reported_underruns = engine.underruns
            self.underruns_changed.emit(engine.underruns)
        if engine.error:
            message, engine.error = engine.error, ""
            self.stop()
            self.error_occurred.emit(message)
        elif self._state == "playing" and engine.finished_generation == self._generation:
            self.stop()
        elif self._state == "playing" and not self._stream.active:
            self.stop()
            self.error_occurred.emit("the audio device stopped playing")
