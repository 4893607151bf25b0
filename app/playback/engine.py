"""The audio threads of the player: a producer rendering ahead into a ring, and the callback.

- The *producer* thread renders blocks with :class:`dsp.mixer.Mixer` up to
  :data:`SLOTS` blocks ahead (~190 ms at 44.1 kHz) into a preallocated ring, so
  a stall of the producer (other threads holding the GIL or the cores) has a
  deep margin before the device runs dry.
- PortAudio's *callback* copies rendered samples from the ring to the device and
  returns — no FFTs, no allocations, no locks the GUI thread takes (Friture's rule).
- The GUI thread hands over requests (new material, seek, gains, factors with
  their paint steering, the time–frequency region heard, loop) by replacing
  whole attributes, which is atomic in Python.

A deep ring would make every change late by its depth. So when gains, factors,
the paint, the region or the loop change, the producer takes back the slots the
device has not started (all but the one being played) and renders them again with the new state; the
first re-rendered slot crossfades from the old rendering to the new one, so the
change is heard within about one block and never clicks.

Only the producer writes ``Ring.written`` and only the callback writes
``Ring.read``. Taking slots back is the one step that must not interleave with
the callback, so the two share ``Ring.lock``: the producer holds it for a few
assignments, the GUI thread never. A seek bumps a generation number; the
callback drops slots rendered for an older generation.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from dsp.mixer import Mixer

__all__ = ["BLOCK", "SLOTS", "FADE", "Ring", "Engine", "crossfade"]

BLOCK = 512  # frames per callback and per rendered slot: 11.6 ms at 44.1 kHz
SLOTS = 16  # slots rendered ahead: ~190 ms at 44.1 kHz of margin against stalls
FADE = 256  # frames of the crossfade where a loop comes round (5.8 ms at 44.1 kHz)
PREROLL_SLOTS = 4  # blocks rendered before a stream starts (~46 ms at 44.1 kHz)
PREROLL_TIMEOUT = 0.04  # the longest the GUI thread waits for them, s


def crossfade(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """From ``old`` to ``new`` (same shape, (frames, channels)) along a raised cosine.

    The two weights sum to one at every frame, which suits two renderings of
    the same (coherent) signal.
    """
    n = len(new)
    t = (np.arange(n, dtype=np.float32) + 1) / np.float32(n + 1)
    rise = (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)[:, None]
    return old + rise * (new - old)


class Ring:
    """Preallocated slots of rendered audio, each tagged with where it belongs."""

    def __init__(self, channels: int) -> None:
        self.samples = np.zeros((SLOTS, BLOCK, channels), dtype=np.float32)
        self.start = [0] * SLOTS  # signal sample index of each slot's first frame
        self.length = [0] * SLOTS
        self.generation = [-1] * SLOTS
        self.last = [False] * SLOTS  # the slot ends the material (no loop)
        self.written = 0  # slots produced so far (producer)
        self.read = 0  # slots consumed so far (callback only)
        self.offset = 0  # frames consumed of the slot being read (callback only)
        self.lock = threading.Lock()  # callback and producer's take-back only


class Engine:
    """Producer thread and audio callback; knows nothing of Qt."""

    def __init__(self) -> None:
        # (generation, mixer, ring, start sample): replaced whole by the GUI thread.
        self.request: tuple[int, Mixer | None, Ring | None, int] = (0, None, None, 0)
        # (mixer, …) pairs: a change meant for one material never reaches another.
        self.gains: tuple[Mixer, np.ndarray] | None = None
        #: (mixer, W, H, power, channel gains, steering): the newest factors for that
        #: mixer. A new tuple with the same factors asks for a re-rendering: the paint
        #: the steering holds changed in place.
        self.factors: tuple | None = None
        #: (mixer, weight (bins, frames) or None): the region heard. A new tuple with the
        #: same array asks for a re-rendering: the array changed in place (a stroke).
        self.region: tuple | None = None
        self.loop: tuple[int, int] | None = None
        self.position = 0  # next signal sample the device gets (callback)
        self.position_generation = -1
        self.finished_generation = -1  # set by the callback when the material ran out
        self.underruns = 0
        self.error = ""
        self.running = False  # the stream is started: render promptly
        self._primed = -1  # generation of which the callback has delivered audio
        self._closed = False
        self._thread = threading.Thread(target=self._produce, name="partwise-render", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the producer thread."""
        self._closed = True
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    # -- producer thread ---------------------------------------------------------------------

    def _produce(self) -> None:
        generation, mixer, ring = -1, None, None
        gains = factors = region = loop = None
        ended = False
        while not self._closed:
            request = self.request
            if request[0] != generation:
                if request[1] is not mixer:
                    gains = factors = region = None
                generation, mixer, ring, start = request
                ended = False
                if mixer is not None:
                    # Different audio from here on: nothing to crossfade from.
                    self.take_back(ring, keep_next=False)
                    mixer.seek(start)
            if mixer is None:
                time.sleep(0.02)
                continue
            try:
                changed = False
                if self.factors is not factors and self.factors[0] is mixer:
                    factors = self.factors
                    mixer.set_factors(*factors[1:3], power=factors[3], channel_gains=factors[4],
                                      steering=factors[5])
                    changed = True
                # Gains for another number of components wait for their factors.
                if (
                    self.gains is not gains
                    and self.gains[0] is mixer
                    and len(self.gains[1]) == mixer.n_components
                ):
                    gains = self.gains
                    mixer.set_gains(gains[1])
                    changed = True
                if self.region is not region and self.region[0] is mixer:
                    region = self.region
                    mixer.set_region(region[1])
                    changed = True
                if self.loop != loop:
                    loop = self.loop
                    changed = True
                fade_from = self.take_back(ring, keep_next=self.running) if changed else None
                if fade_from is not None:
                    mixer.seek(fade_from[0])
                    ended = False
                if ended or ring.written - ring.read >= SLOTS:
                    # Poll a few times per block while playing; idle cheaply otherwise.
                    time.sleep(BLOCK / mixer.rate / 4 if self.running else 0.02)
                    continue
                ended = self.render_slot(
                    mixer, ring, generation, None if fade_from is None else fade_from[1]
                )
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, never lost
                self.error = f"playback stopped: {exc}"
                ended = True

    def wait_ready(self, slots: int = PREROLL_SLOTS, timeout: float = PREROLL_TIMEOUT) -> bool:
        """Wait (at most ``timeout`` s) until ``slots`` blocks of the current request are rendered.

        A stream starting asks for the device's whole buffer at once: blocks
        not rendered yet then would be a gap after the first ones, an
        underrun heard at every start. True when they are ready in time.
        """
        end = time.perf_counter() + timeout
        while True:
            generation, mixer, ring, _ = self.request
            if mixer is None or ring is None:
                return False
            with ring.lock:
                ready = sum(ring.generation[i % SLOTS] == generation
                            for i in range(ring.read, ring.written))
            if ready >= slots or self.error:
                return ready >= slots
            if time.perf_counter() > end:
                return False
            time.sleep(0.001)

    def take_back(self, ring: Ring, *, keep_next: bool):
        """Unpublish the slots the callback has not started; what the first of them held.

        A partly played slot always stays. With ``keep_next`` (the stream is
        running) one whole slot after it stays too: the callback may ask for it
        before a replacement is ready, and a gap would be an underrun.

        Returns
        -------
        (int, np.ndarray) or None
            The start sample and the samples of the first slot taken back, to
            crossfade from; None when no slot was taken back.
        """
        with ring.lock:
            keep = ring.read + (ring.offset > 0) + keep_next
            if keep >= ring.written:
                return None
            ring.written = keep
        i = keep % SLOTS
        return ring.start[i], ring.samples[i, : ring.length[i]].copy()

    def render_slot(
        self, mixer: Mixer, ring: Ring, generation: int, fade_from: np.ndarray | None = None
    ) -> bool:
        """Render and publish one slot; True when the material has ended (and no loop
        brings it back). ``fade_from``: the old rendering of this slot, to crossfade from."""
        loop = self.loop
        start = mixer.position
        count = BLOCK
        inside = loop is not None and loop[0] <= start < loop[1]
        if inside:
            count = min(count, loop[1] - start)
        i = ring.written % SLOTS
        out = ring.samples[i]
        block = mixer.render(count)
        n = len(block)
        out[:n] = block
        if inside:
            self._fade_loop_end(mixer, out[:n], start, loop)
            if mixer.position >= loop[1]:
                mixer.seek(loop[0])
        if fade_from is not None:
            m = min(n, len(fade_from))
            out[:m] = crossfade(fade_from[:m], out[:m])
        ring.start[i], ring.length[i], ring.generation[i] = start, n, generation
        ring.last[i] = mixer.position >= mixer.length
        ring.written += 1  # publish the slot only once it is complete
        return ring.last[i]

    @staticmethod
    def _fade_loop_end(mixer: Mixer, out: np.ndarray, start: int, loop: tuple[int, int]) -> None:
        """Crossfade the loop's last frames into the frames before its start.

        Over the last ``F`` frames before the loop end E, the output moves from
        the signal there to the signal just before the loop start L, so that
        the wrap from E-1 to L continues the signal that precedes L: no click,
        and the loop keeps its exact length.
        """
        first, end = loop
        fade = min(FADE, end - first)
        a, b = max(start, end - fade), min(start + len(out), end)
        if a >= b:
            return
        source = first - fade + (a - (end - fade))  # where the frames for a..b come from
        before = np.zeros((b - a, out.shape[1]), dtype=np.float32)
        skip = max(0, -source)  # before the signal's start: silence
        resume = mixer.position
        if skip < b - a:
            mixer.seek(source + skip)
            before[skip:] = mixer.render(b - a - skip)
        mixer.seek(resume)
        fade_out = np.arange(a - (end - fade), b - (end - fade))
        t = ((fade_out + 1) / (fade + 1)).astype(np.float32)
        rise = (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)[:, None]
        part = out[a - start : b - start]
        part += rise * (before - part)

    # -- audio callback ----------------------------------------------------------------------

    def callback(self, outdata, frames, _time, status) -> None:
        """PortAudio callback: copy rendered frames to the device, nothing more."""
        if status.output_underflow:
            self.underruns += 1
        generation, _, ring, _ = self.request
        filled = 0
        if ring is not None:
            with ring.lock:
                while filled < frames and ring.read < ring.written:
                    i = ring.read % SLOTS
                    if ring.generation[i] != generation:  # rendered before a seek
                        ring.read += 1
                        ring.offset = 0
                        continue
                    count = min(frames - filled, ring.length[i] - ring.offset)
                    outdata[filled : filled + count] = ring.samples[
                        i, ring.offset : ring.offset + count
                    ]
                    filled += count
                    ring.offset += count
                    self.position = ring.start[i] + ring.offset
                    self.position_generation = generation
                    self._primed = generation
                    if ring.offset == ring.length[i]:
                        if ring.last[i]:
                            self.finished_generation = generation
                        ring.read += 1
                        ring.offset = 0
        if filled < frames:
            outdata[filled:] = 0.0
            # Silence before the first block of a (re)start is pre-roll, and
            # silence after the end is the end: only a gap in between is an underrun.
            if self._primed == generation and self.finished_generation != generation:
                self.underruns += 1
