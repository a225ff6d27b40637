"""What each Wyoming event means: describe, synthesize, and streaming as Home Assistant uses it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from wyoming.event import Event
from wyoming.info import Describe
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStopped,
)

from wyoming_kokoro.text.prepare import prepare_text
from wyoming_kokoro.wyoming.framing import AudioSender
from wyoming_kokoro.wyoming.info import resolve_voice
from wyoming_kokoro.wyoming.server import Connection, WyomingDoor
from wyoming_kokoro.wyoming.stream import StreamSession
from wyoming_kokoro.wyoming.wire import Request, RequestError, check_text, clip, parse

_LOGGER = logging.getLogger(__name__)


class KokoroEventHandler(Connection):
    """One client connection (Home Assistant opens one per request)."""

    def __init__(self, door: WyomingDoor, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        super().__init__(door, reader, writer)
        self.engine = door.service.engine
        self._stream: StreamSession | None = None
        self._warned: set[str] = set()

    def _warn(self, key: str, message: str, *args: object) -> None:
        """A client's repeated mistake is one warning per connection, then debug: a flood of
        bad events must not flood the log."""
        level = logging.DEBUG if key in self._warned else logging.WARNING
        self._warned.add(key)
        _LOGGER.log(level, message, *args)

    # -- connection hooks -------------------------------------------------------------------
    def busy(self) -> bool:
        return self._stream is not None and self._stream.busy

    async def hang_up(self, code: str, text: str, in_stream: bool = False) -> None:
        """The error, then `synthesize-stopped` if a stream was open (or `in_stream`: the
        client is inside one), so a streaming client never waits for it in vain."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.cancel()
        with contextlib.suppress(Exception):
            await self.send_error(code, text)
            if stream is not None or in_stream:
                await self.write_event(SynthesizeStopped().event())

    async def disconnect(self) -> None:
        if self._stream is not None:
            await self._stream.cancel()

    # -- events ---------------------------------------------------------------------------
    async def handle_event(self, event: Event) -> bool:
        """Parse (the client's mistakes end here), then act (a failure there is ours)."""
        if not self.config.streaming and not (Describe.is_type(event.type)
                                              or Synthesize.is_type(event.type)):
            return True  # streaming events are only honoured when advertised
        try:
            request = parse(event)
        except RequestError as err:
            return await self._on_malformed(event.type, err)
        if request is None:
            return True  # unknown events are ignored, never a reason to hang up
        try:
            return await self._dispatch(request)
        except (TimeoutError, ConnectionError):
            return False
        except Exception:
            _LOGGER.exception("Internal error handling a %s event", event.type)
            await self.hang_up("internal-error", f"internal server error handling {event.type};"
                               " the server log has the details",
                               in_stream=not isinstance(request, Describe | Synthesize))
            return False

    async def _dispatch(self, request: Request) -> bool:
        if isinstance(request, Describe):
            await self.write_event(self.door.info_event)
        elif isinstance(request, Synthesize):
            return await self._on_synthesize(request)
        elif isinstance(request, SynthesizeStart):
            await self._on_start(request)
        elif isinstance(request, SynthesizeChunk):
            await self._on_chunk(request)
        else:
            await self._on_stop()
        return True

    async def _on_malformed(self, event_type: str, err: RequestError) -> bool:
        if self._stream is not None and Synthesize.is_type(event_type):
            return True  # inside a stream, synthesize is only a copy, whatever it holds
        self._warn(f"malformed {event_type}", "%s", clip(str(err)))
        if self._stream is not None:  # the stream fails; stopped still comes at stop
            await self._stream.fail(err.code, str(err))
            return True
        await self.send_error(err.code, str(err))
        return not Synthesize.is_type(event_type)

    async def _on_synthesize(self, request: Synthesize) -> bool:
        if self._stream is not None:
            return True  # Home Assistant's backwards-compatible copy of the streamed text
        started = time.monotonic()
        try:
            text = prepare_text(check_text(request.text, self.limits.max_text_length),
                                request.text_format)
            if not text.strip():
                raise RequestError("empty-text", "nothing to speak: the text is empty")
            voice, language = resolve_voice(self.engine, request.voice)
        except RequestError as err:
            await self.send_error(err.code, str(err))
            return False  # non-streaming clients wait for audio-stop: close so they don't hang
        async with self.synthesis_slot():
            sender = AudioSender(self.write_event, self.config.samples_per_chunk)
            try:
                await sender.send(self.engine.stream([text], voice, language))
            except (TimeoutError, ConnectionError):
                raise
            except Exception as err:
                _LOGGER.exception("Synthesis failed")
                await self.send_error("synthesis-failed", f"synthesis failed: {err}")
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
            voice, language = resolve_voice(self.engine, start.voice)
            error = None
        except RequestError as err:
            voice, language = self.engine.select_voice(None, None)[0], None
            error = err
        self._stream = StreamSession(self, self.engine, voice, language, start.text_format,
                                     max_text_length=self.limits.max_text_length,
                                     samples_per_chunk=self.config.samples_per_chunk)
        if error is not None:
            await self._stream.fail(error.code, str(error))

    async def _on_chunk(self, chunk: SynthesizeChunk) -> None:
        if self._stream is None:
            self._warn("orphan chunk", "synthesize-chunk without synthesize-start; ignored")
            return
        await self._stream.add(chunk.text)

    async def _on_stop(self) -> None:
        if self._stream is not None:
            await self._stream.finish()  # should this fail, hang_up still sees the stream
            self._stream = None
        await self.write_event(SynthesizeStopped().event())
