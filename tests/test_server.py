"""The Wyoming server over real TCP with the wyoming client, driven as Home Assistant does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

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

from wyoming_kokoro import __version__, audio
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine

from .hardening_support import ask, fast_engine, serving, settle
from .http_support import PhonemeGate
from .support import ServerThread, exchange

SHORT = "Turned on the kitchen lights."
TWO = "Turned on the kitchen lights. The temperature in the living room is twenty one degrees."


@pytest.fixture(scope="module")
def fast_server() -> Iterator[ServerThread]:
    """A server over the synthetic model: renders in microseconds, and the same request
    always gives the same samples, so audio can be compared exactly."""
    with serving(fast_engine()) as thread:
        yield thread


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


async def test_describe_is_answered_while_synthesizing(server: ServerThread) -> None:
    """Describes are answered while three syntheses are provably in progress: each holds at
    a sentence whose phonemizing waits on a gate, so none can finish before it opens.
    (Latency is printed, not asserted: speed is the benchmarks' job.)"""
    held = TWO + " Zanzibar is far away. " + TWO
    with PhonemeGate(server.engine, "Zanzibar") as gate:
        busy = [asyncio.create_task(exchange(server.uri, [Synthesize(text=held).event()],
                                             until="audio-stop", timeout=240))
                for _ in range(3)]
        # a synthesis is inside the engine, at the gate
        assert await settle(server, lambda: gate.held > 0, timeout=120)
        latencies = []
        for _ in range(10):
            started = time.monotonic()
            reply = await exchange(server.uri, [Describe().event()], until="info", timeout=30)
            latencies.append(time.monotonic() - started)
            assert reply.types == ["info"]
        assert gate.passed == 0 and not any(t.done() for t in busy)  # all still speaking
        gate.open()
        replies = await asyncio.gather(*busy)
    assert all(r.types[-1] == "audio-stop" and "error" not in r.types for r in replies)
    print(f"\ndescribe while synthesizing: max {max(latencies) * 1000:.0f} ms")


async def _pcm(port: int, text: str, voice: SynthesizeVoice | None) -> bytes:
    reply = await ask(port, Synthesize(text=text, voice=voice).event(), until="audio-stop")
    assert reply.types[-1] == "audio-stop" and "error" not in reply.types, reply.types
    return b"".join(e.payload or b"" for e in reply.events if e.type == "audio-chunk")


def _direct(engine: Engine, text: str, voice: str, language: str) -> bytes:
    """The engine's own rendering, no server in between (deterministic on this engine)."""
    samples = engine.synthesize(text, engine.voices.voices[voice], language)
    return audio.to_pcm16(samples, engine.options.volume)


async def test_voice_by_language_alone(fast_server: ServerThread) -> None:
    """A language alone picks that language's voice and speaks that language: the audio is
    the engine's rendering with the Spanish voice, not the default voice's."""
    text = "Hola, ¿cómo estás?"
    engine = fast_server.engine
    spanish = engine.voices.for_language("e")
    assert spanish is not None and engine.default_voice != spanish.name
    pcm = await _pcm(fast_server.port, text, SynthesizeVoice(language="es"))
    assert pcm == _direct(engine, text, spanish.name, "e")
    assert pcm != _direct(engine, text, engine.default_voice, "a")


async def test_named_voice_is_used_and_unknown_falls_back_to_default(fast_server: ServerThread
                                                                     ) -> None:
    engine = fast_server.engine
    other = engine.voices.voices["bf_emma"]
    named = await _pcm(fast_server.port, SHORT, SynthesizeVoice(name=other.name))
    unknown = await _pcm(fast_server.port, SHORT, SynthesizeVoice(name="no_such_voice"))
    assert named == _direct(engine, SHORT, other.name, other.language)
    assert unknown == _direct(engine, SHORT, engine.default_voice, "a")
    assert named != unknown  # two voices, two renderings: an ignored name would not pass


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
