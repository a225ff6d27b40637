"""Helpers for the HTTP API tests: the API on a test server's loop, a raw chunked-HTTP client,
and a gate that holds a sentence's phonemizing so tests can check ordering without timing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from wyoming_kokoro.speech_api.server import HttpApi
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.synth.playout import Playout

from .support import ServerThread, open_loopback


@contextmanager
def http_on(thread: ServerThread, api_key: str | None = None) -> Iterator[int]:
    """The HTTP API on the thread's service and loop, on a free loopback port."""
    assert thread.service is not None
    api = HttpApi(thread.service, api_key)
    port = asyncio.run_coroutine_threadsafe(api.start("127.0.0.1", 0), thread.loop).result(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), thread.loop).result(30)


_FEASIBLE = Playout.feasible


class PhonemeGate:
    """Holds every phonemizing of text containing `word` until `open()` (or 30 s pass): the
    sentence after the first cannot be rendered while the gate is shut. Meanwhile the engine
    streams as on a machine faster than real time (a slower one would hold the first audio
    until the text is rendered: gap-free first, see engine/playout.py)."""

    def __init__(self, engine: Engine, word: str) -> None:
        self.engine = engine
        self.word = word
        self.opened = threading.Event()
        self.held = 0  # gated calls that arrived
        self.passed = 0  # gated calls that went on to render
        self._original = engine.phonemize

    def _phonemize(self, text: object, language: str) -> str:
        joined = text if isinstance(text, str) else " ".join(s.text for s in text)  # type: ignore[attr-defined]
        if self.word in joined:
            self.held += 1
            self.opened.wait(30)
            self.passed += 1
        return self._original(text, language)  # type: ignore[arg-type]

    def open(self) -> None:
        self.opened.set()

    def __enter__(self) -> PhonemeGate:
        self.engine.phonemize = self._phonemize  # type: ignore[method-assign]
        Playout.feasible = lambda playout, *plan: True  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.opened.set()
        del self.engine.phonemize  # the class's method again
        Playout.feasible = _FEASIBLE  # type: ignore[method-assign]


@dataclass
class ChunkedReply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False  # the terminating zero-size chunk arrived

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class RawHttp:
    """HTTP/1.1 by hand over one socket, reading a chunked body chunk by chunk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reply = ChunkedReply()

    @classmethod
    async def connect(cls, port: int, rcvbuf: int | None = None,
                      source: str = "127.0.0.1") -> RawHttp:
        return cls(*await open_loopback(port, source, rcvbuf))

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        await self.writer.drain()

    async def read_head(self) -> ChunkedReply:
        status = await self.reader.readline()
        self.reply.status = int(status.split()[1])
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            self.reply.headers[key.strip().lower()] = value.strip()
        return self.reply

    async def read_chunk(self) -> bytes | None:
        """The next chunk's data; None after the last (zero-size) chunk."""
        size = int((await self.reader.readline()).split(b";")[0], 16)
        data = await self.reader.readexactly(size + 2)
        if size == 0:
            self.reply.complete = True
            return None
        self.reply.chunks.append(data[:-2])
        return data[:-2]

    async def read_rest(self) -> ChunkedReply:
        while await self.read_chunk() is not None:
            pass
        return self.reply

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass
