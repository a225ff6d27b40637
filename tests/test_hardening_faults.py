"""Faults: broken model and voices files, an interrupted or corrupted download, a missing
execution provider, a full disk, SIGTERM mid-synthesis and a failing worker. Each gives a
clear error (at start: exit status 2 and one line, no traceback, no retry loop) or a clean
recovery, never a crash or a hang."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
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

from wyoming_kokoro.config import engine_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.model.assets import STAGING_DIR, bucket_filename
from wyoming_kokoro.model.kokoro import KokoroModel
from wyoming_kokoro.settings import Settings

from .hardening_support import (
    HUB_REPO,
    PYTHON,
    ROOT,
    FakeHub,
    LogSpy,
    RawClient,
    ask,
    build_fast_engine,
    cli_env,
    codes,
    describe_ok,
    fast_assets,
    free_port,
    resolve_from_hub,
    serving,
    start_cli,
    wait_listening,
)

INJECTED: list[str] = []  # every fault injected in this run, for the figures


@pytest.fixture
def faults() -> Iterator[list[str]]:
    """What the test injected: it must name at least one fault (a fault test that injects
    nothing checks nothing); the names go into this run's figures."""
    injected: list[str] = []
    yield injected
    assert injected, "the test injected no fault"
    INJECTED.extend(injected)


@pytest.fixture(scope="module", autouse=True)
def fault_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """The figures after the module; when every fault test of it ran (none deselected with
    -k), they add up to at least 15 faults."""
    yield
    print(f"\nfaults injected: {len(INJECTED)}: {', '.join(INJECTED)}")
    fault_tests = {name for name, func in vars(request.module).items()
                   if name.startswith("test_") and callable(func)
                   and "faults" in inspect.signature(func).parameters}
    ran = {item.originalname for item in request.session.items
           if item.module is request.module}  # type: ignore[attr-defined]
    if fault_tests <= ran:
        assert len(INJECTED) >= 15, INJECTED


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


def test_broken_model_and_voices_files_fail_clearly_at_start(tmp_path: Path,
                                                             faults: list[str]) -> None:
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
        faults.append(name)
        if process.returncode != 2 or "Traceback" in stderr or expected not in stderr:
            failures.append(f"{name}: exit {process.returncode}: {stderr[-600:]}")
    assert not failures, "\n".join(failures)


def test_voices_file_without_the_default_voice(tmp_path: Path, faults: list[str]) -> None:
    """No af_heart in the file: the server starts with another voice and requests naming
    af_heart fall back to it with a warning."""
    from .synthetic import write_voices

    model, _ = fast_assets()
    voices = write_voices(tmp_path / "voices.npz", ["bf_emma", "ef_dora"])
    settings = Settings(model=str(model), voices=str(voices), data_dirs=[tmp_path],
                        allow_download=False, threads=1, voice="af_heart")
    spy = LogSpy(logging.WARNING)
    with spy.installed():
        engine = load_engine(engine_config(settings), warm_up=False)
    faults.append("voices file missing the default voice")
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


def _final(data: Path) -> Path:
    return data / (bucket_filename("b32") or "")


@pytest.mark.parametrize("fake_hub", ["cut-once"], indirect=True)
def test_interrupted_download_resumes_to_the_exact_file(fake_hub: FakeHub, tmp_path: Path,
                                                        hub_files: dict[str, bytes],
                                                        faults: list[str]) -> None:
    result = resolve_from_hub(fake_hub, tmp_path)
    faults.append("download cut half-way (then resumed)")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    expected = hashlib.sha256(hub_files[bucket_filename("b32") or ""]).hexdigest()
    assert result.stdout.split()[0] == expected
    assert any("Range" not in r for r in fake_hub.requests) and fake_hub.gets >= 3
    # only the configured repository was asked, for nothing but the files it needed
    assert all(r.split()[1].startswith(f"/{HUB_REPO}/resolve/main/")
               for r in fake_hub.requests)


