"""Tools for the hardening tests: a fast synthetic engine, raw clients, fault and audit spies.

The synthetic bucket graph (tests/synthetic.py) is a real ONNX session with the Kokoro contract
that renders in microseconds, so protocol, load and fuzz tests exercise the real server, G2P
and segmenting without spending the CI budget on neural inference.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import http.server
import json
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from wyoming.event import Event, async_read_event, async_write_event

from wyoming_kokoro.model.kokoro import KokoroModel
from wyoming_kokoro.phonemes.g2p import G2PRegistry
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.voices import VoiceLibrary, load_packs

from .support import Reply, ServerThread, open_loopback
from .synthetic import build_bucket_model, write_voices

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# One pack per Kokoro language, named like the real ones so language inference works.
FAST_VOICES = ["af_heart", "bf_emma", "ef_dora", "ff_siwis", "hf_alpha", "if_sara",
               "jf_alpha", "pf_dora", "zf_xiaobei"]
SENT_CODES = {"empty-text", "text-too-long", "bad-request", "bad-voice"}


@functools.cache
def fast_assets() -> tuple[Path, Path]:
    """(model, voices) of the synthetic b32 export, built once per process."""
    directory = Path(tempfile.mkdtemp(prefix="kokoro-hardening-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    model = build_bucket_model(directory / "kokoro-synthetic-b32.onnx", bucket=32)
    voices = write_voices(directory / "voices.npz", FAST_VOICES)
    return model, voices


class FaultyModel:
    """A KokoroModel stand-in that counts calls and raises when `fail_when(ids)` says so."""

    def __init__(self, model: KokoroModel) -> None:
        self._model = model
        self.calls = 0
        self.rendered = 0  # calls that returned audio
        self.fail_when: Callable[[Sequence[int]], bool] | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def run(self, ids: Sequence[int], style: np.ndarray, speed: float = 1.0) -> np.ndarray:
        self.calls += 1
        if self.fail_when is not None and self.fail_when(ids):
            raise RuntimeError("injected model fault")
        audio = self._model.run(ids, style, speed)
        self.rendered += 1
        return audio


def build_fast_engine(workers: int = 1) -> tuple[Engine, FaultyModel]:
    """A new engine over the synthetic model (its G2P registry is shared and warm)."""
    model_path, voices_path = fast_assets()
    model = FaultyModel(KokoroModel.load(model_path, "cpu", threads=1))
    engine = Engine(model, VoiceLibrary(load_packs(voices_path)), "af_heart", _shared_g2p(),
                    workers=workers)  # type: ignore[arg-type]
    return engine, model


@functools.cache
def _shared_g2p() -> G2PRegistry:
    return G2PRegistry()


@functools.cache
def fast_engine() -> Engine:
    """The shared fast engine (warm: English G2P loaded)."""
    engine, _ = build_fast_engine()
    engine.warm_up()
    return engine


class TunedServerThread(ServerThread):
    """A ServerThread whose accepted sockets get a small send buffer: a slow network in a
    test, so back-pressure reaches the server after kilobytes rather than megabytes."""

    sndbuf: int | None = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.sndbuf is not None:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
            writer.transport.set_write_buffer_limits(high=self.sndbuf)
        await super()._accept(reader, writer)


@contextmanager
def serving(engine: Engine, sndbuf: int | None = None, **config: object
            ) -> Iterator[ServerThread]:
    thread = TunedServerThread(engine, Settings(**config))  # type: ignore[arg-type]
    thread.sndbuf = sndbuf
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def on_loop(thread: ServerThread, func: Callable[[], object]) -> object:
    """Run `func` on the server's event loop (task inspection is not thread-safe)."""
    async def call() -> object:
        return func()
    return asyncio.run_coroutine_threadsafe(call(), thread.loop).result(10)


def server_tasks(thread: ServerThread) -> list[str]:
    """Names of the tasks alive on the server loop, sorted."""
    return sorted(on_loop(thread, lambda: [t.get_name() for t in asyncio.all_tasks()
                                           if t is not asyncio.current_task()]))


