"""One request as an async stream of PCM: its render generator's model calls go through the
shared scheduler, text steps through the text pool, and audio waits only as long as the
playout plan says (synth/playout.py), judged against every request playing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wyoming_kokoro import audio
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.synth.options import SynthOptions
from wyoming_kokoro.synth.playout import Playout, Progress, RenderRate, RequestMeter
from wyoming_kokoro.synth.scheduler import Scheduler
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
    # the playout plan (see synth/playout.py): written by the renderer, read by the sender
    rates: RenderRate | None = None
    progress: Progress = field(default_factory=Progress)
    model_time: Callable[[], float] | None = None  # this request's worker seconds so far


async def stream_pcm(render_steps: RenderSteps, scheduler: Scheduler,
                     text_pool: ThreadPoolExecutor, options: SynthOptions, playout: Playout,
                     texts: AsyncIterable[str] | Iterable[str], voice: Voice,
                     language: str | None = None, rate: float = 1.0) -> AsyncIterator[bytes]:
    """PCM (int16 bytes) for a stream of texts; `render_steps(text, voice, language, state)`
    yields model Jobs and float pieces for one text."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, options.prefetch))
    meter = RequestMeter(playout.rates, max_hold=options.max_hold)
    ticket = meter.ticket
    state = RequestState(ahead=ticket.buffered, rate=rate, rates=playout.rates,
                         progress=meter.progress, model_time=lambda: ticket.model_s)

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
                        result = await scheduler.run(item, ticket)
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
                        meter.audio_s += seconds
                        meter.progress.current_done += seconds
                        await queue.put(audio.to_pcm16(item, options.volume))
                    if rendered >= budget:
                        await queue.put(_DONE)
                        return
        except Exception as err:  # noqa: BLE001 - handed to the consumer, which re-raises
            await queue.put(err)
            return
        await queue.put(_DONE)

    producer = asyncio.create_task(produce(), name="kokoro-producer")
    playout.add(meter)
    held: list[bytes] | None = []  # gap-free first: audio waits while starting would stall

    def must_hold(extra: bytes = b"") -> bool:
        """Not feasible yet: wait, or, past --max-hold, start late (it will stall)."""
        if playout.feasible(meter, ticket.held_seconds + _seconds(extra)):
            ticket.late = False
            return False
        ticket.late = meter.hold_left() <= 0
        return not ticket.late

    def send(piece: bytes) -> bytes:
        if ticket.first_audio is None:
            _LOGGER.debug("First audio after %.2f s (%.2f s rendered, %.2f s model time per "
                          "audio second%s)", time.monotonic() - ticket.arrival,
                          meter.audio_s, playout.rates.rtf,
                          ", late: it will stall" if ticket.late else "")
        ticket.held_seconds = 0.0  # nothing is held once audio goes out
        ticket.sent(_seconds(piece))
        return piece

    try:
        while True:
            if held and not must_hold():  # rendered far enough, or waited the most allowed
                for piece in held:
                    yield send(piece)
                held = None
            # while held, look again as rendering goes on, not only when a piece arrives
            wait = min(meter.hold_left(), RECHECK_S) if held else None
            try:
                item = (await asyncio.wait_for(queue.get(), wait) if wait is not None
                        else await queue.get())
            except TimeoutError:  # ask the plan again (past max_hold it says start)
                continue
            if item is _DONE:
                break
            if isinstance(item, Exception):
                raise item
            if isinstance(item, bytes) and held is not None and must_hold(item):
                if not held:
                    _LOGGER.debug("Holding first audio: at %.2f× real time the text still "
                                  "to render would outrun playback", playout.rates.rtf)
                held.append(item)  # type: ignore[arg-type]
                ticket.held_seconds += _seconds(item)
                continue
            for piece in held or ():  # the text has not arrived yet, or no need to wait
                yield send(piece)
            held = None
            if item is not _WAITING:
                yield send(item)  # type: ignore[arg-type]
        for piece in held or ():
            yield send(piece)
    finally:
        playout.remove(meter)
        if not producer.done():
            producer.cancel()
            try:
                await producer
            except asyncio.CancelledError:
                pass


def _seconds(pcm: bytes) -> float:
    return len(pcm) / audio.SAMPLE_WIDTH / audio.SAMPLE_RATE


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