@pytest.mark.parametrize("fake_hub", ["cut-always", "corrupt"], indirect=True)
def test_failed_or_corrupt_download_is_never_used(fake_hub: FakeHub, tmp_path: Path,
                                                  faults: list[str]) -> None:
    result = resolve_from_hub(fake_hub, tmp_path)
    faults.append(f"download {fake_hub.mode}")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert "ASSET-ERROR" in result.stdout and "Traceback" not in result.stdout
    if fake_hub.mode == "corrupt":
        assert "corrupt" in result.stdout
    assert not _final(tmp_path).exists()  # nothing partial or unverified where it is looked for
    if fake_hub.mode == "corrupt":  # a later start fetches it again, still checked
        again = resolve_from_hub(fake_hub, tmp_path)
        assert again.returncode == 3 and not _final(tmp_path).exists()


@pytest.mark.parametrize("fake_hub", ["ok"], indirect=True)
def test_disk_full_during_download_is_a_clear_error(fake_hub: FakeHub, tmp_path: Path,
                                                    faults: list[str]) -> None:
    result = resolve_from_hub(fake_hub, tmp_path, fsize=1_000_000)  # the model is 3 MB
    faults.append("disk full while downloading")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert not _final(tmp_path).exists()
    staged = list((tmp_path / STAGING_DIR).rglob("*.onnx"))
    assert not staged  # at most a resumable .incomplete file is left behind


def test_disk_full_writing_the_offline_model(tmp_path: Path, faults: list[str]) -> None:
    """The bundle's 80 MB model is assembled into the data dir: with the disk full at 1 MB
    the start fails with a clear reason, leaving no partial model behind."""
    script = ("import sys\nfrom pathlib import Path\n"
              "from wyoming_kokoro.model.assets import AssetError, bundle_assets\n"
              "try:\n    bundle_assets(Path(sys.argv[1]))\n"
              "except AssetError as err:\n    print('ASSET-ERROR', err)\n    sys.exit(3)\n")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    result = subprocess.run([PYTHON, "-c", script, str(tmp_path)], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=120, preexec_fn=limit)
    faults.append("disk full writing the data dir")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert "cannot write the offline model" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_unavailable_provider_falls_back_to_cpu_and_says_so(
        monkeypatch: pytest.MonkeyPatch, faults: list[str]) -> None:
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
    faults.extend(["provider not installed", "provider failing to start"])
    assert broken.providers == ["CPUExecutionProvider"]
    assert any("failed to start" in t for t in spy.texts())


# -- SIGTERM --------------------------------------------------------------------------------
def test_sigterm_during_synthesis_stops_cleanly(tmp_path: Path, faults: list[str]) -> None:
    """SIGTERM while a slow client is mid-answer: in-flight work gets a grace period, then
    the process exits 0 on its own, logging no error."""
    model, voices = fast_assets()
    port = free_port()
    process = start_cli(["--uri", f"tcp://127.0.0.1:{port}", "--model", str(model),
                         "--voices", str(voices), "--data-dir", str(tmp_path),
                         "--no-download", "--threads", "1"])
    exited: dict[str, float] = {}
    try:
        wait_listening(port, process)

        async def interrupted() -> list[str]:
            client = await RawClient.connect(port, rcvbuf=8192)
            await client.send(Synthesize(text="Good night, sleep well. " * 400).event())
            await client.read(until="audio-chunk", timeout=30)
            process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            threading.Thread(target=lambda: (process.wait(), exited.setdefault(
                "after", time.monotonic() - sent)), daemon=True).start()
            while "after" not in exited and time.monotonic() - sent < 60:
                await asyncio.sleep(0.05)  # a slow reader: the answer is still being written
                await client.read(until="audio-chunk", timeout=60)
                if client.reply.closed:
                    break
            await client.close()
            return client.reply.types

        types = asyncio.run(interrupted())
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    faults.append("SIGTERM during synthesis")
    print(f"\nSIGTERM: exited {exited.get('after', float('nan')):.1f} s later")
    assert process.returncode == 0, stderr[-2000:]
    assert "after" in exited  # it ended by itself, while the client was still reading
    assert "Stopping" in stderr and "Traceback" not in stderr and " ERROR " not in stderr
    assert types[0] == "audio-start"


