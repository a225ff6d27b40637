"""The benchmark's load phases: concurrent clients (throughput, TTFA spread, fairness), describe
latency probed while they run, and RSS growth over many requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import numpy as np

from bench import client, http_api
from bench.config import BenchConfig
from bench.report import jain, percentile, summary
from bench.server import MB, MemoryWatch

_LOGGER = logging.getLogger(__name__)
GAP_S = 0.05  # inserted silence a listener notices


async def probe_describe(uri: str, count: int | None = None, interval: float = 0.05,
                         stop: asyncio.Event | None = None) -> tuple[list[float], int]:
    """describe round trips (ms) on fresh connections, `count` of them or until `stop` is set;
    a probe that fails or takes over 10 s counts as a failure and as 10 s."""
    times: list[float] = []
    failures = 0
    while (count is None or len(times) < count) and not (stop is not None and stop.is_set()):
        try:
            times.append(await client.describe(uri, timeout=10.0) * 1000)
        except (client.BenchError, TimeoutError, OSError):
            failures += 1
            times.append(10_000.0)
        if stop is None:
            await asyncio.sleep(interval)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    return times, failures


def describe_stats(times_ms: list[float], failures: int, clients: int = 0
                   ) -> dict[str, float | int] | None:
    if not times_ms:
        return None
    return {"p50_ms": percentile(times_ms, 50), "p99_ms": percentile(times_ms, 99),
            "max_ms": max(times_ms), "n": len(times_ms), "failures": failures,
            "clients": clients}


async def _client_loop(uri: str, text: str, requests: int, timeout: float,
                       source: str | None, http: str | None = None) -> list[client.Timing]:
    if http is not None:  # an OpenAI-API client (bench --http)
        return [await http_api.speech(http, text, timeout, source) for _ in range(requests)]
    return [await client.synthesize(uri, text, timeout, source) for _ in range(requests)]


async def _round(uri: str, text: str, sources: list[str | None], cfg: BenchConfig, probe: bool
                 ) -> tuple[dict[str, float], list[client.Timing], list[float], tuple[list, int]]:
    """One burst: one client per source address starts at once, each sends `per_client`
    requests back to back (a closed loop that keeps the server at that concurrency)."""
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_describe(uri, interval=cfg.describe_interval, stop=stop)
                                 ) if probe else None
    began = time.perf_counter()
    try:
        results = await asyncio.gather(*(
            _client_loop(uri, text, cfg.per_client, cfg.timeout_s, source,
                         cfg.http if cfg.http and i % 2 else None)  # with --http: every 2nd
            for i, source in enumerate(sources)))
    finally:
        stop.set()
        probed = await prober if prober is not None else ([], 0)
    # A client is served when its last audio arrived; the end event's lag is reported apart.
    done = [max(t.last_audio_at for t in timings) - began for timings in results]
    audio = [sum(t.audio_s for t in timings) for timings in results]
    wall = max(done)
    figures = {"audio_per_wall": sum(audio) / wall, "rtf": wall / sum(audio),
               "fairness": jain([a / d for a, d in zip(audio, done, strict=True)])}
    flat = [t for timings in results for t in timings]
    per_client = [float(np.median([t.ttfa_s for t in timings])) for timings in results]
    return figures, flat, per_client, probed



async def measure_load(uri: str, cfg: BenchConfig, text: str, text_name: str
                       ) -> tuple[list[dict], dict | None, bool]:
    """Each concurrency level for `runs` rounds; describe is probed at the highest level.
    Clients connect from distinct loopback addresses where possible (they stand for distinct
    devices), unless `same_address`; the third value says which happened."""
    top = max(cfg.clients)
    all_sources = [None] * top if cfg.same_address else await client.distinct_sources(uri, top)
    levels: list[dict] = []
    probe_ms: list[float] = []
    probe_failures = 0
    single_ttfa: float | None = None
    for clients in cfg.clients:
        rounds = []
        for i in range(cfg.runs):
            rounds.append(await _round(uri, text, all_sources[:clients], cfg, clients == top))
            _LOGGER.info("load %d client(s), round %d/%d: %.2f audio s per wall s", clients,
                         i + 1, cfg.runs, rounds[-1][0]["audio_per_wall"])
        timings = [t for _, flat, _, _ in rounds for t in flat]
        ttfa = [t.ttfa_s for t in timings]
        p50, p95 = percentile(ttfa, 50), percentile(ttfa, 95)
        if clients == 1:
            single_ttfa = p50
        for *_, (times, failures) in rounds:
            probe_ms += times
            probe_failures += failures
        levels.append({
            "clients": clients, "text": text_name, "per_client": cfg.per_client,
            "rounds": cfg.runs,
            **{key: summary([f[key] for f, *_ in rounds if f[key] is not None])
               for key in ("audio_per_wall", "rtf", "fairness")},
            "ttfa_p50_s": p50, "ttfa_p95_s": p95,
            "ttfa_p95_vs_single": p95 / single_ttfa if single_ttfa and p95 else None,
            "stop_lag_max_s": max(t.stop_lag_s for t in timings),
            # silence a player would insert mid-speech, per request (gap-free: all zero)
            "silence_max_s": max(t.continuity().stall_s for t in timings),
            "requests_with_gap": sum(t.continuity().stall_s > GAP_S for t in timings),
            "longest_gap_s": max(t.continuity().longest_s for t in timings),
            "client_ttfa_median_s": [c for _, _, cts, _ in rounds for c in cts],
            "ttfa_s": ttfa,
        })
    return levels, describe_stats(probe_ms, probe_failures, top), all_sources[-1] is not None


async def measure_memory(uri: str, watch: MemoryWatch, cfg: BenchConfig, text: str
                         ) -> dict[str, object]:
    """RSS after each of `rss_requests` sequential requests on a warmed server; the slope of a
    least-squares line is the leak figure (single readings jump with the allocator)."""
    start = watch.rss() / MB
    samples = []
    for i in range(cfg.rss_requests):
        await client.synthesize(uri, text, cfg.timeout_s)
        samples.append(watch.rss() / MB)
        if (i + 1) % 10 == 0 or i + 1 == cfg.rss_requests:
            _LOGGER.info("memory: %d/%d requests, RSS %.1f MB", i + 1, cfg.rss_requests,
                         samples[-1])
    slope = float(np.polyfit(np.arange(len(samples)), samples, 1)[0]) if len(samples) > 1 else 0.0
    return {"rss_requests": len(samples), "rss_start_mb": start,
            "rss_end_mb": samples[-1] if samples else start,
            "growth_mb": (samples[-1] - start) if samples else 0.0,
            "slope_kb_per_request": slope * 1024, "samples_mb": samples}
