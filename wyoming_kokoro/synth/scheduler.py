"""Model calls from every request in one worker pool, earliest deadline first.

A request's deadline is when its client runs out of audio: its arrival time until the first
audio, then first-audio time + seconds of audio produced. So a new request's head jumps the
queue, a request far ahead of playback waits, and work is shared per model call, not per
request. (concurrent.futures has no priorities; this is the small part written by hand.)"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from wyoming_kokoro.model.job import Job


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


class Scheduler:
    """`workers` threads taking jobs by deadline; `run` awaits one job's result."""

    def __init__(self, workers: int) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads = [threading.Thread(target=self._work, name=f"kokoro-worker-{i}",
                                          daemon=True) for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    async def run(self, job: Job, deadline: float) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((deadline, next(self._order), job, loop, future))
        return await future

    def _work(self) -> None:
        while True:
            _, _, job, loop, future = self._queue.get()
            if job is None:
                return
            if future.done():  # the request was cancelled while waiting
                continue
            try:
                result, error = job(), None
            except BaseException as err:  # noqa: BLE001 - re-raised in the awaiting task
                result, error = None, err
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put((float("-inf"), next(self._order), None, None, None))


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
