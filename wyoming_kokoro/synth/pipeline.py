"""Text → an async stream of PCM: segments rendered one pool job at a time, ahead of playback."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np

from wyoming_kokoro import audio
from wyoming_kokoro.languages import is_english
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.model.kokoro import DurationOverflowError, KokoroModel, ModelOutputError
from wyoming_kokoro.phonemes.g2p import G2PRegistry, Vocab
from wyoming_kokoro.phonemes.strings import join_phonemes, misaki_text, split_phonemes
from wyoming_kokoro.synth.playout import RenderRate, RequestMeter
from wyoming_kokoro.synth.scheduler import Scheduler, Ticket, drive
from wyoming_kokoro.text.sentences import Pause
from wyoming_kokoro.voices import Voice, VoiceLibrary

if TYPE_CHECKING:
    from wyoming_kokoro.text.plan import FrontEnd
    from wyoming_kokoro.text.spans import Span

_LOGGER = logging.getLogger(__name__)
_DONE = object()
_WAITING = object()  # the producer has rendered all the text it has and waits for more


class SynthesisError(RuntimeError):
    """A request could not be rendered (bad input or a model fault)."""


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
    max_hold: float = 3.0  # most seconds a slow machine holds first audio to avoid gaps
    max_audio: float = 600.0  # seconds one request (stream) may render; the rest is cut off


@dataclass
class _StreamState:
    """Per-request join state: which silence, if any, goes before the next speech piece."""

    gap: float = 0.0
    spoken: bool = False
    paused: float = 0.0  # seconds of pause tags rendered so far
    ahead: Callable[[], float] | None = None  # seconds the listener has buffered (streams)
    rate: float = 1.0  # this request's speed factor (HTTP `speed`), on top of the server's


class Engine:
    """Everything needed to speak: model, voices, G2P, options and a bounded worker pool."""

    def __init__(self, model: KokoroModel, voices: VoiceLibrary, default_voice: str,
                 g2p: G2PRegistry | None = None, options: SynthOptions | None = None,
                 workers: int = 1, frontend: FrontEnd | None = None) -> None:
        if default_voice not in voices.voices:
            raise SynthesisError(f"default voice {default_voice!r} is not among the voices")
        self.model = model
        self.first_model: KokoroModel | None = None  # small bucket for the first words
        self.voices = voices
        self.default_voice = default_voice
        self.g2p = g2p or G2PRegistry()
        self.vocab = Vocab.load()
        self.options = options or SynthOptions()
        if frontend is None:
            from wyoming_kokoro.text.plan import FrontEnd
            frontend = FrontEnd()
        self.frontend = frontend  # text/SSML → sentences of spans (wyoming_kokoro.frontend)
        self.scheduler = Scheduler(workers)  # model calls, earliest deadline first
        # Text work (front end, G2P, crossfades) runs beside the model calls, so a request's
        # cheap steps — like noticing it is finished — never queue behind other requests.
        self.text_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kokoro-text")
        started = threading.Barrier(3)  # start both text threads now: a flat thread count
        for _ in range(2):  # from the first request on (and no spawn on the request path)
            self.text_pool.submit(started.wait)
        started.wait()
        self._warm_lock = threading.Lock()
        self.render_rate = RenderRate()  # measured at warm-up, then by every request

    # -- voices -----------------------------------------------------------------------------
    def spoken_voices(self) -> list[Voice]:
        """Voices whose language has a working G2P (the others would speak silence)."""
        return [v for v in self.voices.voices.values() if self.g2p.available(v.language)]

    def select_voice(self, name: str | None = None, language: str | None = None
                     ) -> tuple[Voice, str]:
        voice, warning = self.voices.select(name, language, self.default_voice)
        return voice, warning

    # -- rendering (worker threads) ---------------------------------------------------------
    def phonemize(self, text: str | Sequence[Span], language: str) -> str:
        """Text, or the prepared spans of one model call, → one vocab-clean phoneme string.
        English spans go to misaki together (phoneme spans as links) to keep context;
        other languages are phonemized span by span and joined."""
        if isinstance(text, str):
            return self.vocab.clean(self.g2p.phonemize(text, language))
        parts: list[str] = []
        for lang, run in groupby(text, key=lambda span: span.language or language):
            if is_english(lang):
                parts.append(self.g2p.phonemize(misaki_text(list(run)), lang))
            else:
                parts += [s.phonemes if s.phonemes is not None
                          else self.g2p.phonemize(s.text, lang) for s in run]
        return self.vocab.clean(join_phonemes(parts))

    def render_phonemes(self, phonemes: str, voice: Voice, speed: float | None = None,
                        model: KokoroModel | None = None) -> np.ndarray:
        """One model call (or several after an alignment overflow) → trimmed float audio."""
        model = model or self.model
        speed = self.options.speed if speed is None else speed
        ids = self.vocab.encode(phonemes)
        if not ids:
            return audio.silence(0)
        try:
            raw = model.run(ids, voice.style(len(ids)), speed)
        except DurationOverflowError as overflow:
            if len(ids) <= 1:
                raise ModelOutputError("a single phoneme overflowed the alignment window") from None
            limit = max(1, min(len(ids) - 1, len(ids) * overflow.limit // overflow.frames))
            _LOGGER.debug("Re-splitting %d tokens to %d (%s)", len(ids), limit, overflow)
            parts = [self.render_phonemes(p, voice, speed, model)
                     for p in split_phonemes(phonemes, limit)]
            return np.concatenate(parts) if parts else audio.silence(0)
        return audio.trim(raw)

    def render_piece_steps(self, phonemes: str, voice: Voice, speed: float | None = None,
                           model: KokoroModel | None = None,
                           ahead: Callable[[], float] | None = None
                           ) -> Generator[Job | np.ndarray, Any, None]:
        """One segment as model Jobs and audio: with the streaming decoder a head first when
        the listener would otherwise wait, then the exact rest; otherwise one model call."""
        ids = self.vocab.encode(phonemes)
        if self.model.split is None or not ids or model is not None:
            yield (yield Job(self.render_phonemes, (phonemes, voice, speed, model)))
            return
        speed = self.options.speed if speed is None else speed
        yield from self.model.segment_steps(ids, voice.style(len(ids)), speed, ahead)

    def render_text(self, text: str, voice: Voice, language: str | None = None,
                    state: _StreamState | None = None) -> Iterator[np.ndarray]:
        """Float pieces for one text, model calls run inline (CLI, tests, warm-up)."""
        return drive(self.render_steps(text, voice, language, state))

    def render_steps(self, text: str, voice: Voice, language: str | None = None,
                     state: _StreamState | None = None
                     ) -> Generator[Job | np.ndarray, Any, None]:
        """Model Jobs and float pieces for one text (plain, or SSML Markup from
        wyoming_kokoro.frontend). Sentences come from the front end; each is one model call
        per voice/rate run, cut to the model's capacity."""
        state = state or _StreamState()
        language = language or voice.language
        opts = self.options
        for block in self.frontend.read(text, opts.max_pause):
            if isinstance(block, Pause):
                seconds = min(block.seconds, opts.max_pause, opts.max_total_pause - state.paused)
                state.paused += max(0.0, seconds)
                yield audio.silence(seconds)
                state.gap = 0.0
                continue
            for call in self.frontend.plan(block, voice, language, self.voices,
                                           self.g2p.available):
                phonemes = self.phonemize(call.spans, language)
                for piece, model in self._pieces(phonemes, first=not state.spoken):
                    if state.spoken and state.gap:
                        yield audio.silence(state.gap)
                    yield from self.render_piece_steps(piece, call.voice,
                                                       opts.speed * call.rate * state.rate,
                                                       model, state.ahead)
                    state.spoken = True
                    state.gap = opts.clause_silence
            state.gap = opts.sentence_silence

    def _pieces(self, phonemes: str, first: bool) -> list[tuple[str, KokoroModel | None]]:
        """Pieces that fit the model. A fixed-bucket model costs the same per call whatever
        the text, so a request's first words go to the small first-audio bucket if loaded."""
        small = self.first_model
        if first and small is not None and len(phonemes) > small.capacity:
            head, *_ = split_phonemes(phonemes, small.capacity)
            rest = phonemes[len(head):].strip()
            return [(head, small), *((p, None) for p in split_phonemes(rest, self.model.capacity))]
        if first and small is not None:
            return [(phonemes, small)] if phonemes else []
        return [(p, None) for p in split_phonemes(phonemes, self.model.capacity)]

    def synthesize(self, text: str, voice: Voice | None = None, language: str | None = None
                   ) -> np.ndarray:
        """Whole text → float audio, synchronously (CLI, tests, warm-up)."""
        voice = voice or self.voices.voices[self.default_voice]
        pieces = list(self.render_text(text, voice, language))
        return np.concatenate(pieces) if pieces else audio.silence(0)

    def warm_up(self) -> None:
        """Load the default voice's G2P and run the model once so the first request is fast."""
        voice = self.voices.voices[self.default_voice]
        with self._warm_lock:
            began = time.monotonic()
            rendered = self.synthesize("Ready." if is_english(voice.language) else "Hola.", voice)
            if len(rendered):
                self.render_rate.rtf = (time.monotonic() - began) * audio.SAMPLE_RATE / len(
                    rendered)

    # -- async streaming --------------------------------------------------------------------
    async def stream(self, texts: AsyncIterable[str] | Iterable[str], voice: Voice,
                     language: str | None = None, rate: float = 1.0) -> AsyncIterator[bytes]:
        """PCM (int16 bytes) for a stream of texts; the next piece renders while one is sent.
        `rate` scales the server's speed for this request only."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, self.options.prefetch))
        ticket = Ticket()
        state = _StreamState(ahead=ticket.buffered, rate=rate)
        meter = RequestMeter(self.render_rate, max_hold=self.options.max_hold)

        budget = int(self.options.max_audio * audio.SAMPLE_RATE)  # samples per request

        async def produce() -> None:
            rendered = 0
            try:
                async for text in _aiter(texts, on_wait=lambda: queue.put_nowait(_WAITING)
                                         if meter.audio_s and not queue.full() else None):
                    steps = self.render_steps(text, voice, language, state)
                    result = None
                    while (item := await loop.run_in_executor(self.text_pool, _step, steps,
                                                              result)) is not _DONE:
                        if isinstance(item, Job):
                            began = time.monotonic()
                            result = await self.scheduler.run(item, ticket.deadline)
                            meter.model_s += time.monotonic() - began
                            continue
                        result = None
                        room = budget - rendered
                        if len(item) > room:  # never a runaway request: cut off, cleanly
                            item = item[:room]
                            _LOGGER.warning("Request reached --max-audio-seconds (%g s); "
                                            "the rest of its text is not spoken",
                                            self.options.max_audio)
                        if len(item):
                            rendered += len(item)
                            ticket.produced(len(item) / audio.SAMPLE_RATE)
                            meter.audio_s += len(item) / audio.SAMPLE_RATE
                            await queue.put(audio.to_pcm16(item, self.options.volume))
                        if rendered >= budget:
                            await queue.put(_DONE)
                            return
            except Exception as err:  # noqa: BLE001 - handed to the consumer, which re-raises
                await queue.put(err)
                return
            await queue.put(_DONE)

        producer = asyncio.create_task(produce(), name="kokoro-producer")
        held: list[bytes] | None = []  # gap-free first: a slower-than-real-time request waits
        try:
            while True:
                if held and not meter.hold():  # waited as long as a satellite allows
                    for piece in held:
                        yield piece
                    held = None
                wait = meter.hold_left() if held else None
                try:
                    item = await asyncio.wait_for(queue.get(), wait) if wait else await queue.get()
                except TimeoutError:  # a satellite gives up on silence: start, gaps or not
                    item = _WAITING
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    raise item
                if item is not _WAITING and held is not None and meter.hold():
                    if not held:
                        _LOGGER.debug("Holding first audio: rendering at %.2f× real time",
                                      meter.rtf)
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

    def close(self) -> None:
        self.scheduler.close()
        self.text_pool.shutdown(wait=False, cancel_futures=True)


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
