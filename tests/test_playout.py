"""Gap-free first: on a machine slower than real time a request's audio waits until it is
rendered, instead of starting and then stalling mid-speech."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from wyoming.tts import Synthesize

from bench.client import continuity
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.synth.playout import RenderRate, RequestMeter

from .support import ServerThread, exchange

TEXT = ("Turned on the kitchen lights. The front door is locked for the night. "
        "All three lights in the hallway are now off.")


def test_meter_holds_only_slower_than_real_time() -> None:
    engine = RenderRate(rtf=0.4)
    meter = RequestMeter(engine)
    assert not meter.hold()  # nothing rendered yet: the machine's figure
    meter.model_s, meter.audio_s = 3.0, 2.0
    assert meter.hold() and meter.rtf == 1.5
    meter.close()
    assert 0.4 < engine.rtf < 1.5  # the engine learns from the request


@pytest.fixture
def slow_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Every model call that renders audio takes 1.6× that audio's length."""
    real = engine.scheduler.run

    async def slow(job, deadline):
        began = time.monotonic()
        result = await real(job, deadline)
        if isinstance(result, np.ndarray) and result.ndim == 1:
            await asyncio.sleep(max(0.0, 1.6 * len(result) / 24000
                                    - (time.monotonic() - began)))
        return result

    monkeypatch.setattr(engine.scheduler, "run", slow)
    return engine


def stall(reply) -> float:
    chunks = [(t, len(e.payload or b"") / 2 / 24000)
              for e, t in zip(reply.events, reply.times, strict=True) if e.type == "audio-chunk"]
    return continuity([t for t, _ in chunks], [d for _, d in chunks]).stall_s


@pytest.mark.parametrize("hold", [True, False], ids=["held", "not-held-control"])
def test_slow_machine_speaks_without_gaps(slow_engine: Engine, server: ServerThread,
                                          monkeypatch: pytest.MonkeyPatch, hold: bool) -> None:
    monkeypatch.setattr(slow_engine.options, "max_hold", 120.0)
    if not hold:  # the control shows the slowdown does cause gaps when audio is not held
        monkeypatch.setattr(RequestMeter, "hold", lambda self: False)
    reply = asyncio.run(exchange(server.uri, [Synthesize(TEXT).event()], until="audio-stop",
                                 timeout=300))
    assert reply.types[-1] == "audio-stop"
    if hold:
        assert stall(reply) <= 0.05
    else:
        assert stall(reply) > 0.3


def test_first_audio_never_waits_past_what_a_satellite_allows(
        slow_engine: Engine, server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slow_engine.options, "max_hold", 1.0)
    long_text = " ".join([TEXT] * 3)
    reply = asyncio.run(exchange(server.uri, [Synthesize(long_text).event()],
                                 until="audio-stop", timeout=300))
    first, last = reply.first("audio-chunk"), reply.times[-1]
    assert first is not None and first < last - 5  # started long before the text was rendered
