"""Wyoming timing client for the benchmark: one request per connection (as Home Assistant does),
every audio-chunk stamped on arrival, so latency and playback continuity are computed from what
a real client saw rather than from server-side logs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from wyoming.audio import AudioChunk
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

_WORD_RE = re.compile(r"\S+\s*")


class BenchError(RuntimeError):
    """The server did not answer as the protocol says (error event, early close, timeout)."""


@dataclass
class Continuity:
    """How playback would have gone for a client that starts playing at the first chunk."""

    worst_deficit_s: float  # max of arrival − (first arrival + audio before it); > 0: a gap
    underruns: int  # times a rebuffering player ran dry
    stall_s: float  # total time that player waited
    longest_s: float = 0.0  # its longest single wait


@dataclass
class Timing:
    """One request as the client saw it; times are seconds after the first event was sent."""

    mode: str  # "synthesize" or "stream"
    ref_s: float  # when the server could start: text sent / first sentence's last word sent
    text_done_s: float  # when the last text event was sent
    arrivals: list[float] = field(default_factory=list)  # per audio-chunk
    durations: list[float] = field(default_factory=list)  # audio seconds per chunk
    end_s: float = 0.0  # audio-stop (synthesize) or synthesize-stopped (stream)
    began: float = 0.0  # time.perf_counter() when the first event was sent (aligns clients)

    @property
    def ttfa_s(self) -> float:
        return self.arrivals[0] - self.ref_s

    @property
    def ttla_s(self) -> float:
        return self.arrivals[-1] - self.ref_s

    @property
    def audio_s(self) -> float:
        return sum(self.durations)

    @property
    def last_audio_at(self) -> float:
        """perf_counter() time of the last audio-chunk (when the client had all its audio)."""
        return self.began + self.arrivals[-1]

    @property
    def stop_lag_s(self) -> float:
        """Last audio-chunk → end event: the client waits this long to learn it has it all."""
        return self.end_s - self.arrivals[-1]

    @property
    def rtf(self) -> float:
        """Wall time from the moment the server could start to the last audio, per audio second."""
        return self.ttla_s / self.audio_s if self.audio_s else float("inf")

    def continuity(self) -> Continuity:
        return continuity(self.arrivals, self.durations)

    def as_dict(self) -> dict[str, float | int | str]:
        c = self.continuity()
        return {
            "mode": self.mode, "ref_s": self.ref_s, "text_done_s": self.text_done_s,
            "ttfa_s": self.ttfa_s, "ttla_s": self.ttla_s, "end_s": self.end_s,
            "stop_lag_s": self.stop_lag_s,
            "audio_s": self.audio_s, "chunks": len(self.arrivals), "rtf": self.rtf,
            "worst_deficit_s": c.worst_deficit_s, "underruns": c.underruns, "stall_s": c.stall_s,
            "longest_gap_s": c.longest_s,
        }


def continuity(arrivals: list[float], durations: list[float]) -> Continuity:
    """Strict deficit (no rebuffering: did each chunk beat the end of the audio already
    received?) plus a rebuffering player's stall count and time, which is what a listener hears."""
    if not arrivals:
        return Continuity(0.0, 0, 0.0)
    start = arrivals[0]
    received = durations[0]
    worst = -received  # a lone chunk: the whole reply is margin (later chunks are all ≥ this)
    play_end = start + durations[0]
    underruns, stall, longest = 0, 0.0, 0.0
    for arrival, duration in zip(arrivals[1:], durations[1:], strict=True):
        worst = max(worst, arrival - (start + received))
        received += duration
        if arrival > play_end:
            underruns += 1
            stall += arrival - play_end
            longest = max(longest, arrival - play_end)
            play_end = arrival
        play_end += duration
    return Continuity(worst, underruns, stall, longest)


