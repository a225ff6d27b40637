"""Gap-free first: on a machine slower than real time a request's audio waits until it is
rendered, instead of starting and then stalling mid-speech."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from bench.client import continuity
from wyoming_kokoro.config import engine_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.synth.playout import RenderRate, RequestMeter, Upcoming

from .support import ServerThread, exchange
from .synthetic import data_dir_with

SHORT_THEN_LONG = ("Okay. The front door is locked, the kitchen lights are off, and the "
                   "thermostat in the living room is set to twenty degrees for the rest of "
                   "the night.")
TEXT = ("Turned on the kitchen lights. The front door is locked for the night. "
        "All three lights in the hallway are now off.")


def test_meter_holds_until_every_sentence_renders_before_it_is_needed() -> None:
    engine = RenderRate(rtf=0.4)
    meter = RequestMeter(engine, safety=1.0)
    long, short = Upcoming(5.0), Upcoming(1.0)
    assert not meter.hold(1.0, None, 0.0, ())  # everything rendered: nothing to wait for
    assert not meter.hold(1.0, None, 0.0, (short,))  # 0.4 s of work behind 1 s of audio
    # faster than real time, yet a long sentence after a short one would stall: 2 s > 1 s
    assert meter.hold(1.0, None, 0.0, (long,))
    assert not meter.hold(2.5, None, 0.0, (long,))  # 2 s of work behind 2.5 s of audio
    assert not meter.hold(1.0, None, 0.0, (Upcoming(2.0, speech=False), long))  # a pause plays
    # the block in progress: the work left scales with its audio still to come
    assert meter.hold(1.0, long, 1.0, ())  # its rest comes at once: 1.6 s of work behind 1 s
    assert not meter.hold(1.0, long, 1.0, (), 0.6)  # its whole decode has run 0.6 s since
    assert not meter.hold(2.0, long, 2.0, ())  # 1.2 s of work behind 2 s
    assert meter.hold(1.0, Upcoming(1.5), 1.0, (long,))  # 0.2 + 2 s of work behind 1.5 s
    assert meter.hold(0.5, Upcoming(2.0), 0.0, ())  # 0.8 s of work behind 0.5 s
    assert not meter.hold(0.5, Upcoming(2.0), 0.0, (), 0.5)  # rendering it for 0.5 s already
    meter.model_s, meter.audio_s = 3.0, 2.0  # slower than real time
    assert meter.rtf == 1.5 and meter.hold(5.0, None, 0.0, (long,))  # 7.5 s of work
    meter.close()
    assert 0.4 < engine.rtf < 1.5  # the engine learns from the request


def test_speech_per_character_is_learnt_per_language() -> None:
    rates = RenderRate()
    guess = rates.estimate(100, "a")
    rates.learn(100, "a", 2 * guess)
    assert rates.estimate(100, "a") > guess and rates.estimate(100, "e") == guess
    assert rates.estimate(10, "j") > rates.estimate(10, "a")  # kana read slower per character


def slow_down(engine: Engine, monkeypatch: pytest.MonkeyPatch, factor: float) -> Engine:
    """Every model call that renders audio takes `factor` × that audio's length."""
    real = engine.scheduler.run

    async def slow(job, ticket):
        began = time.monotonic()
        result = await real(job, ticket)
        if isinstance(result, np.ndarray) and result.ndim == 1:
            await asyncio.sleep(max(0.0, factor * len(result) / 24000
                                    - (time.monotonic() - began)))
        return result

    monkeypatch.setattr(engine.scheduler, "run", slow)
    return engine


