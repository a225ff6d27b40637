"""Wyoming handler: describe, synthesize, and streaming exactly as Home Assistant drives it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from . import __version__
from .engine import audio
from .engine.languages import LANGUAGES, resolve_language
from .engine.synth import Engine
from .engine.text import SentenceStreamer
from .engine.voices import Voice
from .textformat import to_plain_text
from .wire import ProtocolError, read_event

_LOGGER = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="hexgrad (Kokoro-82M)", url="https://huggingface.co/hexgrad/Kokoro-82M")


class RequestError(ValueError):
    """A bad request: reported to the client as an `error` event with this code."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


@dataclass
class ServerConfig:
    samples_per_chunk: int = 1024
    max_text_length: int = 100_000
    max_concurrent: int = 4
    streaming: bool = True
    write_timeout: float = 30.0  # a client that stops reading this long is dropped


def build_info(engine: Engine, streaming: bool) -> Info:
    voices = [
        TtsVoice(name=v.name, description=v.description, attribution=ATTRIBUTION,
                 installed=True, version=None, languages=[LANGUAGES[v.language].locale])
        for v in engine.spoken_voices()
    ]
    return Info(tts=[TtsProgram(
        name="kokoro", description="Kokoro-82M neural text to speech (ONNX Runtime)",
        attribution=ATTRIBUTION, installed=True, version=__version__, voices=voices,
        supports_synthesize_streaming=streaming,
    )])


class KokoroService:
    """State shared by all connections: the engine, the cached info, the synthesis limit."""

    def __init__(self, engine: Engine, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
        self.info_event = build_info(engine, config.streaming).event()
        self.slots = asyncio.Semaphore(config.max_concurrent)
        self.connections: set[asyncio.Task] = set()

    def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                ) -> KokoroEventHandler:
        return KokoroEventHandler(self, reader, writer)


