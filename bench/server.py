"""The server under test for the benchmark: a loopback subprocess started for the run (or an
existing loopback server), and its memory watched from outside, so RSS is the server's own."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil

from bench.client import BenchError, describe

MB = 1024 * 1024


def check_loopback(uri: str) -> None:
    """The benchmark never sends traffic off the machine: tcp to a loopback address or unix."""
    parsed = urlparse(uri)
    if parsed.scheme == "unix":
        return
    if parsed.scheme != "tcp" or not parsed.hostname or not parsed.port:
        raise BenchError(f"--uri must be tcp://HOST:PORT on loopback or unix://PATH, got {uri!r}")
    host = parsed.hostname
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise BenchError(f"the benchmark is loopback-only; {host!r} is not a loopback address")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m wyoming_kokoro` on 127.0.0.1:<free port>, ready once it answers describe."""

    def __init__(self, server_args: list[str], start_timeout: float = 180.0,
                 cpus: set[int] | None = None) -> None:
        self.server_args = list(server_args)
        self.start_timeout = start_timeout
        self.cpus = cpus  # pin the server to these cores: a slower machine on any machine
        self.uri = f"tcp://127.0.0.1:{free_port()}"
        self.proc: asyncio.subprocess.Process | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="wyoming-kokoro-bench-", suffix=".log",
                                                delete=False)
        self.log_path = Path(self._log.name)
        self.ready_s = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def __aenter__(self) -> ServerProcess:
        command = [sys.executable, "-m", "wyoming_kokoro", "--uri", self.uri, *self.server_args]
        started = time.monotonic()
        cpus = self.cpus
        self.proc = await asyncio.create_subprocess_exec(
            *command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        try:
            await self._wait_ready(started + self.start_timeout)
        except BaseException:
            await self.stop()
            raise
        self.ready_s = time.monotonic() - started
        return self

    async def _wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise BenchError(f"server exited with code {self.proc.returncode}:\n"
                                 f"{self.log_tail()}")
            with contextlib.suppress(OSError, TimeoutError, BenchError):
                await describe(self.uri, timeout=2.0)
                return
            await asyncio.sleep(0.2)
        raise BenchError(f"server did not answer describe within {self.start_timeout:.0f} s:\n"
                         f"{self.log_tail()}")

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """SIGTERM (the server drains and exits), SIGKILL after 15 s; the log file goes too."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 5)
        self._log.close()
        with contextlib.suppress(OSError):
            self.log_path.unlink()


class MemoryWatch:
    """Samples a process's RSS in a thread (peak), reads the kernel's exact high-water mark
    (VmHWM) where Linux offers it, and gives point readings for the growth test."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="bench-rss")

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def start(self) -> MemoryWatch:
        self._thread.start()
        return self

    def rss(self) -> int:
        rss = self.process.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    def high_water_mark(self) -> int | None:
        """VmHWM in bytes (exact peak since the process started), or None off Linux."""
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return None

    def stop(self) -> dict[str, float | str]:
        """Peak RSS in MB and where it came from; call while the process is still alive."""
        hwm = self.high_water_mark()
        self._stop.set()
        self._thread.join(2)
        if hwm is not None and hwm >= self.peak:
            return {"peak_rss_mb": hwm / MB, "peak_source": "VmHWM"}
        return {"peak_rss_mb": self.peak / MB, "peak_source": "sampled"}



class CpuHog:
    """Busy processes beside the server (pinned to its cores when it is pinned): the load
    another add-on or a browser puts on a small machine, reproducible anywhere."""

    def __init__(self, count: int, cpus: set[int] | None = None) -> None:
        self.count = count
        self.cpus = cpus
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> CpuHog:
        cpus = self.cpus
        for _ in range(self.count):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None))
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(5)
        self.procs.clear()
