"""Latency, throughput and memory benchmark over Wyoming: `python -m bench`
(from the repository root).

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
            longest_gap_s,
            stop_lag_s: Summary, underruns: int (total), ttfa_vs_model: float | null,
            requests: [{mode, ref_s, text_done_s, ttfa_s, ttla_s, end_s, stop_lag_s, audio_s,
                        chunks, rtf, worst_deficit_s, underruns, stall_s, longest_gap_s}]}}}
  concurrency: [{clients, text, per_client, rounds, audio_per_wall: Summary, rtf: Summary,
                 fairness: Summary, ttfa_p50_s, ttfa_p95_s, ttfa_p95_vs_single,
                 stop_lag_max_s, silence_max_s, requests_with_gap, longest_gap_s,
                 client_ttfa_median_s: [..], ttfa_s: [..]}]
  describe: {idle: D | null, saturated: D | null}, D = {p50_ms, p99_ms, max_ms, n, failures,
            clients}
  memory: {peak_rss_mb, peak_source, rss_requests, rss_start_mb, rss_end_mb, growth_mb,
           slope_kb_per_request, samples_mb: [..]} | null
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from dataclasses import asdict

from bench import client, http_api
from bench.config import MODES, BenchConfig
from bench.load import describe_stats, measure_load, measure_memory, probe_describe
from bench.report import summary, system_info
from bench.server import CpuHog, MemoryWatch, ServerProcess, check_loopback, free_port
from wyoming_kokoro import audio
from wyoming_kokoro.phonemes.strings import split_phonemes
from wyoming_kokoro.settings import parse_settings
from wyoming_kokoro.text.sentences import cleanup, split_sentences

_LOGGER = logging.getLogger(__name__)


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
                          else await http_api.speech(cfg.http, text, cfg.timeout_s)
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
        "longest_gap_s": summary(col("longest_gap_s")),
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
            http_api.check_loopback_url(cfg.http)
            await http_api.wait_ready(cfg.http)
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