class Connection:
    """One Wyoming connection (tcp or unix), optionally from a chosen loopback source address,
    so that concurrent bench clients look like distinct devices to per-address limits."""

    def __init__(self, uri: str, source: str | None = None) -> None:
        self.uri = uri
        self.source = source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        parsed = urlparse(self.uri)
        if parsed.scheme == "unix":
            self.reader, self.writer = await asyncio.open_unix_connection(
                parsed.netloc + parsed.path)
        elif parsed.scheme == "tcp":
            self.reader, self.writer = await asyncio.open_connection(
                parsed.hostname, parsed.port,
                local_addr=(self.source, 0) if self.source else None)
        else:
            raise BenchError(f"unsupported URI {self.uri!r} (tcp:// or unix://)")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def read_event(self) -> Event | None:
        return await async_read_event(self.reader)

    async def write_event(self, event: Event) -> None:
        await async_write_event(event, self.writer)


async def distinct_sources(uri: str, count: int) -> list[str | None]:
    """127.0.0.2, 127.0.0.3, … when the server is on IPv4 loopback and the system routes
    all of 127/8 (Linux does); otherwise one address for all (None: the system's choice)."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or not (parsed.hostname or "").startswith("127."):
        return [None] * count
    sources = [f"127.0.0.{2 + i}" for i in range(count)]
    try:
        for source in sources:
            await describe(uri, timeout=10.0, source=source)
    except OSError:
        return [None] * count
    return sources


def words(text: str) -> list[str]:
    """Word pieces as an LLM stream would deliver them, each keeping its trailing space."""
    return _WORD_RE.findall(text.strip())


async def _read_until(client: Connection, until: str, timing: Timing, start: float) -> None:
    while True:
        event = await client.read_event()
        now = time.perf_counter() - start
        if event is None:
            raise BenchError(f"server closed the connection before {until}")
        if Error.is_type(event.type):
            err = Error.from_event(event)
            raise BenchError(f"server error {err.code}: {err.text}")
        if AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            timing.arrivals.append(now)
            timing.durations.append(len(chunk.audio) / (chunk.width * chunk.channels * chunk.rate))
        elif event.type == until:
            timing.end_s = now
            if not timing.arrivals:
                raise BenchError(f"{until} without any audio-chunk")
            return


async def synthesize(uri: str, text: str, timeout: float, source: str | None = None) -> Timing:
    """One `synthesize` request; TTFA counts from the moment the text was sent."""
    async with asyncio.timeout(timeout), Connection(uri, source) as client:
        start = time.perf_counter()
        await client.write_event(Synthesize(text=text).event())
        timing = Timing("synthesize", 0.0, time.perf_counter() - start, began=start)
        await _read_until(client, "audio-stop", timing, start)
        return timing


async def stream(uri: str, text: str, first_sentence_words: int, words_per_second: float,
                 timeout: float, source: str | None = None) -> Timing:
    """Home Assistant's streaming sequence with the text arriving word by word like an LLM's;
    TTFA counts from when the first sentence's last word was sent (the earliest the server can
    know the sentence is complete)."""
    pieces = words(text)
    reference = max(1, min(first_sentence_words, len(pieces)))
    async with asyncio.timeout(timeout), Connection(uri, source) as client:
        start = time.perf_counter()
        timing = Timing("stream", 0.0, 0.0, began=start)

        async def send() -> None:
            await client.write_event(SynthesizeStart().event())
            for i, piece in enumerate(pieces):
                delay = start + i / words_per_second - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await client.write_event(SynthesizeChunk(text=piece).event())
                if i + 1 == reference:
                    timing.ref_s = time.perf_counter() - start
            await client.write_event(Synthesize(text=text).event())  # HA's compatibility copy
            await client.write_event(SynthesizeStop().event())
            timing.text_done_s = time.perf_counter() - start

        sender = asyncio.create_task(send())
        try:
            await _read_until(client, "synthesize-stopped", timing, start)
            await sender
        finally:
            sender.cancel()
        return timing


async def describe(uri: str, timeout: float = 10.0, source: str | None = None) -> float:
    """Seconds from connecting to receiving `info`, on a fresh connection (as a health check)."""
    async with asyncio.timeout(timeout):
        start = time.perf_counter()
        async with Connection(uri, source) as client:
            await client.write_event(Describe().event())
            while (event := await client.read_event()) is not None:
                if Info.is_type(event.type):
                    return time.perf_counter() - start
        raise BenchError("server closed the connection before info")

