"""Playback: what the user hears, rendered by the one render path (``dsp.separation``).

``engine`` (the render and PortAudio threads, no Qt), ``player`` (the stream and
its requests, on the GUI thread), ``control`` (the document's mix to the player,
the transport actions) and ``bar`` (the transport buttons and clock).
"""
