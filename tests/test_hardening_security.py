"""Security: names and options never reach outside the configured directories, downloads
come only from the configured repository, requests never start processes or open files,
the server binds only where told, request texts stay out of logs, and connection and
synthesis limits keep one client from starving the others."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import threading
from pathlib import Path

import psutil
import pytest
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

import wyoming_kokoro
from wyoming_kokoro.model.assets import AssetError, _find, bucket_filename, resolve
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.prepare import prepare_text

from .hardening_support import (
    HUB_REPO,
    FakeHub,
    RawClient,
    ask,
    audit,
    codes,
    describe_ok,
    fast_assets,
    fast_engine,
    free_port,
    on_loop,
    raw_event,
    resolve_from_hub,
    serving,
    settle,
    start_cli,
    wait_listening,
)

PACKAGE = Path(wyoming_kokoro.__file__).parent
BENCH = PACKAGE.parent / "bench"  # the developer tools, outside the wheel


@pytest.fixture(scope="module")
def fast() -> Engine:
    return fast_engine()


# -- files ----------------------------------------------------------------------------------
def test_data_dir_lookups_never_leave_the_data_dir(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "secret.onnx").write_bytes(b"x")
    (data / "ok.onnx").write_bytes(b"x")
    (data / "link.onnx").symlink_to(outside / "secret.onnx")
    (data / "dirlink").symlink_to(outside)
    assert _find([data], "ok.onnx") == (data / "ok.onnx").resolve()
    for name in ["../outside/secret.onnx", str(outside / "secret.onnx"), "link.onnx",
                 "dirlink/secret.onnx", "onnx/../../outside/secret.onnx", "/etc/passwd",
                 "../../../../../../etc/passwd"]:
        assert _find([data], name) is None, name


def _model_at_data_root(data: Path) -> None:
    from .synthetic import build_bucket_model

    build_bucket_model(data / Path(bucket_filename("b32") or "").name, bucket=32)


@pytest.mark.parametrize("plant", ["beside the data dir", "symlinked into the data dir"])
def test_voices_found_beside_a_model_stay_inside_the_data_dir(tmp_path: Path,
                                                              plant: str) -> None:
    """A bucket model at a data dir's root: voices were also looked for one level up, and
    through a voices.npz symlink that leads anywhere."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    _model_at_data_root(data)
    _, voices = fast_assets()
    if plant == "beside the data dir":
        (tmp_path / "voices.npz").write_bytes(voices.read_bytes())
    else:
        (outside / "voices.npz").write_bytes(voices.read_bytes())
        (data / "voices.npz").symlink_to(outside / "voices.npz")
    with pytest.raises(AssetError):
        resolve("b32", None, [data], data, allow_download=False, bundle_fallback=False)
    (data / "voices.npz").unlink(missing_ok=True)
    (data / "voices.npz").write_bytes(voices.read_bytes())  # inside: found
    assets = resolve("b32", None, [data], data, allow_download=False, bundle_fallback=False)
    assert assets.voices == (data / "voices.npz").resolve()


@pytest.mark.parametrize("repo", ["../../evil/repo", "evil.example/../x",
                                  "https://evil.example/x/y", "a/b/c"])
def test_downloads_only_from_the_configured_repository(tmp_path: Path, repo: str) -> None:
    hub = FakeHub({bucket_filename("b32") or "": b"model"}, "ok")
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    try:
        result = resolve_from_hub(hub, tmp_path, repo=repo)
    finally:
        hub.shutdown()
        hub.server_close()
    assert result.returncode == 3, result.stdout + result.stderr[-1000:]  # nothing fetched
    assert all(not r.split()[1].startswith(f"/{HUB_REPO}") for r in hub.requests)
    assert not list(tmp_path.rglob("*.onnx"))


# -- requests never open files or start processes -------------------------------------------
HOSTILE_VOICES = ["../../../../etc/passwd", "/etc/passwd", "af_heart/../../../etc/passwd",
                  "C:\\Windows\\win.ini", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "file:///etc/passwd",
                  "~root/.ssh/id_rsa", "$(touch /tmp/pwned)", "`touch /tmp/pwned`",
                  "af_heart; touch /tmp/pwned", "af_heart:1+../../etc/passwd:1",
                  "af_heart@../../etc/passwd", "voices.npz", "\x00/etc/passwd", "a" * 10_000]
