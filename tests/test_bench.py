"""The benchmark: its arithmetic on made-up timings, then quick real runs (in-process server and
the command line with its own server) checked for structure and sanity, never for speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.client import BenchError, continuity, words
from bench.config import BenchConfig, build_bench_parser, config_from_args
from bench.report import jain, render, summary
from bench.run import run_bench
from bench.server import check_loopback

from .http_support import http_on
from .support import ServerThread

ROOT = Path(__file__).resolve().parent.parent  # `python -m bench` runs from here

CHUNK = 0.5  # seconds of audio per made-up chunk


def test_continuity_without_gap_reports_the_tightest_margin() -> None:
    c = continuity([0.0, 0.1, 0.6, 1.0], [CHUNK] * 4)
    assert c.worst_deficit_s == pytest.approx(-0.4)  # chunk 2 arrived 0.4 s before it was due
    assert (c.underruns, c.stall_s) == (0, 0.0)


def test_continuity_finds_a_gap_and_the_stall_a_listener_hears() -> None:
    c = continuity([0.0, 0.8, 0.9], [CHUNK] * 3)
    assert c.worst_deficit_s == pytest.approx(0.3)
    assert c.underruns == 1 and c.stall_s == pytest.approx(0.3)


def test_continuity_of_one_chunk_is_all_margin() -> None:
    assert continuity([0.2], [CHUNK]).worst_deficit_s == pytest.approx(-CHUNK)


def test_jain_and_summary() -> None:
    assert jain([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert jain([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert summary([]) is None


def test_words_keep_trailing_spaces_like_an_llm_stream() -> None:
    assert words("Turned on  the lights. Now.") == ["Turned ", "on  ", "the ", "lights. ", "Now."]


@pytest.mark.parametrize("uri", ["tcp://127.0.0.1:10200", "tcp://localhost:1", "tcp://[::1]:5",
                                 "unix:///tmp/kokoro.sock"])
def test_loopback_uris_are_accepted(uri: str) -> None:
    check_loopback(uri)


@pytest.mark.parametrize("uri", ["tcp://192.168.1.5:10200", "tcp://example.com:10200",
                                 "stdio://", "tcp://127.0.0.1"])
def test_other_uris_are_refused(uri: str) -> None:
    with pytest.raises(BenchError):
        check_loopback(uri)


def test_quick_mode_shrinks_the_defaults() -> None:
    cfg = config_from_args(build_bench_parser().parse_args(["--quick"]))
    assert (cfg.runs, list(cfg.texts), cfg.clients, cfg.load_name) == (1, ["short"], [1, 2],
                                                                       "short")
    full = config_from_args(build_bench_parser().parse_args(["--runs", "5"]))
    assert (full.runs, list(full.texts), full.clients) == (5, ["short", "medium", "long"],
                                                           [1, 2, 4])


def check_result(result: dict, cfg: BenchConfig, model: bool = True) -> None:
    """Structure and sanity: every figure present, positive where it must be, TTFA ≤ last."""
    json.dumps(result)  # serialisable as is
    assert result["schema"] == "wyoming-kokoro-bench/1"
    header = result["header"]
    assert header["system"]["cpu_count"] >= 1 and header["duration_s"] > 0
    assert header["model"] and header["server"]["uri"].startswith("tcp://127.0.0.1:")
    assert set(result["latency"]) == set(cfg.texts) == set(result["texts"])
    for name, modes in result["latency"].items():
        assert set(modes) == {"synthesize", "stream", *(["http"] if cfg.http else [])}
        for m in modes.values():
            assert len(m["requests"]) == cfg.runs
            for r in m["requests"]:
                assert 0 < r["ttfa_s"] <= r["ttla_s"] and r["audio_s"] > 0 and r["chunks"] >= 1
                assert r["stop_lag_s"] >= 0 and r["stall_s"] >= 0 and r["rtf"] > 0
                assert r["ref_s"] <= r["text_done_s"] <= r["end_s"]
            assert m["ttfa_s"]["min"] <= m["ttfa_s"]["median"] <= m["ttfa_s"]["max"]
            if model:
                assert m["ttfa_vs_model"] > 0
        if model:
            figures = result["model"][name]
            assert figures["tokens"] > 0 and figures["audio_s"] > 0
            assert figures["model_s"]["median"] > 0 and figures["g2p_s"]["n"] == cfg.runs
    assert [c["clients"] for c in result["concurrency"]] == cfg.clients
    for level in result["concurrency"]:
        assert len(level["ttfa_s"]) == level["clients"] * cfg.per_client * cfg.runs
        assert level["audio_per_wall"]["median"] > 0 and level["rtf"]["median"] > 0
        assert 0 < level["fairness"]["median"] <= 1 + 1e-9
        assert 0 < level["ttfa_p50_s"] <= level["ttfa_p95_s"]
    for key in ("idle", "saturated"):
        d = result["describe"][key]
        assert d["n"] >= 1 and d["failures"] == 0 and 0 < d["p50_ms"] <= d["p99_ms"] <= d["max_ms"]
    memory = result["memory"]
    assert memory["peak_rss_mb"] >= memory["rss_start_mb"] > 0
    assert len(memory["samples_mb"]) == memory["rss_requests"] == cfg.rss_requests
    table = render(result)
    assert "TTFA" in table and "describe saturated" in table and "peak RSS" in table


@pytest.mark.slow
async def test_quick_bench_against_the_running_server(server: ServerThread, engine) -> None:
    cfg = config_from_args(build_bench_parser().parse_args(
        ["--quick", "--clients", "2", "--rss-requests", "2"]))  # kept small: CI time
    result = await run_bench(cfg, [], uri=server.uri, server_pid=os.getpid(), engine=engine)
    check_result(result, cfg)
    assert result["header"]["providers"] == ["CPUExecutionProvider"]
    assert result["header"]["server"]["started"] is False


@pytest.mark.slow
async def test_quick_bench_with_the_http_api(server: ServerThread, engine) -> None:
    """--http URL: the same requests over the OpenAI-compatible API; load clients alternate."""
    with http_on(server) as port:
        cfg = config_from_args(build_bench_parser().parse_args(
            ["--quick", "--no-model", "--clients", "2", "--rss-requests", "1",
             "--http", f"http://127.0.0.1:{port}"]))
        result = await run_bench(cfg, [], uri=server.uri, server_pid=os.getpid())
    check_result(result, cfg, model=False)
    http = result["latency"]["short"]["http"]["requests"][0]
    wyoming = result["latency"]["short"]["synthesize"]["requests"][0]
    assert http["audio_s"] == pytest.approx(wyoming["audio_s"], abs=0.01), "the same audio"
    assert "first audio over HTTP vs Wyoming, short" in render(result)


@pytest.mark.slow
def test_command_line_starts_its_own_server(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    bench_args = ["--quick", "--no-model", "--clients", "1", "--rss-requests", "1"]
    args = [*bench_args, "--json", str(out),
            "--model", "bundle", "--no-download", "--data-dir", str(data_dir), "--threads", "2"]
    proc = subprocess.run([sys.executable, "-m", "bench", *args],
                          capture_output=True, text=True, timeout=240, check=False,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    check_result(result, config_from_args(build_bench_parser().parse_args(bench_args)),
                 model=False)
    assert result["model"] is None and result["header"]["server"]["started"] is True
    assert result["header"]["server"]["args"][:2] == ["--model", "bundle"]
    assert "TTFA" in proc.stdout


def test_a_server_that_cannot_start_is_reported(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-model",
         "--model", str(tmp_path / "missing.onnx"), "--no-download", "--data-dir",
         str(tmp_path)], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT)
    assert proc.returncode == 1 and "bench failed" in proc.stderr


def test_slow_machine_on_any_machine() -> None:
    """--cpus pins the server like taskset, --hog puts busy processes beside it."""
    import os

    from bench.config import build_bench_parser, config_from_args
    from bench.server import CpuHog

    args, _ = build_bench_parser().parse_known_args(["--cpus", "0", "--hog", "1"])
    cfg = config_from_args(args)
    assert cfg.cpus == {0} and cfg.hog == 1
    with CpuHog(1, {0}) as hog:
        assert os.sched_getaffinity(hog.procs[0].pid) == {0}
        assert hog.procs[0].poll() is None
    assert not hog.procs
    with pytest.raises(SystemExit):
        build_bench_parser().parse_known_args(["--cpus", "999"])


def test_the_benchmark_stays_out_of_the_package() -> None:
    """bench/ is a developer tool beside the package: nothing in wyoming_kokoro imports it or
    psutil, psutil is only the `bench` extra (which `test` pulls), and the wheel packs only
    wyoming_kokoro (so bench/ and its data never ship)."""
    import ast
    import tomllib

    package = ROOT / "wyoming_kokoro"
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names
                      if n.split(".")[0] in ("bench", "psutil")]
    assert not found, found
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert not any(d.startswith("psutil") for d in project["project"]["dependencies"])
    extras = project["project"]["optional-dependencies"]
    assert any(d.startswith("psutil") for d in extras["bench"])
    assert "wyoming-kokoro[bench]" in extras["test"]
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["wyoming_kokoro*"]
