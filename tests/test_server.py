"""The Wyoming server over real TCP with the wyoming client, driven as Home Assistant does."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from wyoming_kokoro import __version__
from wyoming_kokoro.settings import Settings

from .support import ServerThread, exchange

SHORT = "Turned on the kitchen lights."
TWO = "Turned on the kitchen lights. The temperature in the living room is twenty one degrees."


def ha_stream(text: str, voice: str | None = None, pieces: list[str] | None = None
              ) -> list[Event]:
    """Home Assistant's exact sequence: start, chunks, compat synthesize, stop."""
    v = SynthesizeVoice(name=voice) if voice else None
    chunks = pieces if pieces is not None else [text]
    return [SynthesizeStart(voice=v).event(), *(SynthesizeChunk(text=c).event() for c in chunks),
            Synthesize(text=text, voice=v).event(), SynthesizeStop().event()]


async def test_describe_lists_voices_with_languages(server: ServerThread) -> None:
    reply = await exchange(server.uri, [Describe().event()], until="info")
    info = Info.from_event(reply.events[-1])
    (program,) = info.tts
    assert program.name == "kokoro" and program.installed and program.version == __version__
    assert program.supports_synthesize_streaming
    voices = {v.name: v for v in program.voices}
    assert voices["af_alpha"].languages == ["en_US"]
    assert voices["jf_alpha"].languages == ["ja_JP"]
    assert voices["bf_alpha"].languages == ["en_GB"]
    assert voices["af_mix"].languages == ["en_US"]  # the configured blend is advertised
    assert "American English" in voices["af_alpha"].description
    locales = {lang for v in program.voices for lang in v.languages}
    assert locales == {"en_US", "en_GB", "es_ES", "fr_FR", "hi_IN", "it_IT", "ja_JP", "pt_BR",
                       "zh_CN"}


async def test_synthesize_returns_one_audio_group(server: ServerThread) -> None:
    reply = await exchange(server.uri, [Synthesize(text=SHORT).event()], until="audio-stop")
    types = reply.types
    assert types[0] == "audio-start" and types[-1] == "audio-stop"
    assert set(types[1:-1]) == {"audio-chunk"}
    start = reply.events[0].data
    assert (start["rate"], start["width"], start["channels"]) == (24000, 2, 1)
    assert all(e.data["rate"] == 24000 for e in reply.events[1:-1])
    seconds = len(reply.audio) / 24000
    assert 0.8 < seconds < 4.0
    assert np.sqrt(np.mean(reply.audio**2)) > 0.01


async def test_chunk_size_is_configurable(engine) -> None:
    thread = ServerThread(engine, Settings(samples_per_chunk=512)).start()
    try:
        reply = await exchange(thread.uri, [Synthesize(text="Hello.").event()],
                               until="audio-stop")
    finally:
        thread.stop()
    sizes = [len(e.payload) for e in reply.events if e.type == "audio-chunk"]
    assert sizes and all(s == 1024 for s in sizes[:-1]) and sizes[-1] <= 1024


async def test_home_assistant_stream_speaks_once(server: ServerThread) -> None:
    words = [w + " " for w in TWO.split(" ")]
    stream = await exchange(server.uri, ha_stream(TWO, "af_alpha", words))
    once = await exchange(server.uri, [Synthesize(text=TWO, voice=SynthesizeVoice(
        name="af_alpha")).event()], until="audio-stop")
    assert stream.types[-1] == "synthesize-stopped"
    assert stream.types.count("audio-start") == 1 and stream.types.count("audio-stop") == 1
    assert stream.types.index("audio-stop") < stream.types.index("synthesize-stopped")
    # the compat synthesize was ignored: about the same audio as one plain synthesis
    assert abs(len(stream.audio) - len(once.audio)) < 0.25 * len(once.audio)


async def test_audio_arrives_before_stop_once_a_sentence_is_complete(server: ServerThread
                                                                      ) -> None:
    async with AsyncClient.from_uri(server.uri) as client:
        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="Turned on the kitchen lights. ").event())
        await client.write_event(SynthesizeChunk(text="And now").event())
        async with asyncio.timeout(20):
            first = await client.read_event()
            while first is not None and first.type != "audio-chunk":
                first = await client.read_event()
        assert first is not None and first.type == "audio-chunk"  # no stop sent yet
        await client.write_event(SynthesizeChunk(text=" the rest.").event())
        await client.write_event(SynthesizeStop().event())
        async with asyncio.timeout(30):
            while (event := await client.read_event()) is not None:
                if event.type == "synthesize-stopped":
                    break
        assert event is not None and event.type == "synthesize-stopped"


async def test_describe_is_fast_while_synthesizing(server: ServerThread) -> None:
    long_text = " ".join([TWO] * 3)
    busy = [asyncio.create_task(exchange(server.uri, [Synthesize(text=long_text).event()],
                                         until="audio-stop", timeout=240)) for _ in range(3)]
    await asyncio.sleep(0.5)
    latencies = []
    for _ in range(10):
        started = time.monotonic()
        reply = await exchange(server.uri, [Describe().event()], until="info")
        latencies.append(time.monotonic() - started)
        assert reply.types == ["info"]
        await asyncio.sleep(0.05)
    assert any(not t.done() for t in busy)  # the load really overlapped the describes
    await asyncio.gather(*busy)
    assert max(latencies) < 1.0  # HA's per-attempt limit; typical values are milliseconds


async def test_voice_by_language_alone(server: ServerThread, engine) -> None:
    event = Synthesize(text="Hola, ¿cómo estás?", voice=SynthesizeVoice(language="es")).event()
    reply = await exchange(server.uri, [event], until="audio-stop")
    assert len(reply.audio) > 12000


async def test_unknown_voice_falls_back_to_default(server: ServerThread) -> None:
    event = Synthesize(text=SHORT, voice=SynthesizeVoice(name="no_such_voice")).event()
    reply = await exchange(server.uri, [event], until="audio-stop")
    assert "error" not in reply.types and len(reply.audio) > 12000


async def test_empty_text_gives_error_and_closes(server: ServerThread) -> None:
    reply = await exchange(server.uri, [Synthesize(text="   ").event()], until=None)
    assert reply.types == ["error"] and reply.closed
    assert reply.events[0].data["code"] == "empty-text"


async def test_over_long_text_gives_error(server: ServerThread) -> None:
    reply = await exchange(server.uri, [Synthesize(text="word " * 2000).event()], until=None)
    assert reply.types == ["error"] and reply.events[0].data["code"] == "text-too-long"


async def test_streaming_errors_still_end_with_stopped(server: ServerThread) -> None:
    empty = await exchange(server.uri, ha_stream("", pieces=["  "]))
    assert empty.types == ["error", "synthesize-stopped"]
    too_long = await exchange(server.uri, ha_stream("x", pieces=["word " * 600] * 3))
    assert too_long.types[-1] == "synthesize-stopped" and "error" in too_long.types
    assert too_long.events[too_long.types.index("error")].data["code"] == "text-too-long"


async def test_unknown_events_are_ignored(server: ServerThread) -> None:
    events = [Event(type="select-program", data={"name": "x"}), Event(type="made-up"),
              Describe().event()]
    reply = await exchange(server.uri, events, until="info")
    assert reply.types == ["info"]


async def test_disconnect_mid_stream_leaves_server_serving(server: ServerThread) -> None:
    for _ in range(2):
        async with AsyncClient.from_uri(server.uri) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text=TWO + " " + TWO).event())
            await client.write_event(SynthesizeStop().event())
            await client.read_event()  # audio has started; now vanish
    reply = await exchange(server.uri, [Synthesize(text=SHORT).event()], until="audio-stop")
    assert reply.types[-1] == "audio-stop" and len(reply.audio) > 12000


async def test_ssml_is_spoken_as_text(server: ServerThread) -> None:
    event = Synthesize(text="<speak>Turned on <emphasis>the</emphasis> lights.</speak>",
                       text_format="ssml").event()
    reply = await exchange(server.uri, [event], until="audio-stop")
    assert "error" not in reply.types and len(reply.audio) > 12000


@pytest.mark.parametrize("streaming", [False])
async def test_no_streaming_flag(engine, streaming: bool) -> None:
    thread = ServerThread(engine, Settings(streaming=streaming)).start()
    try:
        reply = await exchange(thread.uri, [Describe().event()], until="info")
    finally:
        thread.stop()
    assert Info.from_event(reply.events[-1]).tts[0].supports_synthesize_streaming is False
