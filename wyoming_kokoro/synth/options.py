"""Server-wide rendering options."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SynthOptions:
    """Server-wide rendering options (Home Assistant cannot pass these per request)."""

    speed: float = 1.0
    volume: float = 1.0
    sentence_silence: float = 0.15  # seconds between sentences (trimmed pads are gone)
    clause_silence: float = 0.05  # between pieces of one sentence split to fit the model
    max_pause: float = 10.0  # cap for [pause:…] tags
    max_total_pause: float = 60.0  # and for all of one request's pauses together
    prefetch: int = 2  # rendered pieces held ahead of the sender (bounds memory)
    max_hold: float = 10.0  # most seconds a slow or busy machine holds first audio (no gaps)
    max_audio: float = 600.0  # seconds one request (stream) may render; the rest is cut off
