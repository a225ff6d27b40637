"""Gap-free first: how fast this machine renders, now, and whether a request's first audio
must wait. Once speech starts a listener hears every stall; a later start is forgiven.

With r = model wall seconds per audio second (measured per request, including the time its
jobs queue behind other clients'), playback that starts at the first piece underruns
whenever r ≥ 1; such a request's audio is held until its text is rendered, but never past
`max_hold` seconds: voice satellites give up after ≈ 5 s without audio."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class RenderRate:
    """Engine-wide real-time factor (EWMA over finished requests; a request's own figure
    takes over once it has rendered audio)."""

    rtf: float = 0.5
    weight: float = 0.3
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, rtf: float) -> None:
        with self._lock:
            self.rtf += self.weight * (rtf - self.rtf)


@dataclass
class RequestMeter:
    """Model time and audio of one request, and the hold decision for its first audio."""

    engine: RenderRate
    model_s: float = 0.0
    audio_s: float = 0.0
    limit: float = 1.0  # hold while the request renders slower than this
    max_hold: float = 3.0  # seconds after the request arrived
    started: float = field(default_factory=time.monotonic)

    @property
    def rtf(self) -> float:
        return self.model_s / self.audio_s if self.audio_s > 0 else self.engine.rtf

    def hold(self) -> bool:
        return self.rtf >= self.limit and self.hold_left() > 0

    def hold_left(self) -> float:
        return max(0.0, self.started + self.max_hold - time.monotonic())

    def close(self) -> None:
        if self.audio_s > 0:
            self.engine.update(self.rtf)
