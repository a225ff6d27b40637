"""Does the server sound like the full model? `python -m bench.parity`
(from the repository root)

For each sentence of a public set (bench/data/parity_sentences.json) it compares
what a loopback server sends, in each `--streaming-decoder` mode, with the full model's own
output (one call of the unsplit graph, trimmed as the server trims it): log-spectral distance
on loud frames (per sentence, and within ±2 decoder frames of the head's seam), loudness,
the share of samples identical to the full model, and the errors two recognisers make
(Whisper tiny.en and base; words for English, characters for es/fr/it/pt/ja/zh). It also
reports first audio and the silence a player would have to insert.

Needs the test extra (faster-whisper and the recognisers). Unknown options go to the server;
pin it to a slow machine with `taskset -c 0 python -m bench.parity --threads 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from wyoming.audio import AudioChunk
from wyoming.client import AsyncClient
from wyoming.tts import Synthesize, SynthesizeVoice

from bench import asr
from bench.client import continuity
from bench.measures import Comparison, compare
from wyoming_kokoro import audio as pcm

LANGUAGE_CODES = {"en": "a", "es": "e", "fr": "f", "it": "i", "pt": "p", "ja": "j", "zh": "z"}


@dataclass
class Item:
    language: str
    text: str


@dataclass
class Heard:
    """One sentence as a client received it."""

    audio: np.ndarray
    ttfa_s: float
    stall_s: float
    worst_deficit_s: float


def load_sentences(languages: list[str], limit: int | None) -> list[Item]:
    source = Path(__file__).parent / "data" / "parity_sentences.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    return [Item(lang, text) for lang in languages for text in data[lang][:limit]]


# -- what the server sends ---------------------------------------------------------------------
async def hear(uri: str, text: str, voice: str, timeout: float = 300.0) -> Heard:
    """One `synthesize` over Wyoming, as Home Assistant sends it; the audio and its timing."""
    chunks: list[bytes] = []
    arrivals: list[float] = []
    async with AsyncClient.from_uri(uri) as client:
        start = time.monotonic()
        await client.write_event(Synthesize(text, SynthesizeVoice(voice)).event())
        async with asyncio.timeout(timeout):
            while (event := await client.read_event()) is not None:
                if AudioChunk.is_type(event.type):
                    chunks.append(AudioChunk.from_event(event).audio)
                    arrivals.append(time.monotonic() - start)
                elif event.type in ("audio-stop", "error"):
                    break
    durations = [len(c) / 2 / pcm.SAMPLE_RATE for c in chunks]
    flow = continuity(arrivals, durations)
    audio = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32768
    return Heard(audio, arrivals[0] if arrivals else float("nan"), flow.stall_s,
                 flow.worst_deficit_s)


def pick_voices(engine: object, languages: list[str]) -> dict[str, str]:
    """The default voice where it speaks the language, else the first voice that does."""
    voices = engine.voices.voices
    chosen = {}
    for lang in languages:
        code = LANGUAGE_CODES[lang]
        default = voices[engine.default_voice]
        chosen[lang] = engine.default_voice if default.language == code else next(
            name for name, v in voices.items() if v.language == code)
    return chosen


def references(engine: object, items: list[Item], voices: dict[str, str]) -> list[np.ndarray]:
    """The full model's output as the server would send it (int16 rounding included)."""
    out = []
    for item in items:
        voice = engine.voices.voices[voices[item.language]]
        audio = engine.synthesize(item.text, voice)
        out.append(np.frombuffer(pcm.to_pcm16(audio), dtype="<i2").astype(np.float32) / 32768)
    return out


def score(comparisons: list[Comparison], items: list[Item], audios: list[np.ndarray],
          recognisers: list[str]) -> None:
    for comparison, item, audio in zip(comparisons, items, audios, strict=True):
        for name in recognisers:
            if name == "tiny.en" and item.language != "en":
                continue
            heard = asr.transcribe(audio, name, item.language)
            comparison.heard[name] = heard
            comparison.errors[name], comparison.units = asr.errors(item.text, heard,
                                                                   item.language)


def summarize(rows: list[dict], recognisers: list[str]) -> dict:
    """Per mode and language: distances (p50/p95 of per-sentence means), errors, losses."""
    out: dict = {}
    for row in rows:
        key = (row["mode"], row["language"])
        out.setdefault(key, []).append(row)
    summary = {}
    for (mode, lang), group in out.items():
        lsd = [r["lsd_db"] for r in group if r["lsd_db"] is not None]
        seams = [r["seam_lsd_db"] for r in group if r["seam_lsd_db"] is not None]
        errors = {n: sum(r["errors"].get(n, 0) for r in group) for n in recognisers}
        ref_errors = {n: sum(r["reference_errors"].get(n, 0) for r in group) for n in recognisers}
        used = [n for n in recognisers if any(n in r["errors"] for r in group)]
        lost = [r["text"] for r in group if used and all(
            r["errors"].get(n, 0) > r["reference_errors"].get(n, 0) for n in used)]
        summary[f"{mode}/{lang}"] = {
            "sentences": len(group),
            "units": sum(r["units"] for r in group) * len(used),
            "lsd_p50_db": float(np.percentile(lsd, 50)) if lsd else None,
            "lsd_p95_db": float(np.percentile(lsd, 95)) if lsd else None,
            "lsd_max_db": max(lsd) if lsd else None,
            "seam_lsd_max_db": max(seams) if seams else None,
            "seams": len(seams),
            "loudness_max_abs_db": max(abs(r["loudness_db"]) for r in group),
            "identical_share": float(np.mean([r["identical_share"] for r in group])),
            "errors": errors, "reference_errors": ref_errors,
            "sentences_losing_words": lost,
            "ttfa_p50_s": float(np.median([r["ttfa_s"] for r in group])),
            "stall_total_s": float(sum(r["stall_s"] for r in group)),
            "worst_deficit_s": max(r["worst_deficit_s"] for r in group),
        }
    return summary


