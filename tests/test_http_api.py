"""The OpenAI-compatible HTTP API over real sockets: the official `openai` client, raw chunked
HTTP, bad input, auth, limits, and a Wyoming stream beside an HTTP request."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import av
import numpy as np
import openai
import pytest
from wyoming.client import AsyncClient
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.settings import parse_settings
from wyoming_kokoro.speech_api import encoders
from wyoming_kokoro.speech_api import server as http_api
from wyoming_kokoro.speech_api.request import OPENAI_VOICES
from wyoming_kokoro.synth.pipeline import Engine

from .hardening_support import (
    FaultyModel,
    RawClient,
    build_fast_engine,
    cli_env,
    fast_assets,
    free_port,
    on_loop,
    serving,
    settle,
    start_cli,
    wait_listening,
)
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


# ---- the synthetic model: formats, input, auth, limits -------------------------------------

@pytest.fixture(scope="module")
def fast_pair() -> Iterator[tuple[Engine, FaultyModel]]:
    engine, model = build_fast_engine()
    engine.warm_up()
    yield engine, model
    engine.close()


@pytest.fixture(scope="module")
def fast_http(fast_pair: tuple[Engine, FaultyModel]) -> Iterator[tuple[ServerThread, int]]:
    with serving(fast_pair[0], max_text_length=400, write_timeout=5.0) as thread, \
            http_on(thread) as port:
        yield thread, port


def speak(port: int, **fields: object) -> tuple[int, dict | bytes, dict]:
    """POST /v1/audio/speech with urllib-free aiohttp; (status, JSON error or body, headers)."""
    async def post() -> tuple[int, dict | bytes, dict]:
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}{SPEECH}", json=fields) as response:
            body = await response.read()
            if response.content_type == "application/json":
                return response.status, json.loads(body), dict(response.headers)
            return response.status, body, dict(response.headers)
    return asyncio.run(post())


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Samples and rate of a compressed body, through FFmpeg's decoders (PyAV)."""
    with av.open(io.BytesIO(data)) as container:
        frames = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    return np.concatenate(frames).astype(np.float32), rate


@pytest.mark.parametrize(("response_format", "content_type", "magic"), [
    ("mp3", "audio/mpeg", b"ID3"), ("opus", "audio/ogg", b"OggS"), ("flac", "audio/flac", b"fLaC"),
    ("aac", "audio/aac", b"\xff\xf1")])
def test_compressed_formats_decode_to_the_same_length(
        fast_http: tuple[ServerThread, int], response_format: str, content_type: str,
        magic: bytes) -> None:
    text = "Compressed audio is streamed too. It has two sentences."
    _, port = fast_http
    status, pcm, _ = speak(port, input=text, response_format="pcm")
    assert status == 200
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x")
    with client.audio.speech.with_streaming_response.create(
            model="kokoro", voice="af_heart", input=text,
            response_format=response_format) as response:  # type: ignore[arg-type]
        assert response.headers["content-type"] == content_type
        body = b"".join(response.iter_bytes())
    assert body.startswith(magic)
    samples, rate = decode(body)
    seconds = len(pcm_of(pcm)) / 24000  # type: ignore[arg-type]
    assert abs(len(samples) / rate - seconds) < 0.15, (len(samples) / rate, seconds)
    assert np.abs(samples).max() > 0.01, "not silence"


def test_default_format_is_mp3_and_wav_matches_pcm(fast_http: tuple[ServerThread, int]) -> None:
    _, port = fast_http
    status, _, headers = speak(port, input="Default format.", model="tts-1-hd")
    assert status == 200 and headers["Content-Type"] == "audio/mpeg"
    _, pcm, _ = speak(port, input="Default format.", response_format="pcm")
    _, wav, _ = speak(port, input="Default format.", response_format="wav")
    assert wav_pcm(wav) == pcm and len(pcm) > 0  # type: ignore[arg-type]


