"""Load and fuzz, bounded for CI: a soak of hundreds of mixed requests from concurrent clients,
and a property-based fuzz of event sequences. Figures are printed; assertions are only on
correctness and generous leak bounds, never on timing."""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import threading
import time

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from wyoming_kokoro.synth.pipeline import Engine

from .hardening_support import (
    LogSpy,
    RawClient,
    ask,
    codes,
    describe_ok,
    fast_engine,
    no_work_tasks,
    on_loop,
    raw_event,
    serving,
    settle,
)
from .support import Reply

SERVER_EVENTS = {"info", "audio-start", "audio-chunk", "audio-stop", "error",
                 "synthesize-stopped"}
SENTENCES = ["Turned on the kitchen lights.", "The temperature is twenty one degrees.",
             "Good night!", "Your timer is done.", "It will rain tomorrow, take an umbrella."]


@pytest.fixture(scope="module")
def fast() -> Engine:
    return fast_engine()


# -- soak ---------------------------------------------------------------------------------
CLIENTS = 8
LANGUAGES = ["es", "fr", "en-GB", "it"]
REQUESTS_PER_CLIENT = 60
KINDS = ["describe"] * 6 + ["synthesize"] * 5 + ["stream"] * 5 + [
    "empty", "too-long", "unknown-voice", "language", "abandon", "ssml"]


async def _one(port: int, kind: str, source: str, rng: random.Random) -> tuple[str, float]:
    """One request of `kind`; returns (outcome, seconds). outcome 'ok' unless unexpected."""
    text = " ".join(rng.sample(SENTENCES, rng.randint(1, 2)))
    started = time.monotonic()

    def done(ok: bool, reply: Reply) -> tuple[str, float]:
        return ("ok" if ok else f"{kind}: {reply.types[-4:]} {codes(reply)}",
                time.monotonic() - started)

    if kind == "describe":
        r = await ask(port, raw_event("describe"), until="info", source=source)
        return done(r.types == ["info"], r)
    if kind in ("synthesize", "unknown-voice", "language", "ssml"):
        voice = {"unknown-voice": SynthesizeVoice(name="no_such_voice"),
                 "language": SynthesizeVoice(language=rng.choice(LANGUAGES))
                 }.get(kind)
        fmt = "ssml" if kind == "ssml" else None
        body = f"<speak>{text} <break time='200ms'/> Done.</speak>" if fmt else text
        r = await ask(port, Synthesize(text=body, voice=voice, text_format=fmt).event(),
                      until="audio-stop", source=source)
        return done(r.types[-1] == "audio-stop" and not codes(r) and len(r.audio) > 0, r)
    if kind == "stream":
        words = [w + " " for w in text.split()]
        r = await ask(port, SynthesizeStart().event(),
                      *(SynthesizeChunk(text=w).event() for w in words),
                      Synthesize(text=text).event(), SynthesizeStop().event(),
                      until="synthesize-stopped", source=source)
        return done(r.types[-1] == "synthesize-stopped" and not codes(r)
                    and r.types.count("audio-stop") == 1, r)
    if kind == "empty":
        r = await ask(port, Synthesize(text="  ").event(), source=source)
        return done(codes(r) == ["empty-text"] and r.closed, r)
    if kind == "too-long":
        r = await ask(port, Synthesize(text="x" * 5001).event(), source=source)
        return done(codes(r) == ["text-too-long"] and r.closed, r)
    # abandon: start speaking, then vanish mid-answer
    client = await RawClient.connect(port, source)
    await client.send(Synthesize(text=" ".join(SENTENCES * 3)).event())
    r = await client.read(until="audio-chunk")
    client.writer.transport.abort()
    return done(r.types[-1] == "audio-chunk", r)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


