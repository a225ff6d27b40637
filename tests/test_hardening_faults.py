"""Faults: broken model and voices files, an interrupted or corrupted download, a missing
execution provider, a full disk, SIGTERM mid-synthesis and a failing worker. Each gives a
clear error (at start: exit status 2 and one line, no traceback, no retry loop) or a clean
recovery, never a crash or a hang."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import logging
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.engine.assets import STAGING_DIR, bucket_filename
from wyoming_kokoro.engine.loader import load_engine
from wyoming_kokoro.engine.model import KokoroModel
from wyoming_kokoro.settings import Settings

from .hardening_support import (
    PYTHON,
    ROOT,
    LogSpy,
    RawClient,
    ask,
    build_fast_engine,
    cli_env,
    codes,
    describe_ok,
    fast_assets,
    free_port,
    serving,
    start_cli,
    wait_listening,
)

INJECTED: list[str] = []  # every fault injected, for the figures


def _broken_files(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name → (CLI arguments, text the error must contain)."""
    model, voices = fast_assets()
    truncated = tmp / "truncated.onnx"
    truncated.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    corrupt = tmp / "corrupt.onnx"
    corrupt.write_bytes(np.random.default_rng(1).bytes(4096))
    empty = tmp / "empty.onnx"
    empty.write_bytes(b"")
    not_kokoro = tmp / "identity.onnx"
    _identity_model(not_kokoro)
    cut_voices = tmp / "cut-voices.npz"
    cut_voices.write_bytes(voices.read_bytes()[:10_000])
    return {
        "model file missing": (["--model", str(tmp / "missing.onnx")], "does not exist"),
        "model truncated": (["--model", str(truncated), "--voices", str(voices)],
                            "cannot load ONNX model"),
        "model corrupt": (["--model", str(corrupt), "--voices", str(voices)],
                          "cannot load ONNX model"),
        "model empty": (["--model", str(empty), "--voices", str(voices)],
                        "cannot load ONNX model"),
        "model not Kokoro": (["--model", str(not_kokoro), "--voices", str(voices)],
                             "not a Kokoro model"),
        "voices file missing": (["--model", str(model), "--voices", str(tmp / "nope.npz")],
                                "voices"),
        "voices file truncated": (["--model", str(model), "--voices", str(cut_voices)],
                                  "cannot read voices file"),
        "blend of a missing voice": (["--model", str(model), "--voices", str(voices),
                                      "--blend", "af_mix=af_missing:1+af_heart:1"],
                                     "af_missing"),
    }


def _identity_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def test_broken_model_and_voices_files_fail_clearly_at_start(tmp_path: Path) -> None:
    """Started side by side (each is one interpreter start): exit status 2, the reason in
    one log line, no traceback; the process ends instead of retrying."""
    cases = _broken_files(tmp_path)
    processes = {}
    for name, (args, _) in cases.items():
        processes[name] = start_cli(["--uri", f"tcp://127.0.0.1:{free_port()}",
                                     "--data-dir", str(tmp_path), "--no-download", *args])
    failures = []
    for name, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            failures.append(f"{name}: still running after 120 s")
            continue
        expected = cases[name][1]
        INJECTED.append(name)
        if process.returncode != 2 or "Traceback" in stderr or expected not in stderr:
            failures.append(f"{name}: exit {process.returncode}: {stderr[-600:]}")
    assert not failures, "\n".join(failures)


def test_voices_file_without_the_default_voice(tmp_path: Path) -> None:
    """No af_heart in the file: the server starts with another voice and requests naming
    af_heart fall back to it with a warning."""
    from .synthetic import write_voices

    model, _ = fast_assets()
    voices = write_voices(tmp_path / "voices.npz", ["bf_emma", "ef_dora"])
    settings = Settings(model=str(model), voices=str(voices), data_dirs=[tmp_path],
                        allow_download=False, threads=1, voice="af_heart")
    spy = LogSpy(logging.WARNING)
    with spy.installed():
        engine = load_engine(settings, warm_up=False)
    INJECTED.append("voices file missing the default voice")
    try:
        assert engine.default_voice == "bf_emma"
        assert any("af_heart" in t and "not found" in t for t in spy.texts())
        with serving(engine) as thread, spy.installed():
            reply = asyncio.run(ask(thread.port, Synthesize(text="Hello there.", voice=None)
                                    .event(), until="audio-stop"))
            named = asyncio.run(ask(thread.port, raw_named("Hello there.", "af_heart"),
                                    until="audio-stop"))
        assert reply.types[-1] == named.types[-1] == "audio-stop" and len(named.audio) > 0
        assert any("unknown voice 'af_heart'" in t for t in spy.texts())
    finally:
        engine.close()


