"""Model calls from every request in one worker pool: the oldest new request's next call
first, as long as no stream already speaking would run dry meanwhile; otherwise the speaking
stream whose listener runs out of audio first (earliest deadline first).

A stream's deadline is first-audio time + seconds of audio sent. So a newcomer's first words
come quickly and a stream far ahead of playback waits; but under overload a stream already
speaking goes before a newcomer — a listener forgives a later start far more than a pause
mid-sentence. How long a newcomer may take the worker is the speaking streams' slack, from
the playout plan (synth/playout.py). Work is shared per model call, not per request.
(concurrent.futures has no priorities; this is the small part written by hand.)"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from wyoming_kokoro.model.job import Job

_LOGGER = logging.getLogger(__name__)
BETWEEN_CALLS_S = 0.25  # the longest the worker idles for a speaking stream's next call
STARVED_S = 5.0  # past --max-hold, a call waiting this long runs next, whatever the plan says


@dataclass
class Ticket:
    """A request's place in the queue."""

    arrival: float = field(default_factory=time.monotonic)
    first_audio: float | None = None  # when its first audio was sent to the client
    audio_seconds: float = 0.0  # sent to the client
    held_seconds: float = 0.0  # rendered, waiting to be sent (synth/playout.py)
    model_s: float = 0.0  # worker time of its model calls, queueing excluded
    running_since: float | None = None  # its model call on a worker now began then
    work_left: Callable[[], float] | None = None  # model seconds its next call may take
    late: bool = False  # started at --max-hold with too little rendered: it will stall
    start_by: float = float("-inf")  # when --max-hold runs out for it

    @property
    def deadline(self) -> float:
        """When its listener runs out of audio (inf before it starts)."""
        if self.first_audio is None:
            return float("inf")
        return self.first_audio + self.audio_seconds

    def buffered(self) -> float:
        """Seconds of audio rendered and not yet played: held, or sent ahead of playback."""
        if self.first_audio is None:
            return self.held_seconds
        return max(0.0, self.deadline - time.monotonic())

    def sent(self, seconds: float) -> None:
        if self.first_audio is None:
            self.first_audio = time.monotonic()
        self.audio_seconds += seconds


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@dataclass(eq=False)
class _Entry:
    job: Job
    ticket: Ticket
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    order: int
    queued: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> tuple[float, int]:
        return self.ticket.deadline, self.order


