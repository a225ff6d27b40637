"""The OpenAI-compatible HTTP API over real sockets: the official `openai` client, raw chunked
HTTP, bad input, auth, limits, and a Wyoming stream beside an HTTP request."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from wyoming.client import AsyncClient
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.engine.synth import Engine

from .http_support import PhonemeGate, RawHttp, http_on
from .support import ServerThread, exchange, transcribe, word_error_rate

SPEECH = "/v1/audio/speech"
GATED = "The second sentence waits at the Zanzibar gate. Then it ends."


def pcm_of(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2")


def wav_pcm(data: bytes) -> bytes:
    """The samples of a streamed WAV, after checking its header field by field."""
    riff, riff_size, wave, fmt, fmt_size, tag, channels, rate, byte_rate, align, bits, \
        data_id, data_size = struct.unpack("<4sI4s4sIHHIIHH4sI", data[:44])
    assert (riff, wave, fmt, data_id) == (b"RIFF", b"WAVE", b"fmt ", b"data")
    assert (fmt_size, tag, channels, rate, byte_rate, align, bits) == (16, 1, 1, 24000, 48000,
                                                                       2, 16)
    assert riff_size == data_size == 0xFFFFFFFF, "sizes of a stream of unknown length"
    return data[44:]


# ---- the real model (offline bundle) -------------------------------------------------------

@pytest.fixture(scope="module")
def http_port(server: ServerThread) -> Iterator[int]:
    with http_on(server) as port:
        yield port


@pytest.mark.slow
def test_openai_client_streams_speech_like_wyoming(server: ServerThread, http_port: int,
                                                   engine: Engine) -> None:
    """The official client, streaming: a WAV of intelligible speech, sample for sample what
    the Wyoming side says for the same text and voice."""
    text = "The weather today is sunny with a light breeze."
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{http_port}/v1", api_key="unused")
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="af_alpha", input=text, response_format="wav",
            instructions="ignored") as response:
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["transfer-encoding"] == "chunked"
        body = b"".join(response.iter_bytes())
    pcm = pcm_of(wav_pcm(body))
    assert len(pcm) > 24000
    wyoming = asyncio.run(exchange(server.uri, [Synthesize(text=text).event()],
                                   until="audio-stop"))
    assert wyoming.types[-1] == "audio-stop"
    assert np.array_equal(pcm, (wyoming.audio * 32768).astype("<i2"))
    assert word_error_rate(text, transcribe(pcm.astype(np.float32) / 32768)) <= 0.2


@pytest.mark.slow
async def test_first_bytes_leave_before_the_rest_is_rendered(http_port: int,
                                                             engine: Engine) -> None:
    """Plain HTTP, chunk by chunk: audio of the first sentence arrives while the second
    cannot even be phonemized (ordering, not timing)."""
    with PhonemeGate(engine, "Zanzibar") as gate:
        client = await RawHttp.connect(http_port)
        await client.post(SPEECH, json.dumps({"input": "Hello from the first sentence. " + GATED,
                                              "voice": "af_alpha",
                                              "response_format": "pcm"}).encode())
        head = await asyncio.wait_for(client.read_head(), 60)
        assert head.status == 200 and head.headers["transfer-encoding"] == "chunked"
        assert head.headers["content-type"] == "audio/pcm"
        first = await asyncio.wait_for(client.read_chunk(), 60)
        assert first, "audio before the end"
        assert gate.passed == 0, "the second sentence is not rendered yet"
        gate.open()
        reply = await asyncio.wait_for(client.read_rest(), 60)
        await client.close()
    assert reply.complete and gate.passed == 1
    assert len(reply.body) > len(first) and len(reply.body) % 2 == 0


@pytest.mark.slow
async def test_wyoming_stream_and_http_request_at_once(server: ServerThread, http_port: int,
                                                      engine: Engine) -> None:
    """Both get their first audio while each one's second sentence is held, so neither waits
    for the other to finish; then both complete with audio."""
    wyoming_audio = asyncio.Event()

    async def wyoming() -> list[str]:
        types: list[str] = []
        async with AsyncClient.from_uri(server.uri) as client:
            for event in (SynthesizeStart().event(),
                          SynthesizeChunk(text="Wyoming speaks first here. ").event(),
                          SynthesizeChunk(text="Now the Zanzibar part. ").event(),
                          SynthesizeStop().event()):
                await client.write_event(event)
            async with asyncio.timeout(120):
                while (event := await client.read_event()) is not None:
                    types.append(event.type)
                    if event.type == "audio-chunk":
                        wyoming_audio.set()
                    if event.type == "synthesize-stopped":
                        break
        return types

    with PhonemeGate(engine, "Zanzibar") as gate:
        http = await RawHttp.connect(http_port)
        await http.post(SPEECH, json.dumps({"input": "HTTP speaks first here. " + GATED,
                                            "voice": "af_alpha",
                                            "response_format": "pcm"}).encode())
        wyoming_task = asyncio.create_task(wyoming())
        head = await asyncio.wait_for(http.read_head(), 60)
        assert head.status == 200
        assert await asyncio.wait_for(http.read_chunk(), 60)
        await asyncio.wait_for(wyoming_audio.wait(), 60)
        assert gate.passed == 0, "both first audios came while both second sentences waited"
        gate.open()
        reply = await asyncio.wait_for(http.read_rest(), 120)
        types = await asyncio.wait_for(wyoming_task, 120)
        await http.close()
    assert reply.complete and len(reply.body) > 48000
    assert types.count("audio-start") == 1 and types[-2:] == ["audio-stop", "synthesize-stopped"]
    assert types.count("audio-chunk") > 10
    assert gate.held == 2
