"""Benchmark numbers → summaries and the printed table; the machine description for the header
(timings mean nothing without the CPU, model and provider they were taken on)."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import psutil

from wyoming_kokoro import __version__

Summary = dict[str, float]


def summary(values: Sequence[float]) -> Summary | None:
    """Median and spread of repeated runs (None when nothing was measured)."""
    if not values:
        return None
    array = np.asarray(values, dtype=float)
    return {"median": float(np.median(array)), "min": float(array.min()),
            "max": float(array.max()), "n": len(array)}


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def jain(values: Sequence[float]) -> float | None:
    """Jain's fairness index: 1.0 when every client got the same, 1/n when one got everything."""
    array = np.asarray(values, dtype=float)
    if not len(array) or not np.any(array):
        return None
    return float(array.sum() ** 2 / (len(array) * np.square(array).sum()))


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    """Card names from nvidia-smi when there is one (local command, no network)."""
    if shutil.which("nvidia-smi") is None:
        return []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]
    return []


def system_info() -> dict[str, object]:
    import onnxruntime

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "wyoming_kokoro": __version__, "python": sys.version.split()[0],
        "onnxruntime": onnxruntime.__version__, "platform": platform.platform(),
        "cpu_model": _cpu_model(), "cpu_count": os.cpu_count(), "cpu_usable": usable,
        "cpu_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(v, 2) for v in os.getloadavg()]
        if hasattr(os, "getloadavg") else None,
        "gpus": _gpus(),
    }


# -- table --------------------------------------------------------------------------------
def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _spread(s: Summary | None, digits: int = 3) -> str:
    if s is None:
        return "—"
    if s["n"] == 1:
        return _num(s["median"], digits)
    return f"{_num(s['median'], digits)} ({_num(s['min'], digits)}–{_num(s['max'], digits)})"


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return [_row(header, widths), _row(["-" * w for w in widths], widths),
            *(_row(r, widths) for r in rows)]


def render(result: dict) -> str:
    """The human-readable report: header, latency, load, describe, memory."""
    h, cfg = result["header"], result["config"]
    sysinfo, server = h["system"], h["server"]
    load = " ".join(str(v) for v in sysinfo["load_avg_at_start"] or [])
    lines = [
        f"wyoming-kokoro {sysinfo['wyoming_kokoro']} benchmark, {h['started_at']} "
        f"({h['duration_s']:.0f} s)",
        f"CPU: {sysinfo['cpu_model']}, {sysinfo['cpu_count']} logical / "
        f"{sysinfo['cpu_usable']} usable, load {load} at start"
        + (f"; GPU: {', '.join(sysinfo['gpus'])}" if sysinfo["gpus"] else ""),
        f"Model: {h['model']} ({h['model_kind']}), providers {', '.join(h['providers'])}, "
        f"onnxruntime {sysinfo['onnxruntime']}, Python {sysinfo['python']}",
        f"Server: {server['uri']} ({'started by the bench' if server['started'] else 'existing'}"
        + (f", ready in {server['ready_s']:.1f} s" if server.get("ready_s") else "")
        + f"), options: {' '.join(server['args']) or '(defaults)'}"
        + (f"; pinned to cores {server['cpus']}" if server.get("cpus") else "")
        + (f"; {server['hog']} busy processes beside it" if server.get("hog") else ""),
        f"Runs: {cfg['runs']}, median (min–max); streaming text at "
        f"{cfg['words_per_second']:g} words/s, TTFA from the first sentence's last word",
        "",
    ]
    rows = []
    for name, modes in result["latency"].items():
        model = (result["model"] or {}).get(name) or {}
        for mode, m in modes.items():
            rows.append([
                name, mode, _spread(m["ttfa_s"]), _spread(m["ttla_s"]),
                _num(m["audio_s"]["median"], 2), _num(m["rtf"]["median"], 2),
                _num(m["worst_deficit_s"]["max"]), str(m["underruns"]),
                _num(m["stall_s"]["max"]) if m.get("stall_s") else "–",
                _num(m["longest_gap_s"]["max"]) if m.get("longest_gap_s") else "–",
                _num((model.get("model_s") or {}).get("median")), _num(m["ttfa_vs_model"], 2),
            ])
    lines += _table(["text", "mode", "TTFA s", "last audio s", "audio s", "RTF",
                     "worst deficit s", "gaps", "silence s", "longest gap s", "model s",
                     "TTFA/model"], rows)
    lines.append("(worst deficit: latest chunk arrival relative to the end of the audio already "
                 "received, worst run; > 0 is an audible gap; gaps: a player's underruns over "
                 "all runs; silence: most silence one run inserted mid-speech)")
    for name, modes in result["latency"].items():
        if "http" in modes and modes["http"]["ttfa_s"] and modes["synthesize"]["ttfa_s"]:
            http = modes["http"]["ttfa_s"]["median"]
            wyoming = modes["synthesize"]["ttfa_s"]["median"]
            lines.append(f"first audio over HTTP vs Wyoming, {name}: {http:.3f} s vs "
                         f"{wyoming:.3f} s ({(http / wyoming - 1) * 100:+.1f} %)")
    if result["concurrency"]:
        c0 = result["concurrency"][0]
        lines += ["", f"Load: {c0['text']} text, {c0['per_client']} request(s) per client "
                      f"back to back, {c0['rounds']} round(s) per level"]
        lines += _table(
            ["clients", "audio s / wall s", "RTF", "TTFA p50 s", "TTFA p95 s", "p95/single",
             "fairness", "stop lag max s", "silence max s", "with gap", "longest gap s"],
            [[str(c["clients"]), _spread(c["audio_per_wall"], 2), _spread(c["rtf"], 2),
              _num(c["ttfa_p50_s"]), _num(c["ttfa_p95_s"]), _num(c["ttfa_p95_vs_single"], 2),
              _spread(c["fairness"], 2), _num(c["stop_lag_max_s"]),
              _num(c.get("silence_max_s")), str(c.get("requests_with_gap", "–")),
              _num(c.get("longest_gap_s"))]
             for c in result["concurrency"]])
        lines.append("(fairness: Jain index of per-client audio seconds per second until its last "
                     "chunk, 1 = fair; stop lag: last audio-chunk → audio-stop; silence: most a "
                     "player inserted mid-speech in one request; with gap: requests with more "
                     "than 50 ms)")
    d = result["describe"]
    lines.append("")
    for label, key in (("idle", "idle"), ("saturated", "saturated")):
        if (s := d.get(key)) is not None:
            extra = f" with {s['clients']} clients" if key == "saturated" else ""
            lines.append(f"describe {label}{extra}: p50 {_num(s['p50_ms'], 1)} ms, "
                         f"p99 {_num(s['p99_ms'], 1)} ms, max {_num(s['max_ms'], 1)} ms "
                         f"(n={s['n']}, failures {s['failures']})")
    if (mem := result["memory"]) is not None:
        line = f"Memory: peak RSS {mem['peak_rss_mb']:.0f} MB ({mem['peak_source']})"
        if mem.get("rss_requests"):
            line += (f"; over {mem['rss_requests']} requests {mem['rss_start_mb']:.1f} → "
                     f"{mem['rss_end_mb']:.1f} MB ({mem['growth_mb']:+.1f} MB, "
                     f"{mem['slope_kb_per_request']:+.1f} KB/request)")
        lines.append(line)
    return "\n".join(lines)