@pytest.fixture
def slow_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Slower than real time: 1.6 s of model time per second of audio."""
    return slow_down(engine, monkeypatch, 1.6)


def stall(reply) -> float:
    chunks = [(t, len(e.payload or b"") / 2 / 24000)
              for e, t in zip(reply.events, reply.times, strict=True) if e.type == "audio-chunk"]
    return continuity([t for t, _ in chunks], [d for _, d in chunks]).stall_s


def stall_when(engine: Engine, uri: str, text: str, monkeypatch: pytest.MonkeyPatch,
               held: bool) -> float:
    """Silence a player inserts in one reply: first audio held by the playout plan (as long
    as it likes), or, the control, never held."""
    monkeypatch.setattr(engine.options, "max_hold", 120.0)
    if not held:
        monkeypatch.setattr(RequestMeter, "hold", lambda self, *plan: False)
    reply = asyncio.run(exchange(uri, [Synthesize(text).event()], until="audio-stop",
                                 timeout=300))
    assert reply.types[-1] == "audio-stop"
    return stall(reply)


def check_gaps(stall_s: float, held: bool) -> None:
    """Held: gap-free. The control: the slowdown does cause a gap when audio is not held."""
    if held:
        assert stall_s <= 0.05
    else:
        assert stall_s > 0.3


@pytest.mark.parametrize("hold", [True, False], ids=["held", "not-held-control"])
def test_slow_machine_speaks_without_gaps(slow_engine: Engine, server: ServerThread,
                                          monkeypatch: pytest.MonkeyPatch, hold: bool) -> None:
    check_gaps(stall_when(slow_engine, server.uri, TEXT, monkeypatch, hold), hold)


def test_first_audio_never_waits_past_what_a_satellite_allows(
        slow_engine: Engine, server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slow_engine.options, "max_hold", 1.0)
    long_text = " ".join([TEXT] * 3)
    reply = asyncio.run(exchange(server.uri, [Synthesize(long_text).event()],
                                 until="audio-stop", timeout=300))
    first, last = reply.first("audio-chunk"), reply.times[-1]
    assert first is not None and first < last - 5  # started long before the text was rendered


@pytest.mark.parametrize("plan", [True, False], ids=["playout-plan", "not-held-control"])
def test_short_sentence_before_a_long_one_waits_on_a_modest_cpu(
        engine: Engine, server: ServerThread, monkeypatch: pytest.MonkeyPatch,
        plan: bool) -> None:
    """Faster than real time (0.7×), but a one-word reply before a long sentence: starting at
    once would play the word, then stall while the long sentence renders."""
    slow_down(engine, monkeypatch, 0.7)
    check_gaps(stall_when(engine, server.uri, SHORT_THEN_LONG, monkeypatch, plan), plan)


@pytest.mark.parametrize("plan", [True, False], ids=["playout-plan", "not-held-control"])
def test_fixed_bucket_models_follow_the_same_rule(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  plan: bool) -> None:
    """b32 for the first words, then b64 calls (synthetic fixed-bucket graphs), at 0.7× real
    time: the first words must not play before the long rest can keep up."""
    settings = Settings(data_dirs=[data_dir_with(tmp_path, [32, 64])], model="b64",
                        allow_download=False, threads=1, first_model="b32")
    engine = load_engine(engine_config(settings), warm_up=False)
    assert engine.first_model is not None
    slow_down(engine, monkeypatch, 0.7)
    server = ServerThread(engine).start()
    try:
        stall_s = stall_when(engine, server.uri, SHORT_THEN_LONG, monkeypatch, plan)
    finally:
        server.stop()
        engine.close()
    check_gaps(stall_s, plan)


def test_streamed_text_not_arrived_yet_never_holds_audio(
        slow_engine: Engine, server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    """Home Assistant's streaming flow, slower than real time: the first sentence plays as
    soon as it is rendered when the next one has not been written yet (a gap there is the
    text's, not ours), instead of waiting for text that may take seconds to come."""
    monkeypatch.setattr(slow_engine.options, "max_hold", 120.0)
    # the plan alone would hold: it guesses far more speech than the sentence has
    monkeypatch.setitem(slow_engine.render_rate.per_char, "a", 1.0)
    delay = 6.0
    events = [SynthesizeStart().event(),
              SynthesizeChunk("Turned on the kitchen lights. ").event(),
              SynthesizeChunk("The front door is locked for the night. ").event(),
              SynthesizeStop().event()]
    reply = asyncio.run(exchange(server.uri, events, delay=delay, timeout=300))
    first = reply.first("audio-chunk")
    assert first is not None and delay < first < 2 * delay  # before the second sentence came
    assert reply.types[-1] == "synthesize-stopped"


def test_max_hold_option() -> None:
    from wyoming_kokoro.settings import parse_settings

    assert parse_settings([]).max_hold == Settings().max_hold == 10.0
    assert parse_settings(["--max-hold", "0"]).max_hold == 0.0  # start at once
    with pytest.raises(SystemExit):
        parse_settings(["--max-hold", "-1"])
