"""Gap-free first: how fast this machine renders, what every request still has to render,
and whether a request's first audio must wait. Once speech starts a listener hears every
stall; a later start is forgiven.

Each playing request has audio buffered at its client and blocks still to render; each block
is needed when the audio before it has played (its deadline) and costs r · its seconds of
model time (r = model seconds per audio second, measured per request on the worker, queueing
excluded). The worker serves them earliest deadline first, so they are all gap-free exactly
when, taken in deadline order, the work up to each block fits before that block's deadline
(`edf_slack` ≥ 0). A new request's first audio is held until that holds with its own blocks
added to the playing ones' — one short sentence before a long one fails it even on a machine
faster than real time, and so does a fourth client on a machine that can feed three — but
never past `max_hold` seconds (--max-hold): a listener forgives a later start far more than
a pause mid-word, but not an endless one. Text not yet arrived never holds audio (stream.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from wyoming_kokoro.synth.scheduler import Ticket

_LONG_S = 2.0  # a sentence this long tells the rate more than the per-sentence overhead
_SECONDS_PER_CHAR = 0.06  # first guess for speech per character (English measured: 0.055)
_SECONDS_PER_CHAR_CJK = 0.22  # a kana or hanzi is a syllable or more
_UNSENT_S = 0.05  # rendered audio not sent yet beyond this: the client reads slowly

Demand = list[tuple[float, float]]  # (seconds from now until needed, model seconds of work)


@dataclass(frozen=True)
class Upcoming:
    """One block of a request not rendered yet: a sentence (model time) or a pause (free)."""

    seconds: float  # audio it will add (an estimate for speech, exact for a pause)
    speech: bool = True
    chars: int = 0
    language: str = ""


@dataclass
class Progress:
    """Where a request's rendering is: written by its renderer, read by the plan."""

    upcoming: tuple[Upcoming, ...] = ()  # blocks not started
    current: Upcoming | None = None  # the block being rendered
    current_done: float = 0.0  # seconds of it produced so far

    def demand(self, cost: Callable[[float], float], ahead: float,
               credit: float = 0.0) -> list[tuple[float, float]]:
        """(deadline, work) per speech block left, with `ahead` seconds buffered before the
        first; `cost(seconds)`: model time of a block; `credit`: seconds the current block's
        model call has already run."""
        demand: list[tuple[float, float]] = []
        current = self.current  # once: the renderer's thread may clear it meanwhile
        if current is not None:
            left = max(0.0, current.seconds - self.current_done)
            if current.speech:  # work left scales with the audio still to come (a head's
                # whole decode remains, its acoustic part done), less what has run already
                demand.append((ahead, max(0.0, cost(left) - credit)))
            ahead += left
        for block in self.upcoming:
            if block.speech:
                demand.append((ahead, cost(block.seconds)))
            ahead += block.seconds
        return demand


def edf_slack(demand: Iterable[tuple[float, float]], workers: int = 1,
              busy: float = 0.0) -> float:
    """The least spare time over all blocks (deadline, work) when the work is done earliest
    deadline first after `busy` seconds of a call already running (negative: some block
    would be late, i.e. a gap in speech); inf when nothing is due. A call is never
    interrupted, but none due later starts while a stream due earlier is between two of its
    calls: the scheduler waits a moment for that stream (synth/scheduler.py)."""
    slack, done = float("inf"), busy / workers
    for deadline, work in sorted(demand):
        done += work / workers
        slack = min(slack, deadline - done)
    return slack


@dataclass
class RenderRate:
    """Engine-wide figures learnt online from every sentence any request renders: its model
    time as `overhead` + `rtf` × audio seconds (worker time, queueing excluded, so another
    client's load is not mistaken for this machine's speed; a busy CPU shows within a
    sentence or two), and speech seconds per input character per language (to guess how long
    text not rendered yet will speak)."""

    rtf: float = 0.5  # model seconds per audio second (warm-up's figure until measured)
    overhead: float = 0.0  # model seconds per sentence, whatever its length
    weight: float = 0.3
    per_char: dict[str, float] = field(default_factory=dict)
    _measured: int = 0  # long sentences recorded
    _short: int = 0  # short ones, before the first long one
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cost(self, seconds: float) -> float:
        return self.overhead + self.rtf * seconds

    def record(self, model_s: float, seconds: float) -> None:
        """One sentence's model time: long ones tell the rate, short ones the overhead."""
        if seconds <= 0 or model_s <= 0:
            return
        with self._lock:
            if not self._measured and seconds < _LONG_S:  # better than the warm-up's guess
                self._short += 1  # (a first call, slow): the first replaces it, then average
                weight = max(self.weight, 1.0 / self._short)
                self.rtf += weight * (model_s / seconds - self.rtf)
            elif seconds >= _LONG_S:
                self._measured += 1  # the first long sentence replaces the warm-up's guess
                weight = max(self.weight, 1.0 / self._measured)
                rate = max(0.0, model_s - self.overhead) / seconds
                self.rtf += weight * (rate - self.rtf)
            elif self._measured:
                spare = max(0.0, model_s - self.rtf * seconds)
                self.overhead += self.weight * (spare - self.overhead)

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


