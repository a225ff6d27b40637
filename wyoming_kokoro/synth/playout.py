"""Gap-free first: how fast this machine renders, now, and whether a request's first audio
must wait. Once speech starts a listener hears every stall; a later start is forgiven.

With r = model wall seconds per audio second (measured per request, including the time its
jobs queue behind other clients'), playback that starts now stays gap-free only if every
sentence still to render is ready before the audio ahead of it has played:
    for each sentence i:  r · (speech up to and including i)  ≤  ready + audio before i.
A short first sentence before a long one fails this even when r < 1, so the first audio is
held until it holds (or the text has not arrived yet), but never past `max_hold` seconds
(--max-hold): a listener forgives a later start far more than a pause mid-word, but not
an endless one."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

_SECONDS_PER_CHAR = 0.06  # first guess for speech per character (English measured: 0.055)
_SECONDS_PER_CHAR_CJK = 0.22  # a kana or hanzi is a syllable or more


@dataclass(frozen=True)
class Upcoming:
    """One block of a request not rendered yet: a sentence (model time) or a pause (free)."""

    seconds: float  # audio it will add (an estimate for speech, exact for a pause)
    speech: bool = True
    chars: int = 0
    language: str = ""


@dataclass
class RenderRate:
    """Engine-wide figures learnt online: real-time factor (EWMA over finished requests; a
    request's own figure takes over once it has rendered audio) and speech seconds per
    input character per language (to guess how long text not rendered yet will speak)."""

    rtf: float = 0.5
    weight: float = 0.3
    per_char: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, rtf: float) -> None:
        with self._lock:
            self.rtf += self.weight * (rtf - self.rtf)

    def estimate(self, chars: int, language: str) -> float:
        default = _SECONDS_PER_CHAR_CJK if language in ("j", "z") else _SECONDS_PER_CHAR
        return chars * self.per_char.get(language, default)

    def learn(self, chars: int, language: str, seconds: float) -> None:
        if chars < 8 or seconds <= 0:  # a word or two says little about a language's pace
            return
        with self._lock:
            old = self.per_char.get(language)
            new = seconds / chars
            self.per_char[language] = new if old is None else old + self.weight * (new - old)


@dataclass
class RequestMeter:
    """Model time and audio of one request, and the hold decision for its first audio."""

    engine: RenderRate
    model_s: float = 0.0
    audio_s: float = 0.0
    max_hold: float = 10.0  # seconds after the request arrived
    safety: float = 1.15  # render time is noisy: keep this much in hand
    started: float = field(default_factory=time.monotonic)

    @property
    def rtf(self) -> float:
        return self.model_s / self.audio_s if self.audio_s > 0 else self.engine.rtf

    def hold(self, ready: float, current: Upcoming | None, current_done: float,
             upcoming: tuple[Upcoming, ...], current_for: float = 0.0) -> bool:
        """True while starting playback now would stall later. `ready`: seconds rendered and
        not played; `current`: the block being rendered, `current_done` seconds of it produced
        (a head, with the whole decode still running), the latest `current_for` seconds ago
        (or its start was); `upcoming`: the rest."""
        if self.hold_left() <= 0:
            return False
        rate = self.rtf * self.safety
        cost, played = 0.0, ready
        if current is not None:
            left = max(0.0, current.seconds - current_done)
            if current.speech:  # the work left scales with the audio still to come (a head's
                # whole decode remains, its acoustic part done), less what has run since the
                # block, or its last piece, came out
                cost = max(0.0, rate * left - current_for)
                if cost > played:
                    return True
            played += left
        for block in upcoming:
            if block.speech:
                cost += rate * block.seconds
                if cost > played:
                    return True
            played += block.seconds
        return False

    def hold_left(self) -> float:
        return max(0.0, self.started + self.max_hold - time.monotonic())

    def close(self) -> None:
        if self.audio_s > 0:
            self.engine.update(self.rtf)