BAD = [
    ({"voice": "af_heart"}, 400, "input", "invalid_type"),
    ({"input": 7}, 400, "input", "invalid_type"),
    ({"input": "   "}, 400, "input", "empty_input"),
    ({"input": "x" * 401}, 413, "input", "string_above_max_length"),
    ({"input": "hi", "voice": "nobody"}, 400, "voice", "invalid_voice"),
    ({"input": "hi", "voice": 5}, 400, "voice", "invalid_type"),
    ({"input": "hi", "voice": "af_heart:0+bf_emma"}, 400, "voice", "invalid_voice"),
    ({"input": "hi", "voice": "af_heart+nobody"}, 400, "voice", "invalid_voice"),
    ({"input": "hi", "response_format": "ogg"}, 400, "response_format", "invalid_value"),
    ({"input": "hi", "speed": 0.1}, 400, "speed", "invalid_value"),
    ({"input": "hi", "speed": 4.5}, 400, "speed", "invalid_value"),
    ({"input": "hi", "speed": "fast"}, 400, "speed", "invalid_value"),
    ({"input": "hi", "speed": True}, 400, "speed", "invalid_value"),
    ({"input": "hi", "model": ["tts-1"]}, 400, "model", "invalid_type"),
    ({"input": "hi", "stream_format": "sse"}, 400, "stream_format", "invalid_value"),
]


@pytest.mark.parametrize(("fields", "status", "param", "code"), BAD)
def test_bad_requests_get_openai_errors(fast_http: tuple[ServerThread, int], fields: dict,
                                        status: int, param: str, code: str) -> None:
    _, port = fast_http
    got, body, _ = speak(port, **fields)
    assert got == status, body
    assert isinstance(body, dict) and set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["param"], body["error"]["code"]) == (param, code)
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]


async def test_malformed_bodies_routes_and_the_server_keeps_serving(
        fast_http: tuple[ServerThread, int]) -> None:
    thread, port = fast_http
    base = f"http://127.0.0.1:{port}"
    big = thread.service.max_data + 1  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        for method, path, data, status in (
                ("POST", SPEECH, b"{not json", 400), ("POST", SPEECH, b"[1, 2]", 400),
                ("POST", SPEECH, b"\xff\xfe", 400), ("POST", SPEECH, b"x" * big, 413),
                ("GET", SPEECH, b"", 405), ("GET", "/v1/nothing", b"", 404),
                ("POST", "/v1/audio/transcriptions", b"{}", 404)):
            async with session.request(method, base + path, data=data) as response:
                assert response.status == status, (path, data[:20])
                error = (await response.json())["error"]
                assert set(error) == {"message", "type", "param", "code"}
        async with session.post(base + SPEECH, json={"input": "Still here.",
                                                     "response_format": "pcm"}) as response:
            assert response.status == 200 and len(await response.read()) > 0


async def test_listing_endpoints(fast_http: tuple[ServerThread, int], fast_pair) -> None:
    _, port = fast_http
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/health") as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
        async with session.get(base + "/v1/audio/voices") as response:
            voices = (await response.json())["voices"]
        async with session.get(base + "/v1/audio/models") as response:
            assert {m["id"] for m in (await response.json())["models"]} >= {"tts-1", "kokoro"}
    assert {v["id"] for v in voices} == {v.name for v in fast_pair[0].spoken_voices()}
    assert {"id": "bf_emma", "name": "bf_emma", "language": "en_GB"}.items() <= \
        next(v for v in voices if v["id"] == "bf_emma").items()
    client = openai.AsyncOpenAI(base_url=base + "/v1", api_key="x")
    assert {m.id for m in (await client.models.list()).data} >= {"tts-1", "tts-1-hd", "kokoro"}


def amplitude(pcm: bytes) -> float:
    return float(np.abs(pcm_of(pcm)).max())