HOSTILE_SSML = [
    '<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>hi &x;</speak>',
    '<!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    ']><speak>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</speak>',
    '<speak><audio src="file:///etc/passwd">fallback</audio> '
    '<lexicon uri="file:///etc/passwd"/> <voice name="../../etc/passwd">x</voice></speak>',
    '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><speak>y</speak>',
    '<speak xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" '
    'parse="text"/></speak>',
]


def test_ssml_never_expands_or_fetches_entities() -> None:
    with audit().recording() as events:
        for doc in HOSTILE_SSML:
            out = str(prepare_text(doc, "ssml"))
            assert len(out) <= len(doc), out[:200]  # no amplification
            assert "root:" not in out
    assert not events, events


async def test_request_names_never_open_files_or_start_processes(fast: Engine) -> None:
    """Voice names, languages, SSML and text from the network, with a sys.audit hook
    recording every file open and process start in the server process meanwhile."""
    requests = [raw_event("synthesize", {"text": "Hello there.", "voice": {"name": name}})
                for name in HOSTILE_VOICES]
    requests += [raw_event("synthesize", {"text": "Hi.", "voice": {"language": name}})
                 for name in HOSTILE_VOICES[:6]]
    requests += [raw_event("synthesize", {"text": doc, "text_format": "ssml"})
                 for doc in HOSTILE_SSML]
    requests += [raw_event("synthesize", {"text": t}) for t in [
        "$(touch /tmp/pwned) `id` ; rm -rf / | cat /etc/passwd", "[x](/../../etc/passwd/)",
        "[pause:1s] ![img](file:///etc/passwd) <img src=/etc/passwd>"]]
    with serving(fast) as thread:
        for request in requests:  # once unrecorded: lazy loads (G2P tables) happen here
            await ask(thread.port, request, until="audio-stop")
        with audit().recording() as events:
            for request in requests:
                reply = await ask(thread.port, request, until="audio-stop")
                assert reply.types[-1] in ("audio-stop", "error"), reply.types
                assert set(codes(reply)) <= {"bad-voice", "bad-request", "empty-text"}
    assert not events, events[:10]
    assert not os.path.exists("/tmp/pwned")  # noqa: ASYNC240 - one stat, after the load


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (f"{func.value.id}.{func.attr}" if isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name) else getattr(func, "id", ""))
            found.append((name, node))
    return found


def test_no_shell_anywhere_in_the_package_or_the_bench() -> None:
    """No shell, no eval: the only child processes (the streaming decoder's one-off graph
    split, the graph optimiser and precision rebuild, and the benchmark tools) are started
    from an argument list."""
    problems = []
    paths = sorted([*PACKAGE.rglob("*.py"), *BENCH.rglob("*.py")])
    assert any(p.parent == BENCH for p in paths), "the benchmark's modules are checked too"
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        for name, call in _calls(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno} {name}"
            if name in ("os.system", "os.popen", "eval", "exec", "os.execl", "os.execlp",
                        "os.spawnl", "os.spawnlp", "pty.spawn", "commands.getoutput"):
                problems.append(where)
            if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant)
                                             and k.value.value is False)
                   for k in call.keywords):
                problems.append(where + " shell=")
            if name.startswith("subprocess.") and call.args and not isinstance(
                    call.args[0], ast.List | ast.Tuple):
                problems.append(where + " (command not an argument list)")
            if name == "np.load" and not any(
                    k.arg == "allow_pickle" and isinstance(k.value, ast.Constant)
                    and k.value.value is False for k in call.keywords):
                problems.append(where + " without allow_pickle=False")
    assert not problems, problems


# -- the CLI: bind address and log privacy ---------------------------------------------------
SECRET = "Zanzibarquux"


