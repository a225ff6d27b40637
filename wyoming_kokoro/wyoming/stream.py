"""One streamed request: sentences go to the engine as soon as they are complete.

The `synthesize` inside a stream is Home Assistant's copy of the whole text for servers that
cannot stream: the handler ignores it while a stream is open. Audio starts with the first
complete sentence, before synthesize-stop arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from wyoming.event import Event

from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.prepare import is_ssml, prepare_text
from wyoming_kokoro.text.sentences import SentenceStreamer
from wyoming_kokoro.voices import Voice
from wyoming_kokoro.wyoming.framing import AudioSender
from wyoming_kokoro.wyoming.wire import RequestError, check_text

_LOGGER = logging.getLogger(__name__)

# synthesize-start → synthesize-chunk+ → synthesize? → synthesize-stop ⇒ audio+ → synthesize-stopped


class StreamHost(Protocol):
    """What a stream needs from its connection."""

    async def write_event(self, event: Event) -> None:
        """Send one event (within the write deadline)."""

    async def send_error(self, code: str, text: str) -> None:
        """Send an `error` event."""

    def synthesis_slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one of this client's synthesis slots while rendering."""

    def drop(self) -> None:
        """Hang up now: the reader is gone."""


class StreamSession:
    """synthesize-start … synthesize-stop on one connection: open → (failed) → finished."""

    def __init__(self, host: StreamHost, engine: Engine, voice: Voice, language: str | None,
                 text_format: str | None, *, max_text_length: int,
                 samples_per_chunk: int) -> None:
        self.host = host
        self.engine = engine
        self.voice = voice
        self.language = language
        self.text_format = text_format
        self.max_text_length = max_text_length
        self.sentences = SentenceStreamer()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.chars = 0
        self.spoken_chars = 0
        self.failed = False
        self.sender = AudioSender(host.write_event, samples_per_chunk)
        self.task: asyncio.Task[None] | None = None
        self.ssml_buffer: list[str] = []
        self.awaiting_text = False  # the engine has spoken everything it was given

    @property
    def busy(self) -> bool:
        """Rendering, sending, or queued for a slot (not just waiting for the next chunk)."""
        return self.task is not None and not self.task.done() and not self.awaiting_text

    async def fail(self, code: str, text: str) -> None:
        """Stop speaking and report once; later chunks are dropped, stopped still comes."""
        if not self.failed:
            self.failed = True
            await self.cancel()
            await self.host.send_error(code, text)

    async def add(self, text: object) -> None:
        if self.failed:
            return
        try:
            text = check_text(text, self.max_text_length, self.chars)
        except RequestError as err:
            await self.fail(err.code, str(err))
            return
        self.chars += len(text)
        if is_ssml(self.text_format):
            self.ssml_buffer.append(text)  # markup can span chunks: parsed whole at stop
            return
        for sentence in self.sentences.add(text):
            self._push(sentence)

    def _push(self, sentence: str) -> None:
        if not sentence.strip():
            return
        self.spoken_chars += len(sentence)
        self.queue.put_nowait(sentence)
        if self.task is None:
            self.task = asyncio.create_task(self._speak(), name="kokoro-stream")

    async def _texts(self) -> AsyncIterator[str]:
        while True:
            self.awaiting_text = True
            try:
                text = await self.queue.get()
            finally:
                self.awaiting_text = False
            if text is None:
                return
            yield text

    async def _speak(self) -> None:
        try:
            async with self.host.synthesis_slot():
                await self.sender.send(self.engine.stream(self._texts(), self.voice,
                                                          self.language))
        except (TimeoutError, ConnectionError):
            self.host.drop()  # the reader is gone: end the connection, not just the stream
            raise

    async def finish(self) -> None:
        """At synthesize-stop: flush the tail, wait for the audio, end the audio group."""
        if self.failed:
            return
        if is_ssml(self.text_format):
            self._push(prepare_text("".join(self.ssml_buffer), "ssml"))
        for sentence in self.sentences.finish():
            self._push(sentence)
        if self.task is None:
            await self.host.send_error("empty-text", "nothing to speak: the text is empty")
            return
        self.queue.put_nowait(None)
        try:
            await self.task
        except (TimeoutError, ConnectionError):
            raise
        except Exception as err:
            _LOGGER.exception("Streaming synthesis failed")
            await self.host.send_error("synthesis-failed", f"synthesis failed: {err}")
            return
        await self.sender.stop()

    async def cancel(self) -> None:
        if self.task is None:
            return
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task  # also retrieves a failure nobody reported (client left first)

    async def abort(self) -> None:
        """Cancel, and close an audio group already begun so starts and stops stay paired."""
        await self.cancel()
        if self.sender.started and not self.sender.stopped and not self.failed:
            await self.sender.stop()
