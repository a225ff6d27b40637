"""Offline detection asks the hub the way huggingface_hub downloads: through HTTPS_PROXY /
HTTP_PROXY, with a short timeout, and the reason for any fallback is logged. Every address
here is on 127.0.0.0/8: a fake proxy, a refusing proxy, a silent one and a closed port."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .hardening_support import PYTHON, ROOT, free_port

PROBE = """
import json, os, sys, time
from wyoming_kokoro.model.assets import hub_problem
started = time.monotonic()
repo = os.environ.get("REPO", "test-org/kokoro-test")
problem = hub_problem(repo, "voices.npz", float(sys.argv[1]))
print(json.dumps({"problem": problem, "seconds": time.monotonic() - started}))
"""

RESOLVE = """
import sys
from pathlib import Path
from wyoming_kokoro.model.assets import AssetError, resolve
try:
    resolve("b48", None, [Path(sys.argv[1])], Path(sys.argv[1]), bundle_fallback=False)
except AssetError as err:
    print(err)
"""

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A forward proxy that answers every plain-HTTP request itself (200) and refuses
    CONNECT tunnels (403), recording what it was asked."""

    server: _Proxy

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._answer(200)

    def do_GET(self) -> None:
        self._answer(200)

    def do_CONNECT(self) -> None:
        self._answer(403)


class _Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_proxy() -> Iterator[str]:
    """Accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in held:
        connection.close()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in PROXY_VARIABLES and not k.startswith(("HF_", "WYOMING_KOKORO_"))}
    return {**env, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "NO_PROXY": "",
            "PYTHONPATH": str(ROOT), **extra}


def _probe(timeout: float = 3.0, **env: str) -> dict:
    result = subprocess.run([PYTHON, "-c", PROBE, str(timeout)], env=_env(**env), cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_hub_is_asked_through_the_proxy(proxy: _Proxy) -> None:
    """Direct, this endpoint is a closed port (a raw socket said: offline); through the
    proxy it answers, as a download would."""
    endpoint = f"http://127.0.0.2:{free_port()}"
    outcome = _probe(HF_ENDPOINT=endpoint, HTTP_PROXY=proxy.url)
    assert outcome["problem"] is None
    assert proxy.seen == [f"HEAD {endpoint}/test-org/kokoro-test/resolve/main/voices.npz"]


def test_a_refusing_proxy_is_the_logged_reason(proxy: _Proxy) -> None:
    outcome = _probe(HF_ENDPOINT="https://hub.example.test", HTTPS_PROXY=proxy.url)
    assert proxy.seen == ["CONNECT hub.example.test:443"]
    problem = outcome["problem"]
    assert "403" in problem and f"through HTTPS_PROXY={proxy.url}" in problem
    print(f"refusing proxy: decided in {outcome['seconds']:.2f} s")


def test_a_closed_proxy_port_falls_back_at_once() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    outcome = _probe(HTTPS_PROXY=closed)  # default endpoint: only the proxy is contacted
    assert "ConnectError" in outcome["problem"] or "ConnectionError" in outcome["problem"]
    assert f"through HTTPS_PROXY={closed}" in outcome["problem"]
    print(f"closed proxy port: decided in {outcome['seconds']:.2f} s")
    assert outcome["seconds"] < 10, "no retry loop (huggingface_hub alone retries ~25 s)"


def test_a_silent_proxy_times_out_quickly(silent_proxy: str) -> None:
    outcome = _probe(0.5, HTTPS_PROXY=silent_proxy)
    assert "Timeout" in outcome["problem"], outcome
    print(f"silent proxy, 0.5 s timeout: decided in {outcome['seconds']:.2f} s")
    assert outcome["seconds"] < 10


def test_an_invalid_repository_is_never_asked_for(proxy: _Proxy) -> None:
    outcome = _probe(HTTP_PROXY=proxy.url, HF_ENDPOINT=f"http://127.0.0.2:{free_port()}",
                     REPO="../../evil/repo")
    assert outcome["problem"].startswith("invalid repository") and proxy.seen == []


def test_offline_switch_is_the_reason(proxy: _Proxy) -> None:
    outcome = _probe(HF_HUB_OFFLINE="1", HTTP_PROXY=proxy.url,
                     HF_ENDPOINT=f"http://127.0.0.2:{free_port()}")
    assert outcome["problem"] == "HF_HUB_OFFLINE is set" and proxy.seen == []


def test_resolve_names_the_reason(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([PYTHON, "-c", RESOLVE, str(tmp_path)], env=_env(HTTPS_PROXY=closed),
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert "Hugging Face unreachable: https://huggingface.co: " in result.stdout
    assert f"through HTTPS_PROXY={closed}" in result.stdout