async def test_soak_mixed_requests_from_concurrent_clients(fast: Engine) -> None:
    peak = [0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.1)

    with serving(fast, max_text_length=5000, idle_timeout=30) as thread:
        rng = random.Random(5)
        # warm-up: every kind once, so caches (G2P, voices by language) are filled first
        for kind in sorted(set(KINDS)):
            assert (await _one(thread.port, kind, "127.0.0.1", rng))[0] == "ok"
        for language in LANGUAGES:  # each language's G2P loads once, on first use
            reply = await ask(thread.port, Synthesize(text="Hola.", voice=SynthesizeVoice(
                language=language)).event(), until="audio-stop")
            assert reply.types[-1] == "audio-stop"
        assert await settle(thread, lambda: no_work_tasks(thread))
        tasks_before = on_loop(thread, lambda: len(asyncio.all_tasks()))
        threads_before = threading.active_count()
        rss_before = _rss_mb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        outcomes: list[tuple[str, str, float]] = []

        async def client(index: int) -> None:
            local = random.Random(index)
            source = f"127.0.0.{10 + index}"
            for _ in range(REQUESTS_PER_CLIENT):
                kind = local.choice(KINDS)
                outcome, seconds = await _one(thread.port, kind, source, local)
                outcomes.append((kind, outcome, seconds))

        started = time.monotonic()
        async with asyncio.timeout(600):  # a hang is a failure, not a slow pass
            await asyncio.gather(*(client(i) for i in range(CLIENTS)))
        duration = time.monotonic() - started
        assert await settle(thread, lambda: no_work_tasks(thread))
        sampling.set()
        sampler.join()
        tasks_after = on_loop(thread, lambda: len(asyncio.all_tasks()))
        threads_after = threading.active_count()
        rss_after = _rss_mb()
        service = thread.service
        open_after, clients_after = on_loop(thread, lambda: (service.open, dict(service.clients)))

    unexpected = [o for _, o, _ in outcomes if o != "ok"]
    describes = sorted(s for k, _, s in outcomes if k == "describe")
    print(f"\nsoak: {len(outcomes)} requests from {CLIENTS} clients in {duration:.1f} s, "
          f"{len(unexpected)} unexpected; RSS {rss_before:.0f} → {rss_after:.0f} MB "
          f"(peak {peak[0]:.0f} MB); threads {threads_before} → {threads_after}; "
          f"loop tasks {tasks_before} → {tasks_after}; describe p50 "
          f"{statistics.median(describes) * 1000:.0f} ms, max {describes[-1] * 1000:.0f} ms")
    assert len(outcomes) == CLIENTS * REQUESTS_PER_CLIENT
    assert not unexpected, unexpected[:5]
    assert tasks_after <= tasks_before and threads_after <= threads_before
    assert open_after == 0 and clients_after == {}
    assert rss_after - rss_before < 100  # flat: a generous bound for allocator noise


async def test_soak_through_the_real_model(server) -> None:
    """A smaller mix through the real int8 model (the session server): ONNX Runtime's
    arenas and the real G2P included. Texts are short so CPU CI stays bounded."""
    kinds = ["describe", "synthesize", "stream", "empty", "abandon", "describe"]
    rng = random.Random(11)
    for kind in ("synthesize", "stream", "abandon"):  # arenas and caches grow on first use
        assert (await _one(server.port, kind, "127.0.0.1", rng))[0] == "ok"
    assert await settle(server, lambda: no_work_tasks(server))
    rss_before = _rss_mb()
    outcomes: list[tuple[str, str, float]] = []

    async def client(index: int) -> None:
        local = random.Random(100 + index)
        for _ in range(4):
            kind = local.choice(kinds)
            outcome, seconds = await _one(server.port, kind, f"127.0.0.{20 + index}", local)
            outcomes.append((kind, outcome, seconds))

    started = time.monotonic()
    async with asyncio.timeout(600):
        await asyncio.gather(*(client(i) for i in range(3)))
    duration = time.monotonic() - started
    assert await settle(server, lambda: no_work_tasks(server))
    rss_after = _rss_mb()
    unexpected = [o for _, o, _ in outcomes if o != "ok"]
    describes = [s for k, _, s in outcomes if k == "describe"] or [0.0]
    print(f"\nreal-model soak: {len(outcomes)} requests from 3 clients in {duration:.1f} s, "
          f"{len(unexpected)} unexpected; RSS {rss_before:.0f} → {rss_after:.0f} MB; "
          f"describe max {max(describes) * 1000:.0f} ms")
    assert not unexpected, unexpected
    assert rss_after - rss_before < 150


# -- property-based fuzz of event sequences ------------------------------------------------
TEXTS = st.one_of(st.sampled_from([*SENTENCES, "", " ", "Hello", ". ", "[pause:0.2s]", "😀",
                                   "e.g. ", "1. ", "\n\n", "<b>x</b>"]),
                  st.text(max_size=12))
VOICES = st.one_of(st.none(), st.sampled_from(["af_heart", "ef_dora", "nope", "../etc/passwd",
                                               "af_heart:1+bf_emma:1", "jf_alpha@en"]))
LANGS = st.one_of(st.none(), st.sampled_from(["en", "es", "ja", "xx", ""]))


def _voice(name: str | None, language: str | None) -> dict:
    return {k: v for k, v in (("name", name), ("language", language)) if v is not None}


JUNK = st.one_of(st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.text(max_size=5))

