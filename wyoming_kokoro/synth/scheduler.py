"""Model calls from every request in one worker pool: earliest deadline first, except that
a playing stream's continuation goes before a new request's head when waiting would make
the playing stream run dry.

A request's deadline is when its client runs out of audio: its arrival time until the first
audio, then first-audio time + seconds of audio produced. So a new request's head usually
jumps the queue and a request far ahead of playback waits; but under overload plain EDF
would let every new arrival starve the streams already speaking, and a listener forgives a
later start far more than a pause mid-sentence. Work is shared per model call, not per
request. (concurrent.futures has no priorities; this is the small part written by hand.)"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from wyoming_kokoro.model.job import Job

_LOGGER = logging.getLogger(__name__)


@dataclass
class Ticket:
    """A request's place in the queue."""

    arrival: float = field(default_factory=time.monotonic)
    first_audio: float | None = None
    audio_seconds: float = 0.0

    @property
    def deadline(self) -> float:
        if self.first_audio is None:
            return self.arrival
        return self.first_audio + self.audio_seconds

    def buffered(self) -> float:
        """Seconds of audio produced but not yet played (0 before the first audio)."""
        if self.first_audio is None:
            return 0.0
        return max(0.0, self.deadline - time.monotonic())

    def produced(self, seconds: float) -> None:
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

    @property
    def key(self) -> tuple[float, int]:
        return self.ticket.deadline, self.order


class Scheduler:
    """`workers` threads taking jobs by deadline; `run` awaits one job's result."""

    def __init__(self, workers: int, job_seconds: float = 0.2) -> None:
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

    def _pick(self) -> _Entry:
        """Earliest deadline; but a playing stream that would run dry while a new request's
        head runs first goes first (the head's first audio waits)."""
        playing = [e for e in self._waiting if e.ticket.first_audio is not None]
        new = [e for e in self._waiting if e.ticket.first_audio is None]
        urgent = min(playing, key=lambda e: e.key, default=None)
        head = min(new, key=lambda e: e.key, default=None)
        left = urgent.ticket.deadline - time.monotonic() if urgent is not None else 0.0
        if head is None or (urgent is not None and urgent.key < head.key):
            chosen = urgent
        elif urgent is not None and left < 2 * self.job_seconds:
            _LOGGER.debug("A new request's first audio waits: a playing stream has %.2f s "
                          "of audio left", max(0.0, left))
            chosen = urgent
        else:
            chosen = head
        assert chosen is not None
        self._waiting.remove(chosen)
        return chosen

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                entry = self._pick()
            if entry.future.done():  # the request was cancelled while waiting
                continue
            began = time.monotonic()
            try:
                result, error = entry.job(), None
            except BaseException as err:  # noqa: BLE001 - re-raised in the awaiting task
                result, error = None, err
            self.job_seconds += 0.2 * (time.monotonic() - began - self.job_seconds)
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
