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
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.synth.playout import (
    Playout,
    Progress,
    RenderRate,
    RequestMeter,
    Upcoming,
    edf_slack,
)

from .support import ServerThread, exchange
from .synthetic import data_dir_with

SHORT_THEN_LONG = ("Okay. The front door is locked, the kitchen lights are off, and the "
                   "thermostat in the living room is set to twenty degrees for the rest of "
                   "the night.")
TEXT = ("Turned on the kitchen lights. The front door is locked for the night. "
        "All three lights in the hallway are now off.")


def test_a_start_waits_until_every_sentence_renders_before_it_is_needed() -> None:
    rates = RenderRate(rtf=0.4)
    playout = Playout(rates, safety=1.0)
    long, short = Upcoming(5.0), Upcoming(1.0)

    def hold(ready: float, current: Upcoming | None, done: float,
             upcoming: tuple[Upcoming, ...], running_for: float | None = None) -> bool:
        meter = RequestMeter(rates, progress=Progress(upcoming, current, done))
        if running_for is not None:
            meter.ticket.running_since = time.monotonic() - running_for
        return not playout.feasible(meter, ready)

    assert not hold(1.0, None, 0.0, ())  # everything rendered: nothing to wait for
    assert not hold(1.0, None, 0.0, (short,))  # 0.4 s of work behind 1 s of audio
    # faster than real time, yet a long sentence after a short one would stall: 2 s > 1 s
    assert hold(1.0, None, 0.0, (long,))
    assert not hold(2.5, None, 0.0, (long,))  # 2 s of work behind 2.5 s of audio
    assert not hold(1.0, None, 0.0, (Upcoming(2.0, speech=False), long))  # a pause plays
    # the block in progress: the work left scales with its audio still to come
    assert hold(1.0, long, 1.0, ())  # its rest comes at once: 1.6 s of work behind 1 s
    assert not hold(1.0, long, 1.0, (), 0.6)  # its whole decode has run 0.6 s on the worker
    assert not hold(2.0, long, 2.0, ())  # 1.2 s of work behind 2 s
    assert hold(1.0, Upcoming(1.5), 1.0, (long,))  # 0.2 + 2 s of work behind 1.5 s
    assert hold(0.5, Upcoming(2.0), 0.0, ())  # 0.8 s of work behind 0.5 s
    assert not hold(0.5, Upcoming(2.0), 0.0, (), 0.5)  # rendering it for 0.5 s already
    rates.record(7.5, 5.0)  # the machine turns out slower than real time
    assert rates.rtf == 1.5 and hold(5.0, None, 0.0, (long,))  # 7.5 s of work


def test_render_rate_tells_per_sentence_overhead_from_rate() -> None:
    rates = RenderRate(rtf=4.0)  # the warm-up's guess: one short word, the very first call
    rates.record(0.5, 1.0)  # a short sentence: a better guess, all of it taken as rate
    assert (rates.rtf, rates.overhead) == (0.5, 0.0)
    rates.record(1.7, 5.0)  # the first long sentence replaces the guess
    assert rates.rtf == pytest.approx(0.34)
    for _ in range(20):
        rates.record(0.1 + 0.3 * 0.5, 0.5)  # 0.1 s per call beside 0.3 s per audio second
        rates.record(0.1 + 0.3 * 6.0, 6.0)
    assert rates.overhead == pytest.approx(0.1, abs=0.02)
    assert rates.rtf == pytest.approx(0.3, abs=0.01)
    assert rates.cost(10.0) == pytest.approx(3.1, abs=0.2)


def test_a_start_waits_while_the_playing_streams_need_the_worker() -> None:
    """Admission: each stream alone is fine, but the worker cannot feed one more."""
    rates = RenderRate(rtf=0.4)
    playout = Playout(rates, safety=1.0)
    newcomer = RequestMeter(rates, progress=Progress((Upcoming(4.0),)))
    assert playout.feasible(newcomer, 2.0)  # alone: 1.6 s of work behind 2 s of audio
    streams = [RequestMeter(rates, progress=Progress((Upcoming(6.0),))) for _ in range(2)]
    for playing, ahead in zip(streams, (5.0, 3.0), strict=True):  # 2.4 s of work each
        playing.ticket.sent(ahead)
        playout.add(playing)
    # earliest deadline first: 2.4 s done by 3 s, 4.8 s by 5 s
    assert playout.slack() == pytest.approx(5.0 - 4.8, abs=0.05)
    assert not playout.feasible(newcomer, 2.0)  # 1.6 + 2.4 s of work before 3 s
    playout.remove(streams[1])
    assert playout.slack() == pytest.approx(5.0 - 2.4, abs=0.05)  # one stream is fine
    assert playout.feasible(newcomer, 2.0)  # and one more: 1.6 s by 2 s, 4 s by 5 s
    assert not playout.feasible(newcomer, 1.5)  # but not with less in hand
    streams[0].ticket.late = True  # started past --max-hold: it stalls anyway, claims nothing
    assert playout.feasible(newcomer, 1.7) and playout.slack() == float("inf")