@dataclass(eq=False)
class RequestMeter:
    """One request's progress and place in the queue, priced at the engine's render rate."""

    engine: RenderRate
    ticket: Ticket = field(default_factory=Ticket)
    progress: Progress = field(default_factory=Progress)
    audio_s: float = 0.0  # rendered (held or sent)
    max_hold: float = 10.0  # seconds after the request arrived

    def demand(self, ahead: float, safety: float = 1.0) -> Demand:
        running = self.ticket.running_since
        credit = time.monotonic() - running if running is not None else 0.0
        return self.progress.demand(lambda seconds: safety * self.engine.cost(seconds),
                                    ahead, credit)

    def next_work(self) -> float:
        """Model seconds the block being rendered, or the next, still needs (at most)."""
        demand = self.demand(0.0)
        return demand[0][1] if demand else 0.0

    def hold_left(self) -> float:
        return max(0.0, self.ticket.arrival + self.max_hold - time.monotonic())


class Playout:
    """Every request in flight, so one request's start is judged against all the playing
    ones (admission) and the scheduler knows how long a new head may take the worker."""

    def __init__(self, rates: RenderRate, workers: int = 1, safety: float = 1.15) -> None:
        self.rates = rates
        self.workers = max(1, workers)
        self.safety = safety  # render time is noisy: keep this much in hand
        self._meters: set[RequestMeter] = set()
        self._lock = threading.Lock()

    def add(self, meter: RequestMeter) -> None:
        meter.ticket.work_left = lambda: self.safety * meter.next_work()  # as slack counts
        meter.ticket.start_by = meter.ticket.arrival + meter.max_hold
        with self._lock:
            self._meters.add(meter)

    def remove(self, meter: RequestMeter) -> None:
        with self._lock:
            self._meters.discard(meter)

    def _others(self, besides: RequestMeter | None = None) -> tuple[Demand, float]:
        """The blocks every stream admitted in time still has to render, due as its buffered
        audio runs out, and the model seconds still to run in the calls of other requests
        already on a worker. Requests not started yet make no claim: under overload they
        cannot all start in time, and sharing the worker among them would start them all
        late and short. A stream that had to start late stalls anyway and makes no claim."""
        with self._lock:
            meters = [m for m in self._meters if m is not besides]
        demand: Demand = []
        busy = 0.0
        for meter in meters:
            ticket = meter.ticket
            if ticket.first_audio is not None and not ticket.late:
                # rendered but not sent yet (a client reading slowly) is ahead too
                unsent = max(0.0, meter.audio_s - ticket.audio_seconds)
                demand += meter.demand(ticket.buffered() + unsent, self.safety)
            elif ticket.running_since is not None:
                busy += self.safety * meter.next_work()
        return demand, busy

    def slack(self) -> float:
        """Seconds the worker can spend on something else before an admitted stream would
        run dry (read by the scheduler's worker thread)."""
        demand, busy = self._others()
        return edf_slack(demand, self.workers, busy)

    def between_calls(self) -> list[Ticket]:
        """Streams admitted in time with speech still to render and no call on a worker: a
        call due later must not take the worker while one of them prepares its next call.
        One whose audio waits on its client (rendered, not sent) is not counted: its next
        call may be far off."""
        with self._lock:
            meters = list(self._meters)
        return [meter.ticket for meter in meters
                if meter.ticket.first_audio is not None and not meter.ticket.late
                and meter.ticket.running_since is None
                and meter.audio_s - meter.ticket.audio_seconds < _UNSENT_S
                and meter.next_work() > 0]

    def first_in_line(self) -> float:
        """When the oldest request not started yet, rendering and between calls arrived
        (inf: none; one waiting for its text to be written, or with a call on a worker
        already, does not count)."""
        with self._lock:
            return min((m.ticket.arrival for m in self._meters if m.ticket.first_audio is None
                        and m.ticket.running_since is None
                        and (m.progress.current is not None or m.progress.upcoming)),
                       default=float("inf"))

    def feasible(self, meter: RequestMeter, ready: float) -> bool:
        """Whether `meter`'s playback can start now, with `ready` seconds rendered, and
        neither it nor an admitted stream stall later."""
        demand, busy = self._others(besides=meter)
        return edf_slack(meter.demand(ready, self.safety) + demand, self.workers, busy) >= 0
