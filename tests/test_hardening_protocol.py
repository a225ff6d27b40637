"""Hostile or broken Wyoming input over real TCP: malformed headers, wrong lengths, events out
of order, silent, vanishing and never-reading clients. The server must answer with a clear
`error` (or ignore the event), never hang, never leak work, and keep serving everyone else."""

from __future__ import annotations

import asyncio
import json

import pytest
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.synth.pipeline import Engine

from .hardening_support import (
    RawClient,
    ask,
    codes,
    describe_ok,
    fast_engine,
    no_work_tasks,
    raw_event,
    serving,
    settle,
)
from .support import ServerThread

SENTENCE = "Turned on the kitchen lights."


@pytest.fixture(scope="module")
def fast() -> Engine:
    return fast_engine()


@pytest.fixture(scope="module")
def server(fast: Engine):
    with serving(fast, idle_timeout=5.0, write_timeout=5.0) as thread:
        yield thread


def start() -> Event:
    return SynthesizeStart().event()


def chunk(text: str) -> Event:
    return SynthesizeChunk(text=text).event()


def stop() -> Event:
    return SynthesizeStop().event()


MALFORMED = {
    "not json": b"hello there\n",
    "json array": b"[1, 2, 3]\n",
    "no type": b'{"data": {}}\n',
    "type not a string": b'{"type": 7}\n',
    "data not an object": b'{"type": "synthesize", "data": [1]}\n',
    "negative data_length": b'{"type": "describe", "data_length": -5}\n',
    "float data_length": b'{"type": "describe", "data_length": 2.5}\n',
    "bool payload_length": b'{"type": "describe", "payload_length": true}\n',
    "string data_length": b'{"type": "describe", "data_length": "12"}\n',
    "NaN data_length": b'{"type": "describe", "data_length": NaN}\n',
    "huge data_length": b'{"type": "synthesize", "data_length": 99999999999}\n',
    "huge payload_length": b'{"type": "audio-chunk", "payload_length": 1073741824}\n',
    "not utf-8": b'{"type": "\xff\xfe\xfd"}\n',
    "header line over 64 KiB": b'{"type": "describe", "x": "' + b"a" * 70_000 + b'"}\n',
    "deeply nested header": b'{"type": "x", "data": ' + b"[" * 50_000 + b"\n",
    "deeply nested data": b'{"type": "synthesize", "data_length": 30000}\n' + b"[" * 30_000,
    "data not JSON": b'{"type": "synthesize", "data_length": 5}\nxxxxx',
    "data a JSON list": b'{"type": "synthesize", "data_length": 2}\n[]',
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_input_gets_protocol_error_and_close(server: ServerThread,
                                                              raw: bytes) -> None:
    reply = await ask(server.port, raw, timeout=10)
    assert codes(reply) == ["protocol-error"] and reply.closed
    assert await describe_ok(server.port)


async def test_truncated_event_then_eof_is_a_quiet_close(server: ServerThread) -> None:
    """data_length promises more than arrives: the describe is swallowed as data, and when
    the client hangs up the server closes without an answer instead of waiting."""
    client = await RawClient.connect(server.port)
    await client.send(b'{"type": "synthesize", "data_length": 500}\n{"te' + raw_event("describe"))
    client.writer.write_eof()
    reply = await client.read(timeout=10)
    await client.close()
    assert reply.types == [] and reply.closed


async def test_shorter_data_length_desyncs_into_a_protocol_error(server: ServerThread) -> None:
    body = json.dumps({"text": SENTENCE}).encode()
    raw = b'{"type": "synthesize", "data_length": 10}\n' + body
    reply = await ask(server.port, raw, timeout=10)
    assert codes(reply) == ["protocol-error"] and reply.closed


async def test_unknown_and_payload_carrying_events_are_ignored(server: ServerThread) -> None:
    reply = await ask(server.port, raw_event("made-up", {"a": 1}), raw_event("audio-chunk", {
        "rate": 1, "width": 2, "channels": 1}, b"\x00" * 2048), raw_event("transcript"),
        raw_event("describe"), until="info")
    assert reply.types == ["info"]


@pytest.mark.parametrize("data", [
    {"text": 5}, {"text": None}, {"voice": "af_heart"}, {"text": "hi", "voice": 5},
    {"text": "hi", "voice": {"name": 7}}, {"text": "hi", "voice": {"language": 3}},
    {"text": "hi", "text_format": 9}, {},
], ids=["text int", "text null", "no text", "voice int", "voice name int", "language int",
        "format int", "empty"])
async def test_malformed_synthesize_gets_error_and_close(server: ServerThread,
                                                         data: dict) -> None:
    reply = await ask(server.port, raw_event("synthesize", data), timeout=20)
    assert reply.closed and len(codes(reply)) == 1, reply.types
    assert codes(reply)[0] in ("bad-request", "bad-voice")


async def test_chunk_without_start_is_ignored(server: ServerThread) -> None:
    reply = await ask(server.port, chunk(SENTENCE), raw_event("describe"), until="info")
    assert reply.types == ["info"]


async def test_stop_without_start_only_acknowledges(server: ServerThread) -> None:
    reply = await ask(server.port, stop(), stop(), raw_event("describe"), until="info")
    assert reply.types == ["synthesize-stopped", "synthesize-stopped", "info"]


async def test_second_start_closes_the_first_audio_group(server: ServerThread) -> None:
    client = await RawClient.connect(server.port)
    try:
        await client.send(start())
        await client.send(chunk(" ".join([SENTENCE] * 40)))
        await client.read(until="audio-chunk")  # the first stream is speaking
        await client.send(start())
        await client.send(chunk("The second stream."))
        await client.send(stop())
        reply = await client.read(until="synthesize-stopped")
    finally:
        await client.close()
    types = reply.types
    assert types[-1] == "synthesize-stopped" and "error" not in types
    assert types.count("audio-start") == types.count("audio-stop") == 2
    first_stop = types.index("audio-stop")
    assert first_stop < types.index("audio-start", 1)  # groups never overlap


async def test_synthesize_during_a_stream_is_not_spoken_twice(server: ServerThread) -> None:
    alone = await ask(server.port, start(), chunk(SENTENCE), stop(), until="synthesize-stopped")
    both = await ask(server.port, start(), chunk(SENTENCE),
                     Synthesize(text=" ".join([SENTENCE] * 10)).event(), stop(),
                     until="synthesize-stopped")
    assert both.types.count("audio-start") == 1 and "error" not in both.types
    assert len(both.audio) == len(alone.audio)


async def test_malformed_chunk_fails_the_stream_cleanly(server: ServerThread) -> None:
    reply = await ask(server.port, start(), chunk(SENTENCE + " "),
                      raw_event("synthesize-chunk", {"txt": "no text key"}),
                      chunk("This must not be spoken after the error."), stop(),
                      until="synthesize-stopped")
    assert codes(reply) == ["bad-request"] and reply.types[-1] == "synthesize-stopped"
    after_error = reply.types[reply.types.index("error"):]
    assert "audio-chunk" not in after_error and "audio-start" not in after_error


async def test_silent_client_is_dropped_after_idle_timeout(fast: Engine) -> None:
    with serving(fast, idle_timeout=0.5) as thread:
        silent = await RawClient.connect(thread.port)
        reply = await silent.read(timeout=10)
        assert codes(reply) == ["idle-timeout"] and reply.closed
        half = await ask(thread.port, b'{"type": "descr', timeout=10)  # slowloris
        assert codes(half) == ["idle-timeout"] and half.closed
        assert await settle(thread, lambda: no_work_tasks(thread))


async def test_idle_stream_releases_its_synthesis_slot(fast: Engine) -> None:
    with serving(fast, idle_timeout=0.5, max_concurrent=1) as thread:
        idle = await RawClient.connect(thread.port)
        await idle.send(start())
        await idle.send(chunk(SENTENCE + " And then"))
        first = await idle.read(until="synthesize-stopped", timeout=15)
        assert first.types[0] == "audio-start" and codes(first) == ["idle-timeout"]
        assert first.types[-1] == "synthesize-stopped"
        other = await ask(thread.port, Synthesize(text=SENTENCE).event(), until="audio-stop",
                          timeout=15)
        assert other.types[-1] == "audio-stop" and len(other.audio) > 0
        await idle.close()


async def test_slow_reader_is_judged_by_the_write_timeout_not_idle(fast: Engine) -> None:
    """A client that pauses reading a long answer, sending nothing, is not idle: the server
    is still writing to it. Only --write-timeout may drop it."""
    with serving(fast, sndbuf=4096, idle_timeout=0.3, write_timeout=10.0) as thread:
        client = await RawClient.connect(thread.port, rcvbuf=4096)
        await client.send(start())
        await client.send(chunk("[pause:10s] " * 5 + SENTENCE + " "))
        await client.read(until="audio-chunk", timeout=10)
        await asyncio.sleep(1.5)  # reads nothing, sends nothing: 5× the idle timeout
        received = 0
        while received < 2 * 24000 * 50 and not client.reply.closed:  # 50 s of pauses
            await client.read(until="audio-chunk", timeout=30)
            received += len(client.reply.events[-1].payload or b"")
        await client.send(stop())
        reply = await client.read(until="synthesize-stopped", timeout=10)
        await client.close()
    assert "error" not in reply.types and reply.types[-1] == "synthesize-stopped"
    assert len(reply.audio) > 24000 * 50


@pytest.mark.parametrize("streaming", [False, True])
async def test_disconnect_mid_synthesis_stops_all_work(fast: Engine, streaming: bool) -> None:
    text = " ".join([SENTENCE] * 60)
    with serving(fast) as thread:
        for _ in range(3):
            client = await RawClient.connect(thread.port)
            events = [start(), chunk(text), stop()] if streaming else [
                Synthesize(text=text).event()]
            for event in events:
                await client.send(event)
            await client.read(until="audio-chunk")
            client.writer.transport.abort()  # vanish without a goodbye
            assert await settle(thread, lambda: no_work_tasks(thread)), "work left running"
        assert await describe_ok(thread.port)


class _CountingEngine:
    """The engine, counting PCM bytes its streams produce."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.produced = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    async def stream(self, *args: object, **kwargs: object):
        async for pcm in self._engine.stream(*args, **kwargs):
            self.produced += len(pcm)
            yield pcm


@pytest.mark.parametrize("mode", ["synthesize", "stream", "stream without stop"])
async def test_client_that_never_reads_cannot_pin_audio(fast: Engine, mode: str) -> None:
    counting = _CountingEngine(fast)
    pauses = "Hello. " + "[pause:10s] " * 100 + "Done. "  # 1000 s of audio: 48 MB of PCM
    with serving(counting, sndbuf=4096, write_timeout=1.0) as thread:  # type: ignore[arg-type]
        client = await RawClient.connect(thread.port, rcvbuf=4096)
        events = {"synthesize": [Synthesize(text=pauses).event()],
                  "stream": [start(), chunk(pauses), stop()],
                  "stream without stop": [start(), chunk(pauses)]}[mode]
        for event in events:
            await client.send(event)
        assert await settle(thread, lambda: counting.produced > 0)  # it did start speaking
        assert await settle(thread, lambda: no_work_tasks(thread), timeout=20), \
            "the server kept a dead reader's request alive"
        produced = counting.produced
        await client.close()
        assert await describe_ok(thread.port)
    total = 48_000_000
    print(f"never-reading client: {produced / 1e6:.1f} MB of {total / 1e6:.0f} MB produced "
          "before the write timeout dropped it")
    assert produced < 2_000_000  # socket buffers + the engine's prefetch, not the answer


async def test_text_limit_is_checked_before_the_wire_limit(fast: Engine) -> None:
    """A raised --max-text-length must not be capped by the event size limit: escaped JSON
    takes up to 12 bytes per character, so 400,000 astral symbols are 4.8 MB on the wire."""
    with serving(fast, max_text_length=400_000) as thread:
        at_limit = await ask(thread.port, raw_event("synthesize", {"text": "𝄞" * 400_000}),
                             until="audio-stop", timeout=60)
        over = await ask(thread.port, raw_event("synthesize", {"text": "𝄞" * 400_001}),
                         timeout=60)
    assert at_limit.types == ["audio-start", "audio-stop"]  # spoken: symbols are silence
    assert codes(over) == ["text-too-long"] and over.closed


async def test_stream_without_sentence_ends_keeps_per_chunk_work_bounded(
        fast: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sentence detector rescans its pending text on every chunk: 6,000 chunks with no
    full stop must not pile up into one ever-growing pending text (quadratic event-loop work
    that would stall every other client)."""
    from wyoming_kokoro.text.sentences import MAX_PENDING, SentenceStreamer
    from wyoming_kokoro.wyoming import stream as stream_module

    pending: list[int] = []

    class Recording(SentenceStreamer):
        fed = 0

        def add(self, chunk: str) -> list[str]:
            sentences = super().add(chunk)
            self.fed = 0 if sentences else self.fed + len(chunk)
            pending.append(self.fed)
            return sentences

    monkeypatch.setattr(stream_module, "SentenceStreamer", Recording)
    with serving(fast) as thread:
        client = await RawClient.connect(thread.port)
        await client.send(start())
        for _ in range(6000):
            client.writer.write(raw_event("synthesize-chunk", {"text": "w, "}))
        await client.writer.drain()
        await client.send(raw_event("describe"))
        reply = await client.read(until="info", timeout=60)
        await client.close()
    assert reply.types[-1] == "info" and "error" not in reply.types
    assert len(pending) == 6000
    assert max(pending) <= 2 * MAX_PENDING, max(pending)  # not 18,000


async def test_a_flood_of_bad_events_is_one_warning(server: ServerThread) -> None:
    """Thousands of orphan chunks, restarts and malformed chunks: the log gets one line for
    each kind of mistake, not one per event (a home server's log is not a DoS target)."""
    import logging

    from .hardening_support import LogSpy

    spy = LogSpy(logging.WARNING)
    flood = [raw_event("synthesize-chunk", {"text": "x"})] * 2000
    flood += [raw_event("synthesize-start")] * 200
    flood += [raw_event("synthesize-chunk", {"nope": 1})] * 500
    with spy.installed():
        reply = await ask(server.port, b"".join(flood), raw_event("describe"), until="info",
                          timeout=60)
    assert reply.types[-1] == "info"
    texts = [t for t in spy.texts() if t.startswith("wyoming_kokoro.wyoming.")]
    assert len(texts) <= 3, texts[:5]