ITEMS = st.one_of(
    st.just(raw_event("describe")),
    st.builds(lambda t, n, lang, f: raw_event("synthesize", {
        "text": t, "voice": _voice(n, lang), **({"text_format": f} if f else {})}),
        TEXTS, VOICES, LANGS, st.sampled_from([None, "ssml", "text", "bogus"])),
    st.builds(lambda n, lang: raw_event("synthesize-start", {"voice": _voice(n, lang)}),
              VOICES, LANGS),
    st.builds(lambda t: raw_event("synthesize-chunk", {"text": t}), TEXTS),
    st.just(raw_event("synthesize-stop")),
    st.builds(lambda k, v: raw_event(k, {"text": v, "voice": v, "text_format": v}),
              st.sampled_from(["synthesize", "synthesize-chunk", "synthesize-start"]), JUNK),
    st.builds(lambda t: raw_event(t, {"x": 1}), st.sampled_from(
        ["transcribe", "audio-start", "run-pipeline", "ping", "", "x" * 300])),
    st.just(raw_event("audio-chunk", {"rate": 24000, "width": 2, "channels": 1}, b"\0" * 512)),
    st.sampled_from([b"{bad json\n", b"[]\n", b'{"type": 1}\n', b'{"type": "x", "data": 5}\n',
                     b'{"type": "x", "data_length": -1}\n',
                     b'{"type": "x", "data_length": 999999999999}\n',
                     b'{"type": "x", "payload_length": 9999999999}\n', b"\n", b"\xff\xfe\n",
                     b'{"type": "synthesize", "data_length": 3}\n{}x']),
)


def _check_sequence(reply: Reply, sent: list[bytes]) -> None:
    types = reply.types
    assert set(types) <= SERVER_EVENTS, types
    stops_sent = sum(b'"synthesize-stop"' in s for s in sent)
    # one more when the server ends an open stream itself (error, then synthesize-stopped)
    assert types.count("synthesize-stopped") <= stops_sent + reply.closed
    group_open = False
    for event_type in types:  # audio groups never overlap; each ends in audio-stop or error
        if event_type == "audio-start":
            assert not group_open, types
            group_open = True
        elif event_type == "audio-chunk":
            assert group_open, types
        elif event_type == "audio-stop":
            assert group_open, types
            group_open = False
        elif event_type == "error":
            group_open = False
    if reply.closed:  # the server hangs up only after saying why (and ending a stream)
        tail = types[-2:] if types[-1:] == ["synthesize-stopped"] else types[-1:]
        assert tail and tail[0] == "error", types


class _Fuzz:
    examples = 0
    events = 0


async def _run_sequence(port: int, items: list[bytes], abort: bool) -> None:
    client = await RawClient.connect(port, "127.0.0.1")
    try:
        for item in items:
            try:
                await client.send(item)
            except (ConnectionError, OSError):
                break  # the server hung up on an earlier item: allowed after an error
        if abort:
            client.writer.transport.abort()
            return
        try:
            await client.send(raw_event("describe"))
        except (ConnectionError, OSError):
            pass
        reply = await client.read(until="info", timeout=60)
        _check_sequence(reply, items)
    finally:
        await client.close()
    assert await describe_ok(port)


@pytest.fixture(scope="module")
def fuzz_server(fast: Engine):
    """The fuzzed server, with every ERROR record logged while it runs collected."""
    spy = LogSpy(logging.ERROR)
    with spy.installed(), serving(fast, max_text_length=2000, idle_timeout=0.5,
                                  write_timeout=5) as thread:
        thread.spy = spy  # type: ignore[attr-defined]
        yield thread


@settings(max_examples=500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(items=st.lists(ITEMS, min_size=1, max_size=16), abort=st.booleans())
def test_fuzzed_event_sequences_never_break_the_server(fuzz_server, items: list[bytes],
                                                       abort: bool) -> None:
    _Fuzz.examples += 1
    _Fuzz.events += len(items)
    asyncio.run(_run_sequence(fuzz_server.port, items, abort))


def test_fuzz_left_nothing_behind(fuzz_server) -> None:
    """Runs after the fuzz (file order): no handler, stream or producer survived it."""
    assert asyncio.run(describe_ok(fuzz_server.port))
    assert asyncio.run(_settled(fuzz_server))
    print(f"\nfuzz: {_Fuzz.examples} sequences, {_Fuzz.events} events")
    assert _Fuzz.examples > 0
    assert not fuzz_server.spy.texts(), fuzz_server.spy.texts()[:3]  # no error, no traceback


async def _settled(thread) -> bool:
    return await settle(thread, lambda: no_work_tasks(thread))