def markdown(summary: dict, header: dict) -> str:
    lines = [f"CPU: {header['cpu']} ({header['flags']}); threads {header['threads']}; "
             f"{header['date']}", "",
             "| mode/lang | n | LSD p50 / p95 / max dB | seam LSD max dB (seams) | loudness "
             "max dB | identical | errors (tiny.en, base) vs full model | losing | TTFA p50 | "
             "stall |", "|" + "---|" * 10]
    for key, s in summary.items():
        fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
        err = ", ".join(f"{s['errors'][n]}/{s['reference_errors'][n]}" for n in s["errors"])
        lines.append(
            f"| {key} | {s['sentences']} | {fmt(s['lsd_p50_db'])} / {fmt(s['lsd_p95_db'])} / "
            f"{fmt(s['lsd_max_db'])} | {fmt(s['seam_lsd_max_db'])} ({s['seams']}) | "
            f"{s['loudness_max_abs_db']:.2f} | {100 * s['identical_share']:.0f} % | {err} "
            f"of {s['units']} | {len(s['sentences_losing_words'])} | {s['ttfa_p50_s']:.2f} s | "
            f"{s['stall_total_s']:.2f} s |")
    return "\n".join(lines)


def cpu_header(threads: int | None) -> dict:
    model, flags = platform.processor() or "?", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8",
                                     "avx512_fp16") if f in have]
                break
    except OSError:
        pass
    return {"cpu": model, "flags": " ".join(flags) or "none of avx2/avx512",
            "cpus_usable": len(os.sched_getaffinity(0)), "threads": threads,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


async def run(args: argparse.Namespace, server_args: list[str]) -> dict:
    from bench.server import ServerProcess
    from wyoming_kokoro.config import engine_config
    from wyoming_kokoro.loader import load_engine
    from wyoming_kokoro.settings import parse_settings

    items = load_sentences(args.languages, args.limit)
    settings = parse_settings(server_args)
    settings.streaming_decoder = False
    if settings.precision == "bf16":  # the reference is the float32 model bf16 is cast from
        settings.precision = "fp32"
    engine = load_engine(engine_config(settings))
    voices = pick_voices(engine, args.languages)
    reference = references(engine, items, voices)
    engine.close()
    rows: list[dict] = []
    ref_scores = [Comparison(0.0, None, 0.0, 1.0, None) for _ in items]
    score(ref_scores, items, reference, args.recognisers)
    for mode in args.modes:
        heard: list[Heard] = []
        async with ServerProcess([*server_args, "--streaming-decoder", mode]) as server:
            await hear(server.uri, items[0].text, voices[items[0].language])  # warm the G2P
            for item in items:
                heard.append(await hear(server.uri, item.text, voices[item.language]))
        comparisons = [compare(h.audio, r) for h, r in zip(heard, reference, strict=True)]
        for c, ref_c, h, r in zip(comparisons, ref_scores, heard, reference, strict=True):
            if c.identical_share == 1.0 and len(h.audio) == len(r):
                c.heard, c.errors, c.units = dict(ref_c.heard), dict(ref_c.errors), ref_c.units
        pending = [i for i, c in enumerate(comparisons) if not c.heard]
        score([comparisons[i] for i in pending], [items[i] for i in pending],
              [heard[i].audio for i in pending], args.recognisers)
        for item, c, ref_c, h in zip(items, comparisons, ref_scores, heard, strict=True):
            row = {"mode": mode, "language": item.language, "text": item.text, **asdict(c),
                   "reference_heard": ref_c.heard, "reference_errors": ref_c.errors,
                   "ttfa_s": h.ttfa_s, "stall_s": h.stall_s,
                   "worst_deficit_s": h.worst_deficit_s}
            rows.append(row)
    header = cpu_header(settings.threads)
    summary = summarize(rows, args.recognisers)
    return {"schema": "wyoming-kokoro-parity/1", "header": header, "summary": summary,
            "sentences": rows, "markdown": markdown(summary, header)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parity",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="on,off", type=lambda s: s.split(","),
                        help="--streaming-decoder modes to run (default %(default)s)")
    parser.add_argument("--languages", default=",".join(LANGUAGE_CODES),
                        type=lambda s: s.split(","), help="default %(default)s")
    parser.add_argument("--limit", type=int, help="sentences per language (default all)")
    parser.add_argument("--recognisers", default=",".join(asr.RECOGNISERS),
                        type=lambda s: s.split(","), help="default %(default)s")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args, server_args = parser.parse_known_args(argv)
    if unknown := [m for m in args.modes if m not in ("on", "off", "auto")]:
        parser.error(f"unknown mode(s) {unknown}")
    if unknown := [x for x in args.languages if x not in LANGUAGE_CODES]:
        parser.error(f"unknown language(s) {unknown}")
    if not any(a.startswith("--model") for a in server_args):
        server_args = ["--model", "bundle", *server_args]
    report = asyncio.run(run(args, server_args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(report["markdown"])


if __name__ == "__main__":
    sys.exit(main())
