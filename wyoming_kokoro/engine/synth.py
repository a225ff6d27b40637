"""Text → an async stream of PCM: segments rendered one pool job at a time, ahead of playback."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import audio
from .g2p import G2PRegistry, Vocab
from .model import DurationOverflowError, KokoroModel, ModelOutputError
from .text import Pause, cleanup, is_speakable, split_pauses, split_phonemes, split_sentences
from .voices import Voice, VoiceLibrary

_LOGGER = logging.getLogger(__name__)
_DONE = object()


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
    prefetch: int = 2  # rendered pieces held ahead of the sender (bounds memory)


@dataclass
class _StreamState:
    """Per-request join state: which silence, if any, goes before the next speech piece."""

    gap: float = 0.0
    spoken: bool = False
    notes: list[str] = field(default_factory=list)


class Engine:
    """Everything needed to speak: model, voices, G2P, options and a bounded worker pool."""

    def __init__(self, model: KokoroModel, voices: VoiceLibrary, default_voice: str,
                 g2p: G2PRegistry | None = None, options: SynthOptions | None = None,
                 workers: int = 1) -> None:
        if default_voice not in voices.voices:
            raise SynthesisError(f"default voice {default_voice!r} is not among the voices")
        self.model = model
        self.voices = voices
        self.default_voice = default_voice
        self.g2p = g2p or G2PRegistry()
        self.vocab = Vocab.load()
        self.options = options or SynthOptions()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers),
                                       thread_name_prefix="kokoro-worker")
        self._warm_lock = threading.Lock()

    # -- voices -----------------------------------------------------------------------------
    def spoken_voices(self) -> list[Voice]:
        """Voices whose language has a working G2P (the others would speak silence)."""
        return [v for v in self.voices.voices.values() if self.g2p.available(v.language)]

    def select_voice(self, name: str | None = None, language: str | None = None
                     ) -> tuple[Voice, str]:
        voice, warning = self.voices.select(name, language, self.default_voice)
        return voice, warning

    # -- rendering (worker threads) ---------------------------------------------------------
    def phonemize(self, text: str, language: str) -> str:
        return self.vocab.clean(self.g2p.phonemize(text, language))

    def render_phonemes(self, phonemes: str, voice: Voice, speed: float | None = None
                        ) -> np.ndarray:
        """One model call (or several after an alignment overflow) → trimmed float audio."""
        speed = self.options.speed if speed is None else speed
        ids = self.vocab.encode(phonemes)
        if not ids:
            return audio.silence(0)
        try:
            raw = self.model.run(ids, voice.style(len(ids)), speed)
        except DurationOverflowError as overflow:
            if len(ids) <= 1:
                raise ModelOutputError("a single phoneme overflowed the alignment window") from None
            limit = max(1, min(len(ids) - 1, len(ids) * overflow.limit // overflow.frames))
            _LOGGER.debug("Re-splitting %d tokens to %d (%s)", len(ids), limit, overflow)
            parts = [self.render_phonemes(p, voice, speed) for p in split_phonemes(phonemes, limit)]
            return np.concatenate(parts) if parts else audio.silence(0)
        return audio.trim(raw)

    def render_text(self, text: str, voice: Voice, language: str | None = None,
                    state: _StreamState | None = None) -> Iterator[np.ndarray]:
        """Float pieces for one text: each `next()` is one model call (one pool job)."""
        state = state or _StreamState()
        language = language or voice.language
        opts = self.options
        for part in split_pauses(cleanup(text), opts.max_pause):
            if isinstance(part, Pause):
                yield audio.silence(part.seconds)
                state.gap = 0.0
                continue
            for sentence in split_sentences(part):
                if not is_speakable(sentence):
                    continue
                phonemes = self.phonemize(sentence, language)
                for piece in split_phonemes(phonemes, self.model.capacity):
                    if state.spoken and state.gap:
                        yield audio.silence(state.gap)
                    rendered = self.render_phonemes(piece, voice)
                    state.spoken = True
                    state.gap = opts.clause_silence
                    yield rendered
                state.gap = opts.sentence_silence

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
            self.synthesize("Ready." if voice.language in "ab" else "Hola.", voice)

    # -- async streaming --------------------------------------------------------------------
    async def stream(self, texts: AsyncIterable[str] | Iterable[str], voice: Voice,
                     language: str | None = None) -> AsyncIterator[bytes]:
        """PCM (int16 bytes) for a stream of texts; the next piece renders while one is sent."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, self.options.prefetch))
        state = _StreamState()

        async def produce() -> None:
            try:
                async for text in _aiter(texts):
                    pieces = self.render_text(text, voice, language, state)
                    while (piece := await loop.run_in_executor(self.pool, next, pieces, _DONE)
                           ) is not _DONE:
                        if len(piece):
                            await queue.put(audio.to_pcm16(piece, self.options.volume))
            except Exception as err:  # noqa: BLE001 - handed to the consumer, which re-raises
                await queue.put(err)
                return
            await queue.put(_DONE)

        producer = asyncio.create_task(produce(), name="kokoro-producer")
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            if not producer.done():
                producer.cancel()
                try:
                    await producer
                except asyncio.CancelledError:
                    pass

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


async def _aiter(texts: AsyncIterable[str] | Iterable[str]) -> AsyncIterator[str]:
    if isinstance(texts, AsyncIterable):
        async for text in texts:
            yield text
    else:
        for text in texts:
            yield text
