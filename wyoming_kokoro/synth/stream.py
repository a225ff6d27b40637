"""One request as an async stream of PCM: its render generator's model calls go through the
shared scheduler, text steps through the text pool, and audio waits only as long as the
playout plan says (synth/playout.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from wyoming_kokoro import audio
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.synth.options import SynthOptions
from wyoming_kokoro.synth.playout import RenderRate, RequestMeter, Upcoming
from wyoming_kokoro.synth.scheduler import Scheduler, Ticket
from wyoming_kokoro.voices import Voice

_LOGGER = logging.getLogger(__name__)
_DONE = object()
_WAITING = object()  # the producer has rendered all the text it has and waits for more
RECHECK_S = 0.1  # how often held audio asks the playout plan again

RenderSteps = Callable[..., Generator[Any, Any, None]]


@dataclass
class RequestState:
    """Per-request join state: which silence, if any, goes before the next speech piece."""

    gap: float = 0.0
    spoken: bool = False
    paused: float = 0.0  # seconds of pause tags rendered so far
    ahead: Callable[[], float] | None = None  # seconds the listener has buffered (streams)
    rate: float = 1.0  # this request's speed factor (HTTP `speed`), on top of the server's
    # the playout plan (see synth/playout.py): read by the sender, written by the renderer
    rates: RenderRate | None = None
    upcoming: tuple[Upcoming, ...] = ()  # blocks not started
    current: Upcoming | None = None  # the block being rendered
    current_done: float = 0.0  # seconds of it produced so far
    current_since: float = 0.0  # when it started or last produced audio (time.monotonic)


async def stream_pcm(render_steps: RenderSteps, scheduler: Scheduler,
                     text_pool: ThreadPoolExecutor, options: SynthOptions, rates: RenderRate,
                     texts: AsyncIterable[str] | Iterable[str], voice: Voice,
                     language: str | None = None, rate: float = 1.0) -> AsyncIterator[bytes]:
    """PCM (int16 bytes) for a stream of texts; `render_steps(text, voice, language, state)`
    yields model Jobs and float pieces for one text."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, options.prefetch))
    ticket = Ticket()
    state = RequestState(ahead=ticket.buffered, rate=rate, rates=rates)
    meter = RequestMeter(rates, max_hold=options.max_hold)

    budget = int(options.max_audio * audio.SAMPLE_RATE)  # samples per request

    async def produce() -> None:
        rendered = 0
        try:
            async for text in _aiter(texts, on_wait=lambda: queue.put_nowait(_WAITING)
                                     if meter.audio_s and not queue.full() else None):
                steps = render_steps(text, voice, language, state)
                result = None
                while (item := await loop.run_in_executor(text_pool, _step, steps,
                                                          result)) is not _DONE:
                    if isinstance(item, Job):
                        began = time.monotonic()
                        result = await scheduler.run(item, ticket)
                        meter.model_s += time.monotonic() - began
                        continue
                    result = None
                    room = budget - rendered
                    if len(item) > room:  # never a runaway request: cut off, cleanly
                        item = item[:room]
                        _LOGGER.warning("Request reached --max-audio-seconds (%g s); "
                                        "the rest of its text is not spoken",
                                        options.max_audio)
                    if len(item):
                        rendered += len(item)
                        seconds = len(item) / audio.SAMPLE_RATE
                        ticket.produced(seconds)
                        meter.audio_s += seconds
                        state.current_done += seconds
                        state.current_since = time.monotonic()
                        await queue.put(audio.to_pcm16(item, options.volume))
                    if rendered >= budget:
                        await queue.put(_DONE)
                        return
        except Exception as err:  # noqa: BLE001 - handed to the consumer, which re-raises
            await queue.put(err)
            return
        await queue.put(_DONE)

    producer = asyncio.create_task(produce(), name="kokoro-producer")
    held: list[bytes] | None = []  # gap-free first: audio waits while starting would stall

    def must_hold(extra: bytes = b"") -> bool:
        ready = ((sum(map(len, held or ())) + len(extra))
                 / audio.SAMPLE_WIDTH / audio.SAMPLE_RATE)
        return meter.hold(ready, state.current, state.current_done, state.upcoming,
                          time.monotonic() - state.current_since)

    try:
        while True:
            if held and not must_hold():  # rendered far enough, or waited the most allowed
                for piece in held:
                    yield piece
                held = None
            # while held, look again as rendering goes on, not only when a piece arrives
            wait = min(meter.hold_left(), RECHECK_S) if held else None
            try:
                item = await asyncio.wait_for(queue.get(), wait) if wait else await queue.get()
            except TimeoutError:  # ask the plan again (past max_hold it says start)
                continue
            if item is _DONE:
                break
            if isinstance(item, Exception):
                raise item
            if isinstance(item, bytes) and held is not None and must_hold(item):
                if not held:
                    _LOGGER.debug("Holding first audio: at %.2f× real time the text still "
                                  "to render would outrun playback", meter.rtf)
                held.append(item)  # type: ignore[arg-type]
                continue
            for piece in held or ():  # the text has not arrived yet, or no need to wait
                yield piece
            held = None
            if item is not _WAITING:
                yield item  # type: ignore[misc]
        for piece in held or ():
            yield piece
    finally:
        meter.close()
        if not producer.done():
            producer.cancel()
            try:
                await producer
            except asyncio.CancelledError:
                pass


def _step(steps: Generator[Any, Any, None], result: Any) -> Any:
    """Advance a render generator by one step (in a text thread); _DONE at its end."""
    try:
        return steps.send(result)
    except StopIteration:
        return _DONE


async def _aiter(texts: AsyncIterable[str] | Iterable[str],
                 on_wait: Callable[[], object] = lambda: None) -> AsyncIterator[str]:
    """Texts in order; `on_wait` is called each time the next one is not there yet."""
    if isinstance(texts, AsyncIterable):
        iterator = aiter(texts)
        while True:
            pending = asyncio.ensure_future(anext(iterator))
            if not pending.done():
                await asyncio.sleep(0)
            if not pending.done():
                on_wait()
            try:
                yield await pending
            except StopAsyncIteration:
                return
    else:
        for text in texts:
            yield text