def test_voices_blends_and_openai_names(fast_http: tuple[ServerThread, int],
                                        fast_pair: tuple[Engine, FaultyModel]) -> None:
    """The synthetic model's amplitude is the voice's style value: it tells voices apart."""
    _, port = fast_http
    engine = fast_pair[0]

    def voice(name: str | None) -> float:
        fields = {"input": "Which voice is this?", "response_format": "pcm"}
        status, body, _ = speak(port, **fields, **({"voice": name} if name else {}))
        assert status == 200, body
        return amplitude(body)  # type: ignore[arg-type]

    heart, emma = voice("af_heart"), voice("bf_emma")
    assert heart != emma
    assert OPENAI_VOICES["coral"] == "af_heart" and voice("coral") == voice("CORAL") == heart
    assert "af_alloy" not in engine.voices.voices
    assert voice("alloy") == voice(None) == voice(engine.default_voice)  # missing: default
    blend = voice("af_heart:1+bf_emma:1")
    assert min(heart, emma) < blend < max(heart, emma)


def test_speed_reaches_the_model(fast_http: tuple[ServerThread, int]) -> None:
    """The synthetic model scales its amplitude by the speed it is given."""
    _, port = fast_http
    levels = {}
    for speed in (0.5, 1.0, 2.0):
        status, body, _ = speak(port, input="Speed check.", response_format="pcm", speed=speed)
        assert status == 200
        levels[speed] = amplitude(body)  # type: ignore[arg-type]
    assert levels[2.0] / levels[1.0] == pytest.approx(2.0, rel=0.02)
    assert levels[0.5] / levels[1.0] == pytest.approx(0.5, rel=0.02)


def test_api_key(fast_pair: tuple[Engine, FaultyModel]) -> None:
    with serving(fast_pair[0]) as thread, http_on(thread, api_key="s3cret") as port:
        base = f"http://127.0.0.1:{port}/v1"
        for key in ("wrong", "s3cre", "s3cret2"):
            with pytest.raises(openai.AuthenticationError) as failure:
                openai.OpenAI(base_url=base, api_key=key).audio.speech.create(
                    model="tts-1", voice="alloy", input="No entry.")
            assert failure.value.status_code == 401
            assert failure.value.code == "invalid_api_key"
        status, _, headers = speak(port, input="No key at all.")
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        speech = openai.OpenAI(base_url=base, api_key="s3cret").audio.speech.create(
            model="tts-1", voice="alloy", input="Come in.", response_format="pcm")
        assert len(speech.content) > 0
        assert speak(port, input="")[0] == 401, "the key is checked before anything else"


async def _hold_one(port: int, gate: PhonemeGate, source: str = "127.0.0.1") -> RawHttp:
    """A request from `source` that is in flight (its second sentence held) once this returns."""
    client = await RawHttp.connect(port, source=source)
    await client.post(SPEECH, json.dumps({"input": "Held request. " + GATED,
                                          "response_format": "pcm"}).encode())
    assert (await asyncio.wait_for(client.read_head(), 30)).status == 200
    assert await asyncio.wait_for(client.read_chunk(), 30)
    return client


async def _status(port: int, source: str) -> tuple[int, dict]:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session, session.post(
            f"http://127.0.0.1:{port}{SPEECH}", json={"input": "Me too."}) as response:
        return response.status, await response.json() if response.status != 200 else {}


async def test_per_client_limit_is_429_and_server_limit_is_503(
        fast_pair: tuple[Engine, FaultyModel]) -> None:
    engine = fast_pair[0]
    with serving(engine, max_client_connections=1, max_connections=2) as thread, \
            http_on(thread) as port, PhonemeGate(engine, "Zanzibar") as gate:
        held = await _hold_one(port, gate)
        status, body = await _status(port, "127.0.0.1")
        assert status == 429 and body["error"]["type"] == "rate_limit_error"
        assert body["error"]["code"] == "rate_limit_exceeded"
        wyoming = await RawClient.connect(thread.port, source="127.0.0.2")  # one more in all
        await settle(thread, lambda: thread.service.open == 2)  # type: ignore[union-attr]
        status, body = await _status(port, "127.0.0.3")
        assert status == 503 and body["error"]["code"] == "server_busy"
        wyoming.writer.close()
        gate.open()
        assert (await asyncio.wait_for(held.read_rest(), 30)).complete
        await held.close()
        assert await settle(thread, lambda: thread.service.open == 0)  # type: ignore[union-attr]
        assert (await _status(port, "127.0.0.1"))[0] == 200