# -- worker faults ---------------------------------------------------------------------------
@pytest.fixture
def faulty():
    engine, model = build_fast_engine()
    with serving(engine) as thread:
        yield thread, model
    engine.close()


def test_worker_exception_ends_the_stream_and_the_pool_keeps_working(faulty,
                                                                     faults: list[str]) -> None:
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
    faults.extend(["model call fails at once (stream)", "model call fails (synthesize)",
                     "model call fails mid-stream"])
    assert all("injected model fault" in t for t in spy.texts())  # logged, with the cause


def test_g2p_exception_is_an_error_not_a_crash(faulty, monkeypatch: pytest.MonkeyPatch,
                                               faults: list[str]) -> None:
    thread, _ = faulty

    def broken(text: str, code: str) -> str:
        raise IndexError("injected G2P fault")

    engine = thread.engine
    monkeypatch.setattr(engine.g2p, "phonemize", broken)
    reply = asyncio.run(ask(thread.port, Synthesize(text="Hello there.").event()))
    monkeypatch.undo()
    faults.append("G2P raises")
    assert codes(reply) == ["synthesis-failed"] and reply.closed
    ok = asyncio.run(ask(thread.port, Synthesize(text="Hello there.").event(),
                         until="audio-stop"))
    assert ok.types[-1] == "audio-stop"


@pytest.mark.parametrize("error", [RuntimeError, KeyError])
def test_a_server_bug_is_an_internal_error_never_blamed_on_the_client(
        faulty, monkeypatch: pytest.MonkeyPatch, faults: list[str], error: type[Exception]
) -> None:
    """A failure past parsing is ours: the client gets `internal-error` (not "malformed"), a
    stream still ends with synthesize-stopped, the log has the traceback, and the server
    serves the next client. KeyError is the trap: it once read as a malformed event."""
    from wyoming_kokoro.text.sentences import SentenceStreamer
    from wyoming_kokoro.wyoming import handler, stream

    thread, _ = faulty

    def broken(*args: object) -> str:
        raise error("injected bug")

    monkeypatch.setattr(handler, "prepare_text", broken)  # plain synthesize
    monkeypatch.setattr(stream, "prepare_text", broken)  # an SSML stream, at stop
    monkeypatch.setattr(SentenceStreamer, "add", broken)  # a text stream, at each chunk
    faults.append(f"server bug raises {error.__name__}")
    spy = LogSpy(logging.ERROR)

    async def run() -> list:
        plain = await ask(thread.port, Synthesize(text="Hello there.").event())
        ssml = await ask(thread.port, SynthesizeStart(text_format="ssml").event(),
                         SynthesizeChunk(text="<speak>Hello there.</speak>").event(),
                         SynthesizeStop().event())
        text = await ask(thread.port, SynthesizeStart().event(),
                         SynthesizeChunk(text="Hello there. And").event(),
                         SynthesizeStop().event())
        return [plain, ssml, text]

    with spy.installed():
        plain, ssml, text = asyncio.run(run())
    monkeypatch.undo()
    for reply in (plain, ssml, text):
        assert codes(reply) == ["internal-error"] and reply.closed, reply.types
        assert "malformed" not in reply.events[reply.types.index("error")].data["text"]
    assert plain.types == ["error"]
    assert ssml.types == text.types == ["error", "synthesize-stopped"]
    bugs = [r for r in spy.records if r.exc_info and r.exc_info[0] is error]
    assert len(bugs) == 3, spy.texts()  # each logged with its traceback
    ok = asyncio.run(ask(thread.port, Synthesize(text="Hello there.").event(),
                         until="audio-stop"))
    assert ok.types[-1] == "audio-stop" and not codes(ok)