def raw_named(text: str, voice: str):
    from .hardening_support import raw_event

    return raw_event("synthesize", {"text": text, "voice": {"name": voice}})


# -- downloads ------------------------------------------------------------------------------
REPO = "test-org/kokoro-test"


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
        prefix = f"/{REPO}/resolve/main/"
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

    def do_HEAD(self) -> None:
        found = self._file()
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self._headers(*found)
        self.send_header("Content-Length", str(len(found[1])))
        self.end_headers()

    def do_GET(self) -> None:
        found = self._file()
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
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


@pytest.fixture
def hub_files() -> dict[str, bytes]:
    _, voices = fast_assets()
    model = np.random.default_rng(7).bytes(3_000_000)  # resolve() never parses it
    return {bucket_filename("b32") or "": model, "voices.npz": voices.read_bytes()}


@pytest.fixture
def fake_hub(request: pytest.FixtureRequest, hub_files: dict[str, bytes]) -> Iterator[FakeHub]:
    hub = FakeHub(hub_files, request.param)
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    yield hub
    hub.shutdown()
    hub.server_close()


RESOLVE = """
import hashlib, sys
from pathlib import Path
from wyoming_kokoro.engine.assets import AssetError, resolve
data = Path(sys.argv[1])
try:
    assets = resolve("b32", None, [data], data, repo=sys.argv[2], bundle_fallback=False)
except AssetError as err:
    print("ASSET-ERROR", err)
    sys.exit(3)
print(hashlib.sha256(assets.model.read_bytes()).hexdigest(), assets.model)
"""


def _resolve_from(hub: FakeHub, data: Path, fsize: int | None = None,
                  repo: str = REPO) -> subprocess.CompletedProcess:
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


def _final(data: Path) -> Path:
    return data / (bucket_filename("b32") or "")


@pytest.mark.parametrize("fake_hub", ["cut-once"], indirect=True)
def test_interrupted_download_resumes_to_the_exact_file(fake_hub: FakeHub, tmp_path: Path,
                                                        hub_files: dict[str, bytes]) -> None:
    result = _resolve_from(fake_hub, tmp_path)
    INJECTED.append("download cut half-way (then resumed)")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    expected = hashlib.sha256(hub_files[bucket_filename("b32") or ""]).hexdigest()
    assert result.stdout.split()[0] == expected
    assert any("Range" not in r for r in fake_hub.requests) and fake_hub.gets >= 3
    # only the configured repository was asked, for nothing but the files it needed
    assert all(r.split()[1].startswith(f"/{REPO}/resolve/main/") for r in fake_hub.requests)


@pytest.mark.parametrize("fake_hub", ["cut-always", "corrupt"], indirect=True)
def test_failed_or_corrupt_download_is_never_used(fake_hub: FakeHub, tmp_path: Path) -> None:
    result = _resolve_from(fake_hub, tmp_path)
    INJECTED.append(f"download {fake_hub.mode}")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert "ASSET-ERROR" in result.stdout and "Traceback" not in result.stdout
    if fake_hub.mode == "corrupt":
        assert "corrupt" in result.stdout
    assert not _final(tmp_path).exists()  # nothing partial or unverified where it is looked for
    again = _resolve_from(fake_hub, tmp_path)  # a later start tries again, still safely
    assert again.returncode == 3 and not _final(tmp_path).exists()


@pytest.mark.parametrize("fake_hub", ["ok"], indirect=True)
def test_disk_full_during_download_is_a_clear_error(fake_hub: FakeHub, tmp_path: Path) -> None:
    result = _resolve_from(fake_hub, tmp_path, fsize=1_000_000)  # the model is 3 MB
    INJECTED.append("disk full while downloading")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert not _final(tmp_path).exists()
    staged = list((tmp_path / STAGING_DIR).rglob("*.onnx"))
    assert not staged  # at most a resumable .incomplete file is left behind


def test_disk_full_writing_the_offline_model(tmp_path: Path) -> None:
    """The bundle's 80 MB model is assembled into the data dir: with the disk full at 1 MB
    the start fails with a clear reason, leaving no partial model behind."""
    script = ("import sys\nfrom pathlib import Path\n"
              "from wyoming_kokoro.engine.assets import AssetError, bundle_assets\n"
              "try:\n    bundle_assets(Path(sys.argv[1]))\n"
              "except AssetError as err:\n    print('ASSET-ERROR', err)\n    sys.exit(3)\n")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    result = subprocess.run([PYTHON, "-c", script, str(tmp_path)], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=120, preexec_fn=limit)
    INJECTED.append("disk full writing the data dir")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert "cannot write the offline model" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_unavailable_provider_falls_back_to_cpu_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort

    model, _ = fast_assets()
    spy = LogSpy(logging.WARNING)
    with spy.installed():
        missing = KokoroModel.load(model, "tensorrt,cuda", threads=1)
    assert missing.providers == ["CPUExecutionProvider"]
    assert sum("not available" in t for t in spy.texts()) == 2
    # listed by onnxruntime but failing to start (no GPU, no driver): same fallback
    real = ort.get_available_providers()
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", *real])
    with spy.installed():
        broken = KokoroModel.load(model, "cuda", threads=1)
    INJECTED.extend(["provider not installed", "provider failing to start"])
    assert broken.providers == ["CPUExecutionProvider"]
    assert any("failed to start" in t for t in spy.texts())