async def settle(thread: ServerThread, predicate: Callable[[], bool], timeout: float = 10.0
                 ) -> bool:
    """Poll until `predicate` holds (servers clean up asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def no_work_tasks(thread: ServerThread) -> bool:
    """No connection handler, stream or producer task left on the server loop."""
    return on_loop(thread, lambda: not thread.door.connections) and not [
        n for n in server_tasks(thread) if n.startswith("kokoro-")]


def raw_event(event_type: str, data: dict | None = None, payload: bytes | None = None,
              **header: object) -> bytes:
    """One event as bytes, JSON escaped (so lone surrogates can be sent as \\udXXX)."""
    head: dict[str, object] = {"type": event_type, "version": "1.0.0", **header}
    body = json.dumps(data).encode() if data else b""
    if body:
        head["data_length"] = len(body)
    if payload:
        head["payload_length"] = len(payload)
    return json.dumps(head).encode() + b"\n" + body + (payload or b"")


@dataclass
class RawClient:
    """A TCP client that sends arbitrary bytes and reads the server's events."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reply: Reply = field(default_factory=Reply)

    @classmethod
    async def connect(cls, port: int, source: str = "127.0.0.1",
                      rcvbuf: int | None = None) -> RawClient:
        return cls(*await open_loopback(port, source, rcvbuf))

    async def send(self, data: bytes | Event) -> None:
        if isinstance(data, Event):
            await async_write_event(data, self.writer)
        else:
            self.writer.write(data)
            await self.writer.drain()

    async def read(self, until: str | None = None, timeout: float = 30.0) -> Reply:
        """Collect events until `until` arrives or the server closes; TimeoutError on a hang."""
        start = time.monotonic()
        async with asyncio.timeout(timeout):
            while True:
                try:
                    event = await async_read_event(self.reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    event = None  # reset, or closed in the middle of an event
                if event is None:
                    self.reply.closed = True
                    return self.reply
                self.reply.events.append(event)
                self.reply.times.append(time.monotonic() - start)
                if until is not None and event.type == until:
                    return self.reply

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def ask(port: int, *items: bytes | Event, until: str | None = None,
              timeout: float = 30.0, source: str = "127.0.0.1") -> Reply:
    client = await RawClient.connect(port, source)
    try:
        for item in items:
            await client.send(item)
        return await client.read(until, timeout)
    finally:
        await client.close()


async def describe_ok(port: int, timeout: float = 10.0) -> bool:
    reply = await ask(port, raw_event("describe"), until="info", timeout=timeout)
    return reply.types == ["info"]


def codes(reply: Reply) -> list[str]:
    return [e.data.get("code", "") for e in reply.events if e.type == "error"]


class LogSpy(logging.Handler):
    """Every record at or above `level` from every logger, formatted, while installed."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(r) for r in list(self.records)]

    def at_least(self, level: int) -> list[str]:
        return [self.format(r) for r in list(self.records) if r.levelno >= level]

    @contextmanager
    def installed(self) -> Iterator[LogSpy]:
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(self)
        root.setLevel(min(old_level or logging.WARNING, self.level))
        try:
            yield self
        finally:
            root.removeHandler(self)
            root.setLevel(old_level)


class _Audit:
    """sys.audit hook (installed once, cannot be removed) recording opens and process starts."""

    EVENTS = ("open", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
              "os.spawn", "os.fork", "os.forkpty", "pty.spawn")

    def __init__(self) -> None:
        self.active = False
        self.events: list[tuple[str, str]] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.active and event in self.EVENTS:
            self.events.append((event, repr(args[0]) if args else ""))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str]]]:
        self.events = []
        self.active = True
        try:
            yield self.events
        finally:
            self.active = False


@functools.cache
def audit() -> _Audit:
    return _Audit()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a server subprocess: offline, no inherited WYOMING_KOKORO_* options."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WYOMING_KOKORO_")}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def start_cli(args: list[str], env: dict[str, str] | None = None,
              **popen: object) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", *args], cwd=ROOT,
                            env=env or cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Until the subprocess server accepts connections (fails fast if it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: "
                                 f"{process.stderr.read() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start listening")


# -- a fake Hugging Face hub ------------------------------------------------------------
HUB_REPO = "test-org/kokoro-test"


class FakeHub(http.server.ThreadingHTTPServer):
    """The Hugging Face resolve endpoint on 127.0.0.1, misbehaving on demand:
    `cut-once` drops the first GET half-way, `cut-always` every GET, `corrupt` serves bytes
    that do not match the sha256 it announces."""

    daemon_threads = True

    def __init__(self, files: dict[str, bytes], mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.files = files
        self.mode = mode
        self.requests: list[str] = []
        self.gets = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HubHandler(http.server.BaseHTTPRequestHandler):
    server: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _file(self) -> tuple[str, bytes] | None:
        prefix = f"/{HUB_REPO}/resolve/main/"
        self.server.requests.append(f"{self.command} {self.path}")
        if not self.path.startswith(prefix):
            return None
        name = self.path[len(prefix):].split("?")[0]
        return (name, self.server.files[name]) if name in self.server.files else None

    def _headers(self, name: str, data: bytes) -> None:
        self.send_header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")

    def _not_found(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        found = self._file()
        if found is None:
            self._not_found()
            return
        self.send_response(200)
        self._headers(*found)
        self.send_header("Content-Length", str(len(found[1])))
        self.end_headers()

    def do_GET(self) -> None:
        found = self._file()
        if found is None:
            self._not_found()
            return
        name, data = found
        body = data
        if self.server.mode == "corrupt":
            body = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        if (wanted := self.headers.get("Range", "")).startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
        self.server.gets += 1
        self.send_response(206 if start else 200)
        self._headers(name, data)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        cut = self.server.mode == "cut-always" or (
            self.server.mode == "cut-once" and self.server.gets == 1)
        if cut and len(body) - start > 1:
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # half-way: the peer sees the body end early
            return
        self.wfile.write(body[start:])


RESOLVE = """
import hashlib, sys
from pathlib import Path
from wyoming_kokoro.model.assets import AssetError, resolve
data = Path(sys.argv[1])
try:
    assets = resolve("b32", None, [data], data, repo=sys.argv[2], bundle_fallback=False)
except AssetError as err:
    print("ASSET-ERROR", err)
    sys.exit(3)
print(hashlib.sha256(assets.model.read_bytes()).hexdigest(), assets.model)
"""


def resolve_from_hub(hub: FakeHub, data: Path, fsize: int | None = None,
                     repo: str = HUB_REPO) -> subprocess.CompletedProcess:
    env = cli_env(HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", HF_HOME=str(data / "hf-home"),
                  HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1",
                  HF_HUB_ETAG_TIMEOUT="5", HF_HUB_DOWNLOAD_TIMEOUT="5",
                  NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env.pop(proxy, None)

    def limit_file_size() -> None:  # a disk that fills up after `fsize` bytes per file
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([PYTHON, "-c", RESOLVE, str(data), repo], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_file_size)