def test_binds_only_where_told_and_keeps_request_texts_out_of_logs(tmp_path: Path) -> None:
    model, voices = fast_assets()
    port = free_port()
    process = start_cli(["--uri", f"tcp://127.0.0.1:{port}", "--model", str(model),
                         "--voices", str(voices), "--data-dir", str(tmp_path),
                         "--no-download", "--threads", "1", "--max-text-length", "500"])
    try:
        wait_listening(port, process)
        listening = [c.laddr for c in psutil.Process(process.pid).net_connections("all")
                     if c.status == psutil.CONN_LISTEN]
        texts = [f"My door code is {SECRET} 1234.", f"<speak>{SECRET} <break/></speak>",
                 f"<speak><unclosed>{SECRET}", f"{SECRET} " * 100, f"a-{SECRET}-" * 20]

        async def talk() -> None:
            for text in texts:
                fmt = "ssml" if text.startswith("<speak>") else None
                await ask(port, Synthesize(text=text, text_format=fmt).event(),
                          until="audio-stop", timeout=60)
            await ask(port, SynthesizeStart().event(),
                      *(SynthesizeChunk(text=w + " ").event() for w in texts[0].split()),
                      Synthesize(text=texts[0]).event(), SynthesizeStop().event(),
                      until="synthesize-stopped", timeout=60)
            await ask(port, raw_event("synthesize", {"text": SECRET, "voice": 5}), timeout=30)
            await ask(port, raw_event("synthesize", {"text": f"{SECRET}\ud800"}),
                      until="audio-stop", timeout=30)

        asyncio.run(talk())
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
    assert "Ready" in stderr and "Stopping" in stderr  # the default (INFO) log was written
    assert SECRET not in stderr and SECRET not in stdout


# -- limits ---------------------------------------------------------------------------------
async def test_connection_limits_refuse_clearly_and_spare_other_clients(fast: Engine
                                                                        ) -> None:
    with serving(fast, max_connections=6, max_client_connections=3) as thread:
        hog = [await RawClient.connect(thread.port, "127.0.0.2") for _ in range(3)]
        refused = await ask(thread.port, raw_event("describe"), until="info",
                            source="127.0.0.2", timeout=10)
        assert codes(refused) == ["too-many-connections"] and refused.closed
        victim = await ask(thread.port, Synthesize(text="Hello there.").event(),
                           until="audio-stop", source="127.0.0.1")
        assert victim.types[-1] == "audio-stop"
        others = [await RawClient.connect(thread.port, "127.0.0.3") for _ in range(3)]
        full = await ask(thread.port, raw_event("describe"), until="info",
                         source="127.0.0.4", timeout=10)
        assert codes(full) == ["too-many-connections"]  # the global limit
        for client in [*hog, *others]:
            await client.close()
        assert await describe_ok(thread.port)
        assert await settle(thread, lambda: on_loop(thread, lambda: thread.service.open == 0))


async def test_one_client_cannot_hold_every_synthesis_slot(fast: Engine) -> None:
    """Two slots; a client whose long answers it never reads holds one at most, so another
    client is served at once instead of after the hog's write timeouts."""
    endless = "Hello. " + "[pause:10s] " * 100 + "Done."
    with serving(fast, sndbuf=4096, max_concurrent=2, max_client_concurrent=1,
                 write_timeout=60) as thread:
        hogs = []
        for _ in range(3):
            hog = await RawClient.connect(thread.port, "127.0.0.2", rcvbuf=4096)
            await hog.send(Synthesize(text=endless).event())
            hogs.append(hog)

        def hog_state() -> tuple[int, int, int]:
            """(slots held by the hog, its requests queued, slots held by anyone)."""
            service = thread.service
            assert service is not None
            client = service.clients.get("127.0.0.2")
            if client is None:
                return 0, 0, service.synthesizing
            return client.synthesizing, client.waiting, service.synthesizing

        # the hog holds its one slot and queues the rest before the victim asks
        assert await settle(thread, lambda: on_loop(thread, hog_state) == (1, 2, 1))
        victim = await ask(thread.port, Synthesize(text="Hello there.").event(),
                           until="audio-stop", source="127.0.0.1", timeout=20)
        assert victim.types[-1] == "audio-stop" and len(victim.audio) > 0
        assert on_loop(thread, hog_state) == (1, 2, 1)  # served beside the hog, not after it
        for hog in hogs:
            hog.writer.transport.abort()


def test_settings_expose_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from wyoming_kokoro.settings import parse_settings

    monkeypatch.setenv("WYOMING_KOKORO_MAX_CONNECTIONS", "9")
    monkeypatch.setenv("WYOMING_KOKORO_IDLE_TIMEOUT", "12.5")
    s = parse_settings(["--max-client-connections", "2", "--max-client-concurrent", "1",
                        "--write-timeout", "3"])
    assert (s.max_connections, s.max_client_connections, s.max_client_concurrent,
            s.idle_timeout, s.write_timeout) == (9, 2, 1, 12.5, 3.0)
    with pytest.raises(SystemExit):
        parse_settings(["--idle-timeout", "0"])
