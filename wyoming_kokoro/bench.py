"""Latency, throughput and memory benchmark over Wyoming: `python -m wyoming_kokoro.bench`.

Starts a loopback server (`python -m wyoming_kokoro`, unknown options pass through to it) or
uses a running loopback one (`--uri`), and measures what a Home Assistant user feels:

- latency: time to the first and last `audio-chunk` for short / medium / long texts, with
  `synthesize` and with streaming (text sent word by word like an LLM; TTFA counted from the
  first sentence's last word), plus playback continuity (worst deficit, underruns);
- load: 1, 2, 4 clients sending requests back to back: audio seconds per wall second, RTF,
  TTFA p50/p95, Jain fairness; `describe` latency probed on fresh connections meanwhile;
- memory: the server's peak RSS and its growth over N requests;
- the in-process whole-model time (`engine.model.run`) of each text's first sentence, so TTFA
  can be read as a ratio of it;
- with `--http`: the same `synthesize` requests over the OpenAI-compatible HTTP API (mode
  "http", raw PCM), and load clients alternating Wyoming / HTTP (2 + 2 at 4 clients).

JSON (`--json PATH`), schema "wyoming-kokoro-bench/1"; a Summary is {median, min, max, n}:
  header: {started_at, duration_s, system: {wyoming_kokoro, python, onnxruntime, platform,
           cpu_model, cpu_count, cpu_usable, cpu_physical, memory_gb, load_avg_at_start, gpus},
           model, model_kind, providers, baseline ("whole graph" | "split graph" | null),
           server: {uri, started, args, pid, ready_s, load_clients_distinct_addresses}}
  config: {runs, quick, texts: [names], words_per_second, clients: [..], per_client,
           load_text (name), rss_requests, idle_describes, describe_interval, timeout_s,
           start_timeout_s, model_timing, same_address}
  texts: {name: {text, words, first_sentence, first_sentence_words}}
  model: {name: {tokens, audio_s, g2p_s: Summary, model_s: Summary}} | null
  latency: {name: {synthesize|stream: {ttfa_s, ttla_s, audio_s, rtf, worst_deficit_s, stall_s,
            stop_lag_s: Summary, underruns: int (total), ttfa_vs_model: float | null,
            requests: [{mode, ref_s, text_done_s, ttfa_s, ttla_s, end_s, stop_lag_s, audio_s,
                        chunks, rtf, worst_deficit_s, underruns, stall_s}]}}}
  concurrency: [{clients, text, per_client, rounds, audio_per_wall: Summary, rtf: Summary,
                 fairness: Summary, ttfa_p50_s, ttfa_p95_s, ttfa_p95_vs_single,
                 stop_lag_max_s, client_ttfa_median_s: [..], ttfa_s: [..]}]
  describe: {idle: D | null, saturated: D | null}, D = {p50_ms, p99_ms, max_ms, n, failures,
            clients}
  memory: {peak_rss_mb, peak_source, rss_requests, rss_start_mb, rss_end_mb, growth_mb,
           slope_kb_per_request, samples_mb: [..]} | null
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from wyoming_kokoro import audio, bench_http
from wyoming_kokoro import bench_client as client
from wyoming_kokoro.bench_load import describe_stats, measure_load, measure_memory, probe_describe
from wyoming_kokoro.bench_report import render, summary, system_info
from wyoming_kokoro.bench_server import (
    CpuHog,
    MemoryWatch,
    ServerProcess,
    check_loopback,
    free_port,
)
from wyoming_kokoro.phonemes.strings import split_phonemes
from wyoming_kokoro.settings import build_parser, parse_settings
from wyoming_kokoro.text.sentences import cleanup, split_sentences

TEXTS = {
    "short": "Turned on the kitchen lights.",
    "medium": "The living room is at twenty one degrees and the humidity is forty percent. "
              "I switched on the fan in the bedroom, so it should feel cooler in a few minutes.",
    "long": "Tomorrow morning will start cool and cloudy across the valley, with light winds "
            "from the north and a chance of drizzle before nine o'clock. By noon the clouds "
            "should break up and temperatures will climb to around twenty four degrees. The "
            "evening stays dry and clear, so it is a good night to leave the bedroom windows "
            "open all night.",
}
MODES = ("synthesize", "stream")
_LOGGER = logging.getLogger(__name__)


@dataclass
class BenchConfig:
    """What to measure and how often; `--quick` shrinks every count for smoke use."""

    runs: int = 3
    quick: bool = False
    texts: dict[str, str] = field(default_factory=lambda: dict(TEXTS))
    words_per_second: float = 10.0
    clients: list[int] = field(default_factory=lambda: [1, 2, 4])
    per_client: int = 2
    load_name: str = "medium"
    load_text: str = TEXTS["medium"]
    rss_requests: int = 30
    idle_describes: int = 20
    describe_interval: float = 0.05
    timeout_s: float = 120.0
    start_timeout_s: float = 180.0
    model_timing: bool = True
    same_address: bool = False  # load clients all from one address (as Home Assistant is)
    http: str | None = None  # HTTP API base URL ("auto": the started server gets --http)
    cpus: set[int] | None = None  # pin the started server to these cores
    hog: int = 0  # busy processes beside the server for the whole run

    @property
    def modes(self) -> tuple[str, ...]:
        return MODES + (("http",) if self.http else ())


def first_sentence(text: str) -> str:
    """The first sentence as the server cuts it (the unit the server renders first)."""
    sentences = split_sentences(cleanup(text))
    return sentences[0] if sentences else text


# -- phases ---------------------------------------------------------------------------------
async def measure_latency(uri: str, cfg: BenchConfig) -> dict[str, dict[str, list]]:
    """Every text × mode once per run, run-major so slow drifts of a noisy machine spread
    over all cells instead of biasing one."""
    timings: dict[str, dict[str, list]] = {n: {m: [] for m in cfg.modes} for n in cfg.texts}
    for run in range(cfg.runs):
        for name, text in cfg.texts.items():
            first_words = len(client.words(first_sentence(text)))
            for mode in cfg.modes:
                timing = (await client.synthesize(uri, text, cfg.timeout_s) if mode == MODES[0]
                          else await bench_http.speech(cfg.http, text, cfg.timeout_s)
                          if mode == "http" and cfg.http
                          else await client.stream(uri, text, first_words,
                                                   cfg.words_per_second, cfg.timeout_s))
                timings[name][mode].append(timing)
                _LOGGER.info("latency run %d/%d, %s %s: TTFA %.3f s, last %.3f s", run + 1,
                             cfg.runs, name, mode, timing.ttfa_s, timing.ttla_s)
    return timings


def summarize_latency(timings: list[client.Timing], model_s: float | None) -> dict:
    records = [t.as_dict() for t in timings]

    def col(key: str) -> list[float]:
        return [r[key] for r in records]

    ttfa = summary(col("ttfa_s"))
    return {
        "ttfa_s": ttfa, "ttla_s": summary(col("ttla_s")), "audio_s": summary(col("audio_s")),
        "rtf": summary(col("rtf")), "worst_deficit_s": summary(col("worst_deficit_s")),
        "stall_s": summary(col("stall_s")), "stop_lag_s": summary(col("stop_lag_s")),
        "underruns": int(sum(col("underruns"))),
        "ttfa_vs_model": ttfa["median"] / model_s if ttfa and model_s else None,
        "requests": records,
    }


def load_baseline_engine(server_args: list[str]) -> object:
    """The server's model, voices and threads, loaded whole: the baseline is one call of the
    unsplit, unoptimised int8 graph, whatever the server itself does (streaming decoder,
    graph optimisation, precision)."""
    from wyoming_kokoro.config import engine_config
    from wyoming_kokoro.loader import load_engine

    settings = parse_settings(server_args)
    if hasattr(settings, "streaming_decoder"):
        settings.streaming_decoder = False
    # the unmodified file: what the server's optimised graph and precision are measured against
    settings.graph_optimize, settings.precision = False, "int8"
    return load_engine(engine_config(settings))


def measure_model(engine: object, texts: dict[str, str], runs: int) -> dict[str, dict]:
    """Whole-model time of each text's first sentence, in this process on an idle server:
    the cost a render-then-send server pays before its first sample."""
    voice = engine.voices.voices[engine.default_voice]
    speed = engine.options.speed
    results = {}
    for name, text in texts.items():
        g2p, model = [], []
        for i in range(runs + 1):  # the first call warms G2P and ORT for this shape
            started = time.perf_counter()
            phonemes = engine.phonemize(first_sentence(text), voice.language)
            piece = (split_phonemes(phonemes, engine.model.capacity) or [""])[0]
            ids = engine.vocab.encode(piece)
            g2p_done = time.perf_counter()
            rendered = engine.model.run(ids, voice.style(len(ids)), speed)
            if i:
                g2p.append(g2p_done - started)
                model.append(time.perf_counter() - g2p_done)
        results[name] = {"tokens": len(ids), "audio_s": len(rendered) / audio.SAMPLE_RATE,
                         "g2p_s": summary(g2p), "model_s": summary(model)}
    return results


# -- orchestration ------------------------------------------------------------------------
def describe_model(engine: object | None, server_args: list[str]) -> dict[str, object]:
    """Header fields for the model; without a loaded engine only the --model option is known."""
    if engine is None:
        return {"model": parse_settings(server_args).model, "model_kind": "unknown",
                "providers": [], "baseline": None}
    bucket = engine.model.contract.bucket
    return {
        "model": engine.model.path.name if engine.model.path else "(in memory)",
        "model_kind": f"bucket b{bucket}" if bucket else "dynamic",
        "providers": list(engine.model.providers),
        "baseline": "split graph" if getattr(engine.model, "split", None) else "whole graph",
    }


async def run_bench(cfg: BenchConfig, server_args: list[str], uri: str | None = None,
                    server_pid: int | None = None, engine: object | None = None) -> dict:
    """The whole benchmark; returns the JSON-ready result. `engine` reuses a loaded engine
    for the model timing (tests), otherwise one is loaded from `server_args`."""
    started_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    began = time.monotonic()
    system = system_info()
    model, owned = None, engine is None
    if cfg.model_timing:  # first: on an idle machine, and a broken setup fails in seconds
        if engine is None:
            engine = await asyncio.to_thread(load_baseline_engine, server_args)
        model = await asyncio.to_thread(measure_model, engine, cfg.texts, cfg.runs)
        _LOGGER.info("model time of the first sentences: %s", ", ".join(
            f"{n} {m['model_s']['median']:.3f} s" for n, m in model.items()))
    header_model = describe_model(engine, server_args)
    if owned and engine is not None:
        engine.close()
    engine = None  # the bench's copy of the model goes before the server is measured
    if cfg.http == "auto":  # the server the bench starts also serves HTTP on a free port
        if uri is not None:
            raise client.BenchError("--http without a URL needs the bench to start the server")
        port = free_port()
        server_args = [*server_args, "--http", f"127.0.0.1:{port}"]
        cfg.http = f"http://127.0.0.1:{port}"
    server_info: dict[str, object] = {"uri": uri, "started": uri is None, "args": server_args,
                                      "http": cfg.http}
    server_info.update(cpus=sorted(cfg.cpus) if cfg.cpus else None, hog=cfg.hog)
    async with contextlib.AsyncExitStack() as stack:
        if cfg.hog:
            stack.enter_context(CpuHog(cfg.hog, cfg.cpus))
        if uri is None:
            process = await stack.enter_async_context(
                ServerProcess(server_args, cfg.start_timeout_s, cfg.cpus))
            uri, server_pid = process.uri, process.pid
            server_info.update(uri=uri, ready_s=process.ready_s)
            _LOGGER.info("server ready on %s in %.1f s", uri, process.ready_s)
        check_loopback(uri)
        if cfg.http:
            bench_http.check_loopback_url(cfg.http)
            await bench_http.wait_ready(cfg.http)
        server_info["pid"] = server_pid
        watch = MemoryWatch(server_pid).start() if server_pid else None
        try:
            await client.synthesize(uri, cfg.texts[next(iter(cfg.texts))], cfg.timeout_s)
            idle = describe_stats(*await probe_describe(uri, count=cfg.idle_describes,
                                                        interval=cfg.describe_interval))
            timings = await measure_latency(uri, cfg)
            concurrency, saturated, distinct = await measure_load(
                uri, cfg, cfg.load_text, cfg.load_name)
            memory = (await measure_memory(uri, watch, cfg, next(iter(cfg.texts.values())))
                      if watch else None)
        finally:
            peak = watch.stop() if watch else None
    if memory is not None and peak is not None:
        memory = {**peak, **memory}
    server_info["load_clients_distinct_addresses"] = distinct
    latency = {
        name: {mode: summarize_latency(timings[name][mode],
                                       ((model or {}).get(name) or {}).get("model_s", {})
                                       .get("median"))
               for mode in cfg.modes}
        for name in cfg.texts
    }
    return {
        "schema": "wyoming-kokoro-bench/1",
        "header": {
            "started_at": started_at, "duration_s": time.monotonic() - began, "system": system,
            **header_model, "server": server_info,
        },
        "config": {**{k: v for k, v in asdict(cfg).items()
                      if k not in ("texts", "load_text", "load_name")},
                   "texts": list(cfg.texts), "load_text": cfg.load_name},
        "texts": {name: {"text": text, "words": len(client.words(text)),
                         "first_sentence": first_sentence(text),
                         "first_sentence_words": len(client.words(first_sentence(text)))}
                  for name, text in cfg.texts.items()},
        "model": model,
        "latency": latency,
        "concurrency": concurrency,
        "describe": {"idle": idle, "saturated": saturated},
        "memory": memory,
    }


# -- command line ---------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"need positive integers, got {text!r}")
    return values


def _int_list_zero(text: str) -> set[int]:
    try:
        values = {int(v) for v in text.split(",") if v.strip()}
    except ValueError:
        values = set()
    if not values or min(values) < 0 or not values <= os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(f"need cores of this machine, got {text!r}")
    return values


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_bench_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wyoming_kokoro.bench", allow_abbrev=False,  # never eat server options
        description="Benchmark a wyoming-kokoro server over Wyoming (loopback only). Server "
                    "options (--model, --data-dir, --no-download, --threads, ...) pass through "
                    "to the server it starts and to the in-process model timing.")
    p.add_argument("--uri", help="use this running loopback server instead of starting one")
    p.add_argument("--server-pid", type=int, help="its process id, for RSS (with --uri)")
    p.add_argument("--runs", type=int, help="repetitions per measurement (default 3, quick 1)")
    p.add_argument("--quick", action="store_true", help="smoke mode: short text, few requests")
    p.add_argument("--json", type=Path, help="also write the results here as JSON")
    p.add_argument("--texts", help="which of short,medium,long (default all; quick: short)")
    for name in TEXTS:
        p.add_argument(f"--{name}", dest=f"text_{name}", metavar="TEXT",
                       help=f"replace the {name} text")
    p.add_argument("--words-per-second", type=_positive_float, default=10.0,
                   help="streaming text rate, like an LLM (default %(default)s)")
    p.add_argument("--clients", type=_int_list, help="concurrency levels (default 1,2,4)")
    p.add_argument("--per-client", type=int, help="requests per client per round (default 2)")
    p.add_argument("--load-text", choices=list(TEXTS), help="text for the load test "
                   "(default medium; quick: short)")
    p.add_argument("--rss-requests", type=int,
                   help="requests for the RSS growth check (default 30; quick 3)")
    p.add_argument("--timeout", type=_positive_float,
                   help="seconds per request (default 120)")
    p.add_argument("--start-timeout", type=_positive_float, default=180.0,
                   help="seconds for the server to answer describe (default %(default)s)")
    p.add_argument("--same-address", action="store_true",
                   help="load-test clients all connect from one address, as Home Assistant "
                        "does (subject to --max-client-concurrent); default: 127.0.0.2, .3, …")
    p.add_argument("--http", nargs="?", const="auto", metavar="URL",
                   help="also time the OpenAI-compatible HTTP API: the started server gets "
                        "--http on a free loopback port (or give the URL of a running one, "
                        "e.g. http://127.0.0.1:8880); load clients alternate Wyoming / HTTP")
    p.add_argument("--cpus", type=_int_list_zero, metavar="LIST",
                   help="pin the started server to these cores (e.g. 0), like taskset: a "
                        "slower machine on any machine; pair with --threads 1")
    p.add_argument("--hog", type=int, default=0, metavar="N",
                   help="run N busy processes beside the server (on its --cpus) throughout")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--no-model", action="store_true",
                   help="skip the in-process model timing (saves loading a second engine)")
    return p


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    quick = args.quick
    texts = {name: getattr(args, f"text_{name}") or text for name, text in TEXTS.items()}
    wanted = (args.texts or ("short" if quick else ",".join(TEXTS))).split(",")
    unknown = [w for w in wanted if w not in texts]
    if unknown:
        raise SystemExit(f"--texts: unknown {unknown}; choose from {list(TEXTS)}")

    def pick(value: object, normal: object, smoke: object) -> object:
        return value if value is not None else smoke if quick else normal

    return BenchConfig(
        runs=max(1, pick(args.runs, 3, 1)), quick=quick,
        texts={w: texts[w] for w in wanted}, words_per_second=args.words_per_second,
        clients=pick(args.clients, [1, 2, 4], [1, 2]),
        per_client=max(1, pick(args.per_client, 2, 1)),
        load_name=(load := pick(args.load_text, "medium", "short")), load_text=texts[load],
        rss_requests=max(0, pick(args.rss_requests, 30, 3)),
        idle_describes=10 if quick else 20, timeout_s=pick(args.timeout, 120.0, 60.0),
        start_timeout_s=args.start_timeout, model_timing=not args.no_model,
        same_address=args.same_address, http=args.http, cpus=args.cpus, hog=args.hog,
    )


def main(argv: list[str] | None = None) -> None:
    args, server_args = build_bench_parser().parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    build_parser().parse_args(server_args)  # reject unknown options with the server's message
    cfg = config_from_args(args)
    if args.uri:
        check_loopback(args.uri)
    try:
        result = asyncio.run(run_bench(cfg, server_args, args.uri, args.server_pid))
    except (client.BenchError, TimeoutError, OSError, psutil.Error) as err:
        print(f"bench failed: {err or type(err).__name__}", file=sys.stderr)
        sys.exit(1)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