async def test_wyoming_and_http_share_the_per_client_count(
        fast_pair: tuple[Engine, FaultyModel]) -> None:
    with serving(fast_pair[0], max_client_connections=1) as thread, http_on(thread) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", thread.port)
        await settle(thread, lambda: thread.service.open == 1)  # type: ignore[union-attr]
        assert (await _status(port, "127.0.0.1"))[0] == 429
        assert (await _status(port, "127.0.0.2"))[0] == 200
        writer.close()
        assert await settle(thread, lambda: thread.service.open == 0)  # type: ignore[union-attr]


async def test_reader_that_stops_is_dropped_and_the_work_ends(
        fast_pair: tuple[Engine, FaultyModel]) -> None:
    """A client that never reads: the write timeout drops it, its slot and its producer go."""
    text = " ".join(f"Sentence number {i} keeps the audio coming." for i in range(60))
    with serving(fast_pair[0], write_timeout=1.0) as thread, http_on(thread) as port:
        client = await RawHttp.connect(port, rcvbuf=4096)
        await client.post(SPEECH, json.dumps({"input": text, "response_format": "pcm"}).encode())
        assert await settle(thread, lambda: thread.service.open == 1)  # type: ignore[union-attr]
        assert await settle(thread, lambda: thread.service.open == 0, timeout=60)  # type: ignore[union-attr]
        assert await settle(thread, lambda: not [n for n in _task_names(thread)
                                                 if n.startswith("kokoro-")])
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError, ValueError)):
            await asyncio.wait_for(client.read_head(), 10)
            await asyncio.wait_for(client.read_rest(), 30)
        await client.close()
        assert (await _status(port, "127.0.0.1"))[0] == 200


def _task_names(thread: ServerThread) -> list[str]:
    return on_loop(thread, lambda: [t.get_name() for t in asyncio.all_tasks()])  # type: ignore[return-value]


# ---- settings and the real command line -------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:8880", "127.0.0.1:8880"), ("0.0.0.0:80", "0.0.0.0:80"),
    ("8880", "127.0.0.1:8880"), (":8880", "127.0.0.1:8880"), ("[::1]:8880", "[::1]:8880"),
    ("localhost:1", "localhost:1")])
def test_http_option(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.delenv("WYOMING_KOKORO_HTTP", raising=False)
    assert parse_settings([]).http is None, "off by default"
    assert parse_settings(["--http", value]).http == expected
    monkeypatch.setenv("WYOMING_KOKORO_HTTP", value)
    monkeypatch.setenv("WYOMING_KOKORO_HTTP_API_KEY", "k")
    settings = parse_settings([])
    assert (settings.http, settings.http_api_key) == (expected, "k")


@pytest.mark.parametrize("value", ["", "host", "127.0.0.1:", "127.0.0.1:0", "1.2.3.4:65536",
                                   "127.0.0.1:http", "a b:80"])
def test_http_option_refuses_bad_addresses(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit):
        parse_settings(["--http", value])
    if value:
        monkeypatch.setenv("WYOMING_KOKORO_HTTP", value)
        with pytest.raises(SystemExit):
            parse_settings([])


def test_cli_serves_http_beside_wyoming_and_stops_cleanly(tmp_path: Path) -> None:
    """`python -m wyoming_kokoro --http …` with the key from the environment; SIGTERM while a
    slow HTTP reader is mid-answer still ends the process cleanly."""
    model, voices = fast_assets()
    port, http_port = free_port(), free_port()
    process = start_cli(["--uri", f"tcp://127.0.0.1:{port}", "--http", f"127.0.0.1:{http_port}",
                         "--model", str(model), "--voices", str(voices), "--data-dir",
                         str(tmp_path), "--no-download", "--threads", "1"],
                        env=cli_env(WYOMING_KOKORO_HTTP_API_KEY="from-env"))
    try:
        wait_listening(http_port, process)
        base = f"http://127.0.0.1:{http_port}/v1"
        speech = openai.OpenAI(base_url=base, api_key="from-env").audio.speech.create(
            model="tts-1", voice="nova", input="Over HTTP.", response_format="pcm")
        assert len(speech.content) > 2400
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base, api_key="guess").audio.speech.create(
                model="tts-1", voice="nova", input="Over HTTP.")
        wyoming = asyncio.run(exchange(f"tcp://127.0.0.1:{port}",
                                       [Synthesize(text="Over Wyoming.").event()],
                                       until="audio-stop"))
        assert wyoming.types[-1] == "audio-stop"

        async def slow_reader_then_sigterm() -> None:
            client = await RawHttp.connect(http_port, rcvbuf=8192)
            await client.post(SPEECH, json.dumps({"input": "Good night, sleep well. " * 300,
                                                  "response_format": "pcm"}).encode(),
                              {"Authorization": "Bearer from-env"})
            assert (await asyncio.wait_for(client.read_head(), 30)).status == 200
            assert await asyncio.wait_for(client.read_chunk(), 30)
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 60)
            await client.close()

        asyncio.run(slow_reader_then_sigterm())
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr[-2000:]
        assert "Traceback" not in stderr and "OpenAI-compatible speech API" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


