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

from wyoming_kokoro import __version__, audio
from wyoming_kokoro.languages import LANGUAGES, resolve_language
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.prepare import is_ssml, prepare_text
from wyoming_kokoro.text.sentences import SentenceStreamer
from wyoming_kokoro.voices import Voice
from wyoming_kokoro.wyoming.wire import ProtocolError, data_limit, read_event

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
    idle_timeout: float = 300.0  # a connection with no traffic either way this long is dropped
    max_connections: int = 64  # open connections, all clients together
    max_client_connections: int = 16  # open connections from one client address
    # One address's syntheses. None: all slots — Home Assistant sends every satellite's speech
    # from one address, so a per-address share would throttle the main client.
    max_client_concurrent: int | None = None

    @property
    def client_concurrent(self) -> int:
        if self.max_client_concurrent is not None:
            return max(1, self.max_client_concurrent)
        return self.max_concurrent


def _clip(value: object, limit: int = 200) -> str:
    """A request value fit for a log line or an error text: bounded, printable, UTF-8 safe."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's address (no port): limits apply per address. Unix sockets share one."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "local"


class _Client:
    """Everything open from one address: its connection count and its own synthesis limit,
    so one client never holds all the engine's slots."""

    def __init__(self, concurrent: int) -> None:
        self.connections = 0
        self.slots = asyncio.Semaphore(concurrent)