class KokoroEventHandler(AsyncEventHandler):
    """One client connection (Home Assistant opens one per request)."""

    def __init__(self, service: KokoroService, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.service = service
        self.config = service.config
        self.engine = service.engine
        self._stream: _StreamSession | None = None

    # -- connection loop ------------------------------------------------------------------
    async def run(self) -> None:
        """Like wyoming's loop, but with bounded reads and no exception escaping."""
        if (task := asyncio.current_task()) is not None:
            self.service.connections.add(task)
        try:
            while True:
                try:
                    event = await read_event(self.reader)
                except ProtocolError as err:
                    _LOGGER.warning("Closing connection: %s", err)
                    with contextlib.suppress(Exception):
                        await self._send_error("protocol-error", str(err))
                    break
                if event is None or not await self.handle_event(event):
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            _LOGGER.debug("Client went away")
        except Exception:
            _LOGGER.exception("Unexpected error in connection handler")
        finally:
            self.service.connections.discard(asyncio.current_task())
            if self._stream is not None:
                await self._stream.cancel()
            with contextlib.suppress(Exception):
                self.writer.close()

    async def write_event(self, event: Event) -> None:
        """Writes with a deadline: a client that never reads cannot pin audio in memory."""
        await asyncio.wait_for(super().write_event(event), timeout=self.config.write_timeout)

    async def _send_error(self, code: str, text: str) -> None:
        await self.write_event(Error(text=text, code=code).event())

    # -- events ---------------------------------------------------------------------------
    async def handle_event(self, event: Event) -> bool:
        try:
            if Describe.is_type(event.type):
                await self.write_event(self.service.info_event)
            elif Synthesize.is_type(event.type):
                return await self._on_synthesize(Synthesize.from_event(event))
            elif not self.config.streaming:
                return True  # streaming events are only honoured when advertised
            elif SynthesizeStart.is_type(event.type):
                await self._on_start(SynthesizeStart.from_event(event))
            elif SynthesizeChunk.is_type(event.type):
                await self._on_chunk(SynthesizeChunk.from_event(event))
            elif SynthesizeStop.is_type(event.type):
                await self._on_stop()
            return True  # unknown events are ignored, never a reason to hang up
        except (TimeoutError, ConnectionError):
            return False
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            _LOGGER.warning("Malformed %s event: %s", event.type, err)
            await self._send_error("bad-request", f"malformed {event.type} event: {err}")
            if self._stream is not None:  # keep the stream contract: stopped comes last
                return True
            return not Synthesize.is_type(event.type)

    def _resolve_voice(self, voice: SynthesizeVoice | None) -> tuple[Voice, str | None]:
        name = voice.name if voice else None
        requested_language = voice.language if voice else None
        language = resolve_language(requested_language)
        if requested_language and language is None:
            _LOGGER.warning("Unknown language %r; using the default voice", requested_language)
        if name is not None and not isinstance(name, str):
            raise RequestError("bad-voice", "voice name must be a string")
        selected, warning = self.engine.select_voice(name, language)
        if not self.engine.g2p.available(selected.language):
            selected, warning = self.engine.select_voice(None, None)
            warning = f"voice {name!r} speaks a language whose G2P is not installed"
        if warning:
            _LOGGER.warning("%s", warning)
        speak_language = language if language and not name else selected.language
        if not self.engine.g2p.available(speak_language):
            speak_language = selected.language
        return selected, speak_language

    def _check_text(self, text: object, total: int = 0) -> str:
        if not isinstance(text, str):
            raise RequestError("bad-request", "text must be a string")
        if total + len(text) > self.config.max_text_length:
            raise RequestError("text-too-long", f"text longer than {self.config.max_text_length}"
                               " characters (--max-text-length)")
        return text

    async def _on_synthesize(self, request: Synthesize) -> bool:
        if self._stream is not None:
            return True  # Home Assistant's backwards-compatible copy of the streamed text
        started = time.monotonic()
        try:
            text = to_plain_text(self._check_text(request.text), request.text_format)
            if not text.strip():
                raise RequestError("empty-text", "nothing to speak: the text is empty")
            voice, language = self._resolve_voice(request.voice)
        except RequestError as err:
            await self._send_error(err.code, str(err))
            return False  # non-streaming clients wait for audio-stop: close so they don't hang
        async with self.service.slots:
            sender = _AudioSender(self)
            try:
                await sender.send(self.engine.stream([text], voice, language))
            except (TimeoutError, ConnectionError):
                raise
            except Exception as err:
                _LOGGER.exception("Synthesis failed")
                await self._send_error("synthesis-failed", f"synthesis failed: {err}")
                return False
            await sender.stop()
        _LOGGER.debug("Synthesized %d chars in %.3f s", len(text), time.monotonic() - started)
        return True

    async def _on_start(self, start: SynthesizeStart) -> None:
        if self._stream is not None:
            _LOGGER.warning("synthesize-start while a stream is open; restarting the stream")
            await self._stream.cancel()
            self._stream = None
        try:
            voice, language = self._resolve_voice(start.voice)
            error = None
        except RequestError as err:
            voice, language = self.engine.select_voice(None, None)[0], None
            error = err
        self._stream = _StreamSession(self, voice, language, start.text_format)
        if error is not None:
            await self._stream.fail(error.code, str(error))

    async def _on_chunk(self, chunk: SynthesizeChunk) -> None:
        if self._stream is None:
            _LOGGER.warning("synthesize-chunk without synthesize-start; ignored")
            return
        await self._stream.add(chunk.text)

    async def _on_stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.finish()
        await self.write_event(SynthesizeStopped().event())


class _AudioSender:
    """audio-start once, audio-chunk events of a fixed size, audio-stop; one constant format."""

    def __init__(self, handler: KokoroEventHandler) -> None:
        self.handler = handler
        self.started = False
        self.samples = 0

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.handler.write_event(AudioStart(
                rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS
            ).event())

    async def send(self, pcm_stream: AsyncIterator[bytes]) -> None:
        per_chunk = self.handler.config.samples_per_chunk
        async for pcm in pcm_stream:
            await self.start()
            for piece in audio.chunks(pcm, per_chunk):
                await self.handler.write_event(AudioChunk(
                    rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS,
                    audio=piece,
                ).event())
                self.samples += len(piece) // audio.SAMPLE_WIDTH

    async def stop(self) -> None:
        await self.start()
        await self.handler.write_event(AudioStop().event())


class _StreamSession:
    """One synthesize-start … synthesize-stop: sentences go to the engine as soon as complete."""

    def __init__(self, handler: KokoroEventHandler, voice: Voice, language: str | None,
                 text_format: str | None) -> None:
        self.handler = handler
        self.voice = voice
        self.language = language
        self.text_format = text_format
        self.sentences = SentenceStreamer()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.chars = 0
        self.spoken_chars = 0
        self.failed = False
        self.sender = _AudioSender(handler)
        self.task: asyncio.Task[None] | None = None
        self.ssml_buffer: list[str] = []

    async def fail(self, code: str, text: str) -> None:
        if not self.failed:
            self.failed = True
            await self.cancel()
            await self.handler._send_error(code, text)

    async def add(self, text: object) -> None:
        if self.failed:
            return
        try:
            text = self.handler._check_text(text, self.chars)
        except RequestError as err:
            await self.fail(err.code, str(err))
            return
        self.chars += len(text)
        if self.text_format == "ssml":
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
        while (text := await self.queue.get()) is not None:
            yield text

    async def _speak(self) -> None:
        async with self.handler.service.slots:
            await self.sender.send(self.handler.engine.stream(self._texts(), self.voice,
                                                              self.language))

    async def finish(self) -> None:
        """At synthesize-stop: flush the tail, wait for the audio, end the audio group."""
        if self.failed:
            return
        if self.text_format == "ssml":
            self._push(to_plain_text("".join(self.ssml_buffer), "ssml"))
        for sentence in self.sentences.finish():
            self._push(sentence)
        if self.task is None:
            await self.handler._send_error("empty-text", "nothing to speak: the text is empty")
            return
        self.queue.put_nowait(None)
        try:
            await self.task
        except (TimeoutError, ConnectionError):
            raise
        except Exception as err:
            _LOGGER.exception("Streaming synthesis failed")
            await self.handler._send_error("synthesis-failed", f"synthesis failed: {err}")
            return
        await self.sender.stop()

    async def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