async def test_model_faults_before_and_during_the_stream(
        fast_http: tuple[ServerThread, int], fast_pair: tuple[Engine, FaultyModel]) -> None:
    """A fault before the first audio is a clean 500; after it, the chunked body is cut short
    (an incomplete response, never a complete short file); the server keeps serving."""
    _, port = fast_http
    model = fast_pair[1]
    url = f"http://127.0.0.1:{port}{SPEECH}"
    try:
        model.fail_when = lambda ids: True
        async with aiohttp.ClientSession() as session, session.post(
                url, json={"input": "This fails at once.", "response_format": "pcm"}) as response:
            assert response.status == 500
            error = (await response.json())["error"]
            assert (error["type"], error["code"]) == ("server_error", "synthesis_failed")
        calls = model.calls
        model.fail_when = lambda ids: model.calls > calls + 1  # the second sentence fails
        async with aiohttp.ClientSession() as session, session.post(
                url, json={"input": "This one starts well. The second sentence fails.",
                           "response_format": "pcm"}) as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    finally:
        model.fail_when = None
    assert (await _status(port, "127.0.0.1"))[0] == 200


async def test_a_queued_request_whose_client_leaves_is_dropped_at_once(
        fast_pair: tuple[Engine, FaultyModel]) -> None:
    """One synthesis slot, held: a second request queues; when its client hangs up, it leaves
    the queue at once instead of rendering for nobody once the slot frees."""
    engine = fast_pair[0]
    with serving(engine, max_concurrent=1) as thread, http_on(thread) as port, \
            PhonemeGate(engine, "Zanzibar") as gate:
        held = await _hold_one(port, gate)
        queued = await RawHttp.connect(port, source="127.0.0.2")
        await queued.post(SPEECH, json.dumps({"input": "Queued words.",
                                              "response_format": "pcm"}).encode())
        assert await settle(thread, lambda: thread.service.open == 2)  # type: ignore[union-attr]
        queued.writer.transport.abort()
        assert await settle(thread, lambda: thread.service.open == 1)  # type: ignore[union-attr]
        assert gate.passed == 0, "the held request still holds the only slot"
        gate.open()
        assert (await asyncio.wait_for(held.read_rest(), 30)).complete
        await held.close()


def test_without_pyav_compressed_formats_say_what_to_install(
        fast_http: tuple[ServerThread, int], monkeypatch: pytest.MonkeyPatch) -> None:
    _, port = fast_http
    monkeypatch.setattr(encoders, "_pyav_missing", lambda: "PyAV is not installed")
    status, body, _ = speak(port, input="Hello.", response_format="opus")
    assert status == 400 and isinstance(body, dict)
    assert (body["error"]["param"], body["error"]["code"]) == ("response_format",
                                                               "unsupported_format")
    assert "pip install av" in body["error"]["message"]
    assert speak(port, input="Hello.", response_format="wav")[0] == 200, "wav needs nothing"


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("kokoro.lan", False)])
def test_keyless_listener_off_loopback_is_warned_about(host: str, loopback: bool) -> None:
    assert http_api._loopback(host) is loopback