def test_earliest_deadline_first_slack() -> None:
    assert edf_slack([]) == float("inf")
    assert edf_slack([(2.0, 1.0), (1.0, 0.5)]) == pytest.approx(0.5)  # 0.5 by 1, 1.5 by 2
    assert edf_slack([(1.0, 2.0)]) == pytest.approx(-1.0)  # a second late
    assert edf_slack([(1.0, 2.0)], workers=2) == pytest.approx(0.0)
    assert edf_slack([(1.0, 0.5)], busy=0.7) == pytest.approx(-0.2)  # a call still running


def test_streams_between_calls_are_the_speaking_ones_with_speech_left() -> None:
    """What the scheduler waits for before it gives the worker to a call due later."""
    rates = RenderRate(rtf=0.4)
    playout = Playout(rates)
    meters = {name: RequestMeter(rates, progress=Progress((Upcoming(3.0),)))
              for name in ("between", "running", "new", "late", "done", "slow reader")}
    for name, meter in meters.items():
        playout.add(meter)
        if name != "new":
            meter.ticket.sent(1.0)
            meter.audio_s = 1.0
    meters["running"].ticket.running_since = time.monotonic()
    meters["late"].ticket.late = True
    meters["done"].progress = Progress()
    meters["slow reader"].audio_s = 3.0  # rendered 2 s its client has not taken yet
    assert playout.between_calls() == [meters["between"].ticket]


def test_speech_per_character_is_learnt_per_language() -> None:
    rates = RenderRate()
    guess = rates.estimate(100, "a")
    rates.learn(100, "a", 2 * guess)
    assert rates.estimate(100, "a") > guess and rates.estimate(100, "e") == guess
    assert rates.estimate(10, "j") > rates.estimate(10, "a")  # kana read slower per character


def slow_down(engine: Engine, monkeypatch: pytest.MonkeyPatch, factor: float) -> Engine:
    """Every model call that renders audio keeps the worker `factor` × that audio's length."""
    real = engine.scheduler.run

    def slowly(job: Job) -> object:
        began = time.monotonic()
        result = job()
        if isinstance(result, np.ndarray) and result.ndim == 1:
            time.sleep(max(0.0, factor * len(result) / 24000 - (time.monotonic() - began)))
        return result

    async def slow(job: Job, ticket: object) -> object:
        return await real(Job(slowly, (job,)), ticket)

    monkeypatch.setattr(engine.scheduler, "run", slow)
    # learnt afresh, from a warm-up at this speed (not from the tests before)
    monkeypatch.setattr(engine.playout, "rates", RenderRate(rtf=factor))
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
        monkeypatch.setattr(Playout, "feasible", lambda self, *plan: True)
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


@pytest.mark.parametrize("admission", [True, False], ids=["admission", "each-alone-control"])
def test_two_clients_on_a_machine_that_feeds_one_speak_without_gaps(
        engine: Engine, server: ServerThread, monkeypatch: pytest.MonkeyPatch,
        admission: bool) -> None:
    """At 0.7× real time one stream keeps ahead but two at once do not: the second request's
    first audio waits until the first needs the worker no more, instead of both starting and
    both stalling. The control judges each request alone, as if nobody else were playing."""
    slow_down(engine, monkeypatch, 0.7)
    monkeypatch.setattr(engine.options, "max_hold", 120.0)
    if not admission:
        monkeypatch.setattr(Playout, "_others", lambda self, besides=None: ([], 0.0))

    async def both() -> list:
        return await asyncio.gather(*(exchange(server.uri, [Synthesize(TEXT).event()],
                                               until="audio-stop", timeout=300)
                                      for _ in range(2)))

    replies = asyncio.run(both())
    assert all(reply.types[-1] == "audio-stop" for reply in replies)
    stalls = [stall(reply) for reply in replies]
    if admission:
        assert max(stalls) <= 0.05, stalls
        firsts = sorted(reply.first("audio-chunk") for reply in replies)
        assert firsts[1] > firsts[0] + 1.0  # the second started later: it waited its turn
    else:
        assert max(stalls) > 0.3, stalls


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
    monkeypatch.setitem(slow_engine.playout.rates.per_char, "a", 1.0)
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


def test_first_in_line_is_the_oldest_request_still_rendering() -> None:
    """Younger requests queue behind it (scheduler), but not behind one whose text has not
    been written yet (Home Assistant's streaming flow waits on the language model)."""
    playout = Playout(RenderRate())
    waiting_for_text = RequestMeter(playout.rates)
    rendering = RequestMeter(playout.rates, progress=Progress((Upcoming(2.0),)))
    for meter in (waiting_for_text, rendering):
        playout.add(meter)
    assert playout.first_in_line() == rendering.ticket.arrival
    rendering.ticket.sent(1.0)  # started: no longer in line
    assert playout.first_in_line() == float("inf")
