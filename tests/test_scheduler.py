"""Admission under overload: which model call runs next when several requests wait."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from wyoming_kokoro.model.job import Job
from wyoming_kokoro.synth import scheduler as scheduler_module
from wyoming_kokoro.synth.scheduler import BETWEEN_CALLS_S, Scheduler, Ticket


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


def test_a_head_runs_only_if_the_playing_streams_can_wait_as_long_as_it_takes() -> None:
    """The playing streams' slack (from the playout plan) against the head's own estimate."""
    for head_cost, expected in ((0.1, ["new", "playing"]), (1.0, ["playing", "new"])):
        scheduler = Scheduler(1, job_seconds=0.01, slack=lambda: 0.5)
        new = Ticket()
        new.work_left = lambda cost=head_cost: cost
        try:
            order = asyncio.run(order_run(scheduler, {"new": new, "playing": playing(5.0)}))
        finally:
            scheduler.close()
        assert order == expected, head_cost


def test_the_worker_records_each_requests_model_time() -> None:
    scheduler = Scheduler(1)
    ticket = Ticket()
    try:
        asyncio.run(scheduler.run(Job(time.sleep, (0.2,)), ticket))
    finally:
        scheduler.close()
    assert 0.2 <= ticket.model_s < 1.0 and ticket.running_since is None


def test_a_newcomer_waits_a_moment_for_a_speaking_stream_between_two_calls() -> None:
    """A call is never interrupted: with no spare time, a newcomer's long call must not take
    the worker in the moment a speaking stream prepares its next one; but it is not starved
    when none comes."""

    async def scenario(playing_comes: bool) -> tuple[list[str], float]:
        scheduler = Scheduler(1, job_seconds=0.01, slack=lambda: 0.1)
        new = Ticket()
        new.work_left = lambda: 1.0
        ran: list[str] = []
        try:
            began = time.monotonic()
            head = asyncio.ensure_future(scheduler.run(Job(ran.append, ("new",)), new))
            await asyncio.sleep(0.05)
            if playing_comes:
                await scheduler.run(Job(ran.append, ("playing",)), playing(0.5))
            await head
            return ran, time.monotonic() - began
        finally:
            scheduler.close()

    order, _ = asyncio.run(scenario(True))
    assert order == ["playing", "new"]
    order, took = asyncio.run(scenario(False))
    assert order == ["new"] and BETWEEN_CALLS_S <= took < 5


def test_a_call_waiting_long_runs_whatever_the_plan_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's figures may be off (a stream that never catches up): past --max-hold, a
    newcomer, or a stream that started late, is served after STARVED_S instead of never."""
    monkeypatch.setattr(scheduler_module, "STARVED_S", 0.01)  # order_run queues for 0.05 s
    scheduler = Scheduler(1, job_seconds=0.01, slack=lambda: -1.0)
    try:
        order = asyncio.run(order_run(scheduler, {"playing": playing(0.5), "new": Ticket()}))
    finally:
        scheduler.close()
    assert order == ["new", "playing"]
    scheduler = Scheduler(1, job_seconds=0.01, slack=lambda: -1.0)
    try:  # the control: before its --max-hold the plan holds the newcomer back
        order = asyncio.run(order_run(scheduler, {"playing": playing(0.5),
                                                  "new": Ticket(start_by=float("inf"))}))
    finally:
        scheduler.close()
    assert order == ["playing", "new"]


def test_a_speaking_stream_with_time_in_hand_waits_for_the_oldest_newcomers_next_call() -> None:
    """The oldest newcomer between two of its calls (its next sentence's text step, a head's
    fade) must not lose the worker to a speaking stream with audio in hand: that call would
    delay its first audio by a whole sentence (seen: 1.6 s, for a 10 ms text step)."""

    async def scenario(slack: float) -> list[str]:
        new = Ticket()
        new.work_left = lambda: 0.1
        scheduler = Scheduler(1, job_seconds=0.01, slack=lambda: slack,
                              first_in_line=lambda: new.arrival)
        ran: list[str] = []
        try:
            live = asyncio.ensure_future(scheduler.run(Job(ran.append, ("playing",)),
                                                       playing(5.0)))
            await asyncio.sleep(0.05)  # the newcomer's next call comes a moment later
            await scheduler.run(Job(ran.append, ("new",)), new)
            await live
            return ran
        finally:
            scheduler.close()

    assert asyncio.run(scenario(5.0)) == ["new", "playing"]
    # the control: a stream that cannot spare the wait goes on at once
    assert asyncio.run(scenario(0.1)) == ["playing", "new"]


def test_no_call_due_later_takes_the_worker_while_a_stream_due_earlier_prepares_its_next() -> None:
    """The playout plan counts no call of another stream in front of a block: a call is never
    interrupted, so the worker waits a moment for the stream due first when it is between
    two calls — and only for one due first, and not for ever."""

    async def scenario(between_left: float, comes: bool) -> tuple[list[str], float]:
        between = playing(between_left)
        scheduler = Scheduler(1, job_seconds=0.01,
                              between_calls=lambda: [] if "between" in ran else [between])
        ran: list[str] = []
        try:
            began = time.monotonic()
            later = asyncio.ensure_future(scheduler.run(Job(ran.append, ("later",)),
                                                        playing(3.0)))
            await asyncio.sleep(0.05)  # the stream due first queues its call a moment later
            if comes:
                await scheduler.run(Job(ran.append, ("between",)), between)
            await later
            return ran, time.monotonic() - began
        finally:
            scheduler.close()

    order, _ = asyncio.run(scenario(1.0, comes=True))
    assert order == ["between", "later"]
    order, _ = asyncio.run(scenario(5.0, comes=True))  # due after the queued call: no wait
    assert order == ["later", "between"]
    order, took = asyncio.run(scenario(1.0, comes=False))
    assert order == ["later"] and BETWEEN_CALLS_S <= took < 5

