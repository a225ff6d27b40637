"""Admission under overload: which model call runs next when several requests wait."""

from __future__ import annotations

import asyncio
import threading
import time

from wyoming_kokoro.model.job import Job
from wyoming_kokoro.synth.scheduler import Scheduler, Ticket


def playing(seconds_left: float) -> Ticket:
    """A request that started playing and has `seconds_left` of audio buffered."""
    ticket = Ticket(arrival=time.monotonic() - 5)
    ticket.first_audio = time.monotonic() - 1
    ticket.audio_seconds = 1 + seconds_left
    return ticket


async def order_run(scheduler: Scheduler, tickets: dict[str, Ticket]) -> list[str]:
    """Occupy the one worker, queue one job per ticket, then see which order they ran in."""
    gate, ran = threading.Event(), []
    blocker = asyncio.ensure_future(scheduler.run(Job(gate.wait, (5,)), Ticket()))
    await asyncio.sleep(0.05)  # the worker is inside the blocker now
    jobs = [asyncio.ensure_future(scheduler.run(Job(ran.append, (name,)), ticket))
            for name, ticket in tickets.items()]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(blocker, *jobs)
    return ran


def test_new_heads_go_first_while_playing_streams_have_audio_in_hand() -> None:
    scheduler = Scheduler(1, job_seconds=0.2)
    try:
        order = asyncio.run(order_run(scheduler, {"playing": playing(5.0), "new": Ticket()}))
    finally:
        scheduler.close()
    assert order == ["new", "playing"]  # earliest deadline: the newcomer starts quickly


def test_a_playing_stream_about_to_run_dry_goes_before_a_new_head() -> None:
    scheduler = Scheduler(1, job_seconds=0.2)
    try:
        order = asyncio.run(order_run(scheduler, {"new": Ticket(), "playing": playing(0.3)}))
    finally:
        scheduler.close()
    # running the head first (≈ 0.2 s) then this call (≈ 0.2 s) would leave a gap in speech
    assert order == ["playing", "new"]


def test_among_playing_streams_the_one_nearest_silence_goes_first() -> None:
    scheduler = Scheduler(1, job_seconds=0.01)
    try:
        order = asyncio.run(order_run(scheduler, {"far": playing(4.0), "near": playing(1.0)}))
    finally:
        scheduler.close()
    assert order == ["near", "far"]