# -- SIGTERM --------------------------------------------------------------------------------
def test_sigterm_during_synthesis_stops_cleanly(tmp_path: Path) -> None:
    model, voices = fast_assets()
    port = free_port()
    process = start_cli(["--uri", f"tcp://127.0.0.1:{port}", "--model", str(model),
                         "--voices", str(voices), "--data-dir", str(tmp_path),
                         "--no-download", "--threads", "1"])
    try:
        wait_listening(port, process)

        async def interrupted() -> tuple[list[str], float]:
            client = await RawClient.connect(port)
            await client.send(Synthesize(text="Good night. [pause:10s] " * 30).event())
            await client.read(until="audio-chunk", timeout=30)
            process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            while True:  # a slow reader: the answer is still being written when SIGTERM lands
                await asyncio.sleep(0.05)
                try:
                    await client.read(until="audio-chunk", timeout=30)
                except TimeoutError:
                    break
                if client.reply.closed:
                    break
            await client.close()
            return client.reply.types, time.monotonic() - sent

        types, _ = asyncio.run(interrupted())
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    INJECTED.append("SIGTERM during synthesis")
    assert process.returncode == 0, stderr[-2000:]
    assert "Stopping" in stderr and "Traceback" not in stderr and " ERROR " not in stderr
    assert types[0] == "audio-start"


# -- worker faults ---------------------------------------------------------------------------
@pytest.fixture
def faulty():
    engine, model = build_fast_engine()
    with serving(engine) as thread:
        yield thread, model
    engine.close()


def test_worker_exception_ends_the_stream_and_the_pool_keeps_working(faulty) -> None:
    thread, model = faulty
    text = "Turned on the kitchen lights. The temperature is twenty one degrees. Good night."

    async def run() -> None:
        model.fail_when = lambda ids: True  # the very first model call
        stream = await ask(thread.port, SynthesizeStart().event(), SynthesizeChunk(
            text=text).event(), SynthesizeStop().event(), until="synthesize-stopped")
        assert codes(stream) == ["synthesis-failed"] and stream.types[-1] == "synthesize-stopped"
        plain = await ask(thread.port, Synthesize(text=text).event())
        assert codes(plain) == ["synthesis-failed"] and plain.closed
        rendered = model.rendered
        model.fail_when = lambda ids: model.rendered >= rendered + 3  # after some audio
        late = await ask(thread.port, SynthesizeStart().event(), SynthesizeChunk(
            text=text).event(), SynthesizeStop().event(), until="synthesize-stopped")
        assert late.types[0] == "audio-start" and "audio-chunk" in late.types
        assert codes(late) == ["synthesis-failed"] and late.types[-1] == "synthesize-stopped"
        model.fail_when = None
        for _ in range(3):  # the single worker thread survived every fault
            ok = await ask(thread.port, Synthesize(text=text).event(), until="audio-stop")
            assert ok.types[-1] == "audio-stop" and not codes(ok) and len(ok.audio) > 0
        assert await describe_ok(thread.port)

    spy = LogSpy(logging.ERROR)
    with spy.installed():
        asyncio.run(run())
    INJECTED.extend(["model call fails at once (stream)", "model call fails (synthesize)",
                     "model call fails mid-stream"])
    assert all("injected model fault" in t for t in spy.texts())  # logged, with the cause


def test_g2p_exception_is_an_error_not_a_crash(faulty, monkeypatch: pytest.MonkeyPatch) -> None:
    thread, _ = faulty

    def broken(text: str, code: str) -> str:
        raise IndexError("injected G2P fault")

    engine = thread.engine
    monkeypatch.setattr(engine.g2p, "phonemize", broken)
    reply = asyncio.run(ask(thread.port, Synthesize(text="Hello there.").event()))
    monkeypatch.undo()
    INJECTED.append("G2P raises")
    assert codes(reply) == ["synthesis-failed"] and reply.closed
    ok = asyncio.run(ask(thread.port, Synthesize(text="Hello there.").event(),
                         until="audio-stop"))
    assert ok.types[-1] == "audio-stop"


def test_fault_figures() -> None:
    print(f"\nfaults injected: {len(INJECTED)}: {', '.join(INJECTED)}")
    assert len(INJECTED) >= 15