class _IdleTimeout(Exception):
    """No event from the client and nothing sent to it for `idle_timeout` seconds."""


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
        self.clients: dict[str, _Client] = {}
        self.open = 0
        self.refused = 0
        self._refusal_logged = -float("inf")
        self.max_data = data_limit(config.max_text_length)

    def admit(self, address: str) -> _Client | None:
        """Count a new connection in, or None when a connection limit is reached."""
        client = self.clients.get(address)
        if self.open >= self.config.max_connections or (
            client is not None and client.connections >= self.config.max_client_connections
        ):
            self.refused += 1
            return None
        if client is None:
            client = self.clients[address] = _Client(self.config.client_concurrent)
        client.connections += 1
        self.open += 1
        return client

    def release(self, address: str) -> None:
        client = self.clients[address]
        client.connections -= 1
        self.open -= 1
        if client.connections <= 0:
            del self.clients[address]

    def log_refusal(self, address: str) -> None:
        """At most one warning a minute, however fast connections are refused."""
        now = time.monotonic()
        if now - self._refusal_logged >= 60:
            self._refusal_logged = now
            _LOGGER.warning("Connection limit reached (%d open, %d from %s; limits %d and %d per "
                            "client): refusing; %d refused so far", self.open,
                            self.clients[address].connections if address in self.clients else 0,
                            address, self.config.max_connections,
                            self.config.max_client_connections, self.refused)

    @contextlib.asynccontextmanager
    async def synthesis_slot(self, client: _Client | None) -> AsyncIterator[None]:
        """The client's own slot first, then a shared one: waiting clients queue fairly."""
        async with contextlib.AsyncExitStack() as stack:
            if client is not None:
                await stack.enter_async_context(client.slots)
            await stack.enter_async_context(self.slots)
            yield

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
        self.client: _Client | None = None
        self._writing = 0  # writes in progress
        self._last_activity = time.monotonic()
        self._warned: set[str] = set()

    def _warn(self, key: str, message: str, *args: object) -> None:
        """A client's repeated mistake is one warning per connection, then debug: a flood of
        bad events must not flood the log."""
        level = logging.DEBUG if key in self._warned else logging.WARNING
        self._warned.add(key)
        _LOGGER.log(level, message, *args)

    # -- connection loop ------------------------------------------------------------------
    async def run(self) -> None:
        """Like wyoming's loop, but with bounded reads, connection limits, an idle timeout and
        no exception escaping."""
        address = _peer_address(self.writer)
        self.client = self.service.admit(address)
        if self.client is None:
            await self._refuse(address)
            return
        if (task := asyncio.current_task()) is not None:
            self.service.connections.add(task)
        try:
            while True:
                try:
                    event = await self._next_event()
                except ProtocolError as err:
                    _LOGGER.warning("Closing connection: %s", err)
                    await self._close_with_error("protocol-error", str(err))
                    break
                except _IdleTimeout:
                    _LOGGER.debug("Closing idle connection from %s", address)
                    await self._close_with_error(
                        "idle-timeout", f"nothing received for {self.config.idle_timeout:g} s")
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
            await self._linger()
            self.service.release(address)
            with contextlib.suppress(Exception):
                self.writer.close()

    async def _linger(self, seconds: float = 1.0) -> None:
        """Hanging up first (after an error): half-close and discard what the client still
        sends for a moment. Closing with unread input resets the connection, and the reset
        throws away the error the client has not read yet."""
        task = asyncio.current_task()
        if (self.reader.at_eof() or self.writer.transport.is_closing()
                or (task is not None and task.cancelling())):
            return
        with contextlib.suppress(Exception):
            self.writer.write_eof()
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass

    async def _refuse(self, address: str) -> None:
        """Over a connection limit: one short-lived error, then close."""
        self.service.log_refusal(address)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await super().write_event(Error(text="too many connections; try again later",
                                                code="too-many-connections").event())
        with contextlib.suppress(Exception):
            self.writer.close()

    async def _next_event(self) -> Event | None:
        """The next event; _IdleTimeout once nothing has moved either way for idle_timeout.
        One read task per event, so a timeout check never cuts an event in half."""
        timeout = self.config.idle_timeout
        read = asyncio.ensure_future(read_event(self.reader, max_data=self.service.max_data))
        try:
            while True:
                now = time.monotonic()
                if self._busy():
                    self._last_activity = now  # speaking counts as traffic
                elif now - self._last_activity >= timeout:
                    raise _IdleTimeout
                wait = timeout - (now - self._last_activity)
                done, _ = await asyncio.wait({read}, timeout=max(wait, 0.01))
                if done:
                    self._last_activity = time.monotonic()
                    return read.result()
        finally:
            if not read.done():
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read

    def _busy(self) -> bool:
        """Audio is being written, rendered or waits for a synthesis slot."""
        return self._writing > 0 or (self._stream is not None and self._stream.busy)

    async def _close_with_error(self, code: str, text: str) -> None:
        """Before hanging up: the error, then `synthesize-stopped` if a stream was open."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.cancel()
        with contextlib.suppress(Exception):
            await self._send_error(code, text)
            if stream is not None:
                await self.write_event(SynthesizeStopped().event())

    def drop(self) -> None:
        """Hang up now (a dead reader): the read loop then ends and cleans up."""
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def write_event(self, event: Event) -> None:
        """Writes with a deadline: a client that never reads cannot pin audio in memory.
        (asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
        arrives as the write completes, and a cancelled stream then speaks on.)"""
        self._writing += 1
        try:
            async with asyncio.timeout(self.config.write_timeout):
                await super().write_event(event)
        finally:
            self._writing -= 1
            self._last_activity = time.monotonic()

    async def _send_error(self, code: str, text: str) -> None:
        await self.write_event(Error(text=_clip(text, 500), code=code).event())

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
            self._warn(f"malformed {event.type}", "Malformed %s event: %s", event.type,
                       _clip(err))
            text = f"malformed {event.type} event: {_clip(err)}"
            if self._stream is not None:  # the stream fails; stopped still comes at stop
                await self._stream.fail("bad-request", text)
                return True
            await self._send_error("bad-request", text)
            return not Synthesize.is_type(event.type)

    def _resolve_voice(self, voice: SynthesizeVoice | None) -> tuple[Voice, str | None]:
        name = voice.name if voice else None
        requested_language = voice.language if voice else None
        language = resolve_language(requested_language)
        if requested_language and language is None:
            _LOGGER.warning("Unknown language %s; using the default voice",
                            _clip(repr(requested_language), 80))
        if name is not None and not isinstance(name, str):
            raise RequestError("bad-voice", "voice name must be a string")
        selected, warning = self.engine.select_voice(name, language)
        if warning:
            _LOGGER.warning("%s", _clip(warning, 300))
        speak_language = language if language and not name else selected.language
        for code in dict.fromkeys((selected.language, speak_language)):
            if not self.engine.g2p.available(code):  # it would speak silence: say why
                raise RequestError("language-unavailable",
                                   self.engine.g2p.unavailable_text(code))
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
            text = prepare_text(self._check_text(request.text), request.text_format)
            if not text.strip():
                raise RequestError("empty-text", "nothing to speak: the text is empty")
            voice, language = self._resolve_voice(request.voice)
        except RequestError as err:
            await self._send_error(err.code, str(err))
            return False  # non-streaming clients wait for audio-stop: close so they don't hang
        async with self.service.synthesis_slot(self.client):
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
            self._warn("restart", "synthesize-start while a stream is open; restarting it")
            stream, self._stream = self._stream, None
            await stream.abort()
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
            self._warn("orphan chunk", "synthesize-chunk without synthesize-start; ignored")
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
        self.stopped = False
        self.samples = 0
        self._pending = b""  # under one chunk, held so every chunk but the last is full-size

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.handler.write_event(AudioStart(
                rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS
            ).event())

    async def send(self, pcm_stream: AsyncIterator[bytes]) -> None:
        chunk_bytes = self.handler.config.samples_per_chunk * audio.SAMPLE_WIDTH
        try:
            async for pcm in pcm_stream:
                await self.start()
                data = self._pending + pcm
                whole = len(data) - len(data) % chunk_bytes
                self._pending = data[whole:]
                for piece in audio.chunks(data[:whole], self.handler.config.samples_per_chunk):
                    await self._write(piece)
        finally:
            # A failed write leaves the generator suspended at `yield`, its producer still
            # rendering; close it now rather than whenever the garbage collector gets to it.
            if (aclose := getattr(pcm_stream, "aclose", None)) is not None:
                await aclose()

    async def _write(self, piece: bytes) -> None:
        await self.handler.write_event(AudioChunk(
            rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS,
            audio=piece,
        ).event())
        self.samples += len(piece) // audio.SAMPLE_WIDTH

    async def stop(self) -> None:
        await self.start()
        if self._pending:
            await self._write(self._pending)
            self._pending = b""
        self.stopped = True
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
        self.awaiting_text = False  # the engine has spoken everything it was given

    @property
    def busy(self) -> bool:
        """Rendering, sending, or queued for a slot (not just waiting for the next chunk)."""
        return self.task is not None and not self.task.done() and not self.awaiting_text

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
            async with self.handler.service.synthesis_slot(self.handler.client):
                await self.sender.send(self.handler.engine.stream(self._texts(), self.voice,
                                                                  self.language))
        except (TimeoutError, ConnectionError):
            self.handler.drop()  # the reader is gone: end the connection, not just the stream
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
