"""HTTP timing client for the benchmark (`bench --http`): the same request as a Wyoming
`synthesize`, sent to the OpenAI-compatible API as raw PCM, every piece of the chunked body
stamped on arrival, so first audio over HTTP and over Wyoming compare like for like."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import aiohttp

from bench.client import BenchError, Timing
from wyoming_kokoro import audio

BYTES_PER_SECOND = audio.SAMPLE_RATE * audio.SAMPLE_WIDTH * audio.CHANNELS


def check_loopback_url(url: str) -> None:
    """The bench only talks to this machine (it measures, it never loads someone's server)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme != "http" or not (host.startswith("127.") or host in ("localhost", "::1")):
        raise BenchError(f"--http needs a loopback http:// URL, got {url!r}")


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Until GET /health answers 200 (the API starts just after the Wyoming listener)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"the HTTP API at {url} did not answer /health")
            await asyncio.sleep(0.1)


async def speech(url: str, text: str, timeout: float, source: str | None = None) -> Timing:
    """One POST /v1/audio/speech (pcm) on a fresh connection, like the Wyoming client's."""
    connector = aiohttp.TCPConnector(force_close=True,
                                     local_addr=(source, 0) if source else None)
    async with asyncio.timeout(timeout), aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        async with session.post(url + "/v1/audio/speech", json={
                "model": "kokoro", "input": text, "response_format": "pcm"}) as response:
            timing = Timing("http", 0.0, 0.0, began=start)  # the whole text left at once
            if response.status != 200:
                raise BenchError(f"HTTP {response.status}: {(await response.text())[:300]}")
            async for data in response.content.iter_any():
                timing.arrivals.append(time.perf_counter() - start)
                timing.durations.append(len(data) / BYTES_PER_SECOND)
        timing.end_s = time.perf_counter() - start
    if not timing.arrivals:
        raise BenchError("HTTP response without audio")
    return timing