class Scheduler:
    """`workers` threads taking jobs by deadline; `run` awaits one job's result."""

    def __init__(self, workers: int, job_seconds: float = 0.2,
                 slack: Callable[[], float] | None = None,
                 first_in_line: Callable[[], float] | None = None,
                 between_calls: Callable[[], list[Ticket]] | None = None) -> None:
        self._slack = slack  # spare seconds before a playing stream runs dry (None: its own)
        self._first_in_line = first_in_line  # arrival of the oldest request not started
        self._between_calls = between_calls  # speaking streams preparing their next call
        self._deferred: float | None = None  # since when a newcomer waits for a speaking
        # stream between two calls
        self._ready = threading.Condition()
        self._waiting: list[_Entry] = []
        self._closed = False
        self._order = itertools.count()
        self.job_seconds = job_seconds  # EWMA of one call's wall time, learnt as jobs run
        self._threads = [threading.Thread(target=self._work, name=f"kokoro-worker-{i}",
                                          daemon=True) for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    async def run(self, job: Job, ticket: Ticket) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._ready:
            self._waiting.append(_Entry(job, ticket, loop, future, next(self._order)))
            self._ready.notify()
        return await future

    def _pick(self) -> _Entry | None:
        """While the streams admitted in time can spare the time it takes: a stream that had
        to start late (it stalls whatever we do, but must not take others down with it), else
        the oldest new request (the younger queue behind it: under overload, sharing would
        start them all late). Otherwise the admitted stream whose listener runs dry first;
        None to wait a moment for one that is between calls (a call is never interrupted),
        or for the oldest new request, so that neither a younger one nor a speaking stream
        with audio in hand delays its start."""
        live: _Entry | None = None
        late: _Entry | None = None
        head: _Entry | None = None
        for e in self._waiting:  # one look at each ticket: the loop thread may start it now
            if e.ticket.late:
                late = e if late is None or e.key < late.key else late
            elif e.ticket.first_audio is not None:
                live = e if live is None or e.key < live.key else live
            elif head is None or (e.ticket.arrival, e.order) < (head.ticket.arrival, head.order):
                head = e
        other = late or head
        now = time.monotonic()
        spare = cost = 0.0
        if other is not None and now > other.ticket.start_by and now - other.queued > STARVED_S:
            chosen = other  # past --max-hold, the plan's figures may be off: never starve
        elif other is not None and ((spare := self._spare(live)) >= (cost := self._cost(other))
                                    and not self._cuts_in(other)):
            chosen = other
        elif (live is not None and late is None and self._newcomer_between_calls(head)
              and self._spare(live) >= BETWEEN_CALLS_S and self._defer(now)):
            return None  # the oldest newcomer prepares its next call: the speaking can wait
        elif live is not None:
            if other is not None and spare < cost:
                _LOGGER.debug("A %s waits: a stream would run dry in %.2f s",
                              "late stream" if late else "new request's first audio",
                              max(0.0, spare))
            if self._earlier_between_calls(live) and self._defer(now):
                return None  # the plan counts on it: no call due later takes the worker first
            chosen = live
        elif self._defer(now):
            return None
        else:
            chosen = other
        self._deferred = None
        assert chosen is not None
        self._waiting.remove(chosen)
        return chosen

    def _defer(self, now: float) -> bool:
        """Whether the worker may still idle for a call that is about to be queued."""
        self._deferred = self._deferred or now
        return now - self._deferred < BETWEEN_CALLS_S

    def _newcomer_between_calls(self, head: _Entry | None) -> bool:
        """The oldest request not started yet has no call queued: it is between two calls
        (its text step, or a head's fade), so a speaking stream's call taken now would delay
        that request's first audio by a whole call."""
        if self._first_in_line is None:
            return False
        oldest = self._first_in_line()
        return oldest < float("inf") and (head is None or oldest < head.ticket.arrival)

    def _earlier_between_calls(self, entry: _Entry) -> bool:
        """A speaking stream due before `entry` has no call queued: it is between two calls."""
        if self._between_calls is None:
            return False
        queued = {id(e.ticket) for e in self._waiting}
        return any(t.deadline < entry.ticket.deadline and id(t) not in queued
                   for t in self._between_calls())

    def _cuts_in(self, entry: _Entry) -> bool:
        """A newcomer's call while an older one, not started either, is between calls."""
        return (self._first_in_line is not None and not entry.ticket.late
                and self._first_in_line() < entry.ticket.arrival)

    def _cost(self, entry: _Entry) -> float:
        """How long running this entry's call may take: its request's own estimate if it has
        one, else twice a typical call."""
        estimate = entry.ticket.work_left() if entry.ticket.work_left is not None else 0.0
        return estimate or 2 * self.job_seconds

    def _spare(self, urgent: _Entry | None) -> float:
        if self._slack is not None:
            return self._slack()
        return urgent.ticket.deadline - time.monotonic() if urgent else float("inf")

    def _work(self) -> None:
        while True:
            with self._ready:
                entry = None
                while entry is None:
                    while not self._waiting and not self._closed:
                        self._ready.wait()
                    if self._closed:
                        return
                    if (entry := self._pick()) is None:  # a speaking stream's next call is
                        self._ready.wait(BETWEEN_CALLS_S / 5)  # coming: it goes first
            if entry.future.done():  # the request was cancelled while waiting
                continue
            began = entry.ticket.running_since = time.monotonic()
            try:
                result, error = entry.job(), None
            except BaseException as err:  # noqa: BLE001 - re-raised in the awaiting task
                result, error = None, err
            took = time.monotonic() - began
            entry.ticket.model_s += took
            entry.ticket.running_since = None
            self.job_seconds += 0.2 * (took - self.job_seconds)
            try:
                entry.loop.call_soon_threadsafe(_settle, entry.future, result, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()


def drive(steps: Generator[Any, Any, None]) -> Generator[Any, None, None]:
    """Run a render generator synchronously: jobs inline, outputs passed through."""
    result = None
    while True:
        try:
            item = steps.send(result)
        except StopIteration:
            return
        if isinstance(item, Job):
            result = item()
        else:
            result = None
            yield item
