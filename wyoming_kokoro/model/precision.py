"""Precision per CPU: the bundle's int8 graph, the float32 graph rebuilt from it, float16, or
bf16 (the float32 graph with its decoder body in bf16 on OpenVINO, bf16.py) — whichever runs
fastest here while its audio stays within 2 dB (log-spectral distance, p95 of
loud frames) of the full float32 model's.

int8 is not always faster: dynamic quantisation re-quantises every activation at run time,
and ONNX Runtime's fast blocked convolutions only take float32 2-D ones (see optimize.py).
Run `python -m wyoming_kokoro.model.precision` to print the measurement.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from subprocess import SubprocessError

import numpy as np

from wyoming_kokoro.audio import SAMPLE_RATE
from wyoming_kokoro.model.bf16 import Bf16Model, bf16_candidate, native_bf16, plugin_version
from wyoming_kokoro.model.distance import log_spectral_distance
from wyoming_kokoro.model.optimize import VERSION as OPTIMIZER_VERSION
from wyoming_kokoro.model.optimize import optimized_file
from wyoming_kokoro.model.session import ModelError

_LOGGER = logging.getLogger(__name__)

PRECISIONS = ("int8", "fp32", "fp16", "bf16")
PARITY_DB = 2.0  # log-spectral distance to the float32 model, p95 of loud frames
RECORD = "precision.json"  # the decision and its timings, in the cache dir
MARGIN = 1.1  # a rebuilt precision must beat int8 by 10 %: timings on a shared CPU are noisy
# Three sentences (short, medium, long) as misaki en-us phonemes: no G2P needed to measure.
PHONEMES = (
    "tˈɜɹn ˌɔn ðə kˈɪʧᵊn lˈIts.",
    "ðə fɹˈʌnt dˈɔɹ ɪz lˈɑkt ænd ði əlˈɑɹm ɪz sˈɛt fɔɹ ðə nˈIt.",
    "ɡˈʊd mˈɔɹnɪŋ! ˌɪt ɪz sˈɛvən dəɡɹˈiz ˌWtsˈId, wɪð lˈIt ɹˈAn ˌʌntˈɪl nˈun, sˌO tˈAk ɐn "
    "ˌʌmbɹˈɛlə.",
)


def is_dynamic_int8(path: Path) -> bool:
    """A kokoro-onnx int8 export (dynamic quantisation), the only one rebuilt in float (its
    rebuilds keep "int8" in their name: `<int8 stem>--<size>-<mtime>.fp32.onnx`)."""
    name = path.name.lower()
    return "int8" in name and not name.endswith(tuple(f".{p}.onnx" for p in PRECISIONS[1:]))


def _key(path: Path) -> str:
    stat = path.stat()
    return f"{path.stem}--{stat.st_size}-{stat.st_mtime_ns}"


def rebuilt_file(int8: Path, precision: str, cache_dir: Path, timeout: float = 600) -> Path:
    """`int8` itself, or its float32/float16 rebuild in cache_dir (made once, child process);
    bf16 runs the float32 rebuild, its decoder body cast by OpenVINO (bf16.py)."""
    if precision == "int8":
        return int8
    if precision == "bf16":
        precision = "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {PRECISIONS}")
    stem = f"{int8.stem}--"
    target = cache_dir / f"{_key(int8)}.{precision}.onnx"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob(f"{stem}*.{precision}.onnx"):
            stale.unlink(missing_ok=True)
        _LOGGER.info("Rebuilding %s in %s (once) into %s", int8.name, precision, cache_dir)
        partial = target.with_name(target.name + ".part")
        fp16 = ["--fp16"] if precision == "fp16" else []
        done = subprocess.run([sys.executable, "-m", "wyoming_kokoro.model.dequantize",
                               str(int8), "--out", str(partial), *fp16],
                              timeout=timeout, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise SubprocessError(f"rebuilding {precision} failed: "
                                             f"{done.stderr.strip()[-500:]}")
        os.replace(partial, target)
    return target


def cpu_summary() -> dict[str, object]:
    """CPU model and the vector extensions that decide which precision is fast."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and ":" in line:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
              "amx_int8", "amx_bf16", "asimddp", "fphp")
    return {"cpu": name, "cores": os.cpu_count(), "flags": [f for f in wanted if f in flags]}


def measure(int8: Path, style_for: object, cache_dir: Path, threads: int | None = None,
            precisions: tuple[str, ...] = ("int8", "fp32"), optimize: bool = True,
            reps: int = 3) -> dict[str, object]:
    """Time per rendered second and parity of each precision (min of `reps` runs per
    sentence); `style_for(n_tokens)` gives the (1, 256) style vector."""
    from wyoming_kokoro.model.session import create_session
    from wyoming_kokoro.phonemes.g2p import Vocab

    vocab = Vocab.load()
    feeds = []
    for phonemes in PHONEMES:
        ids = vocab.encode(phonemes)
        feeds.append({"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                      "style": np.asarray(style_for(len(ids)), np.float32).reshape(1, 256),
                      "speed": np.array([1.0], np.float32)})
    providers = ["CPUExecutionProvider"]
    reference_session = create_session(rebuilt_file(int8, "fp32", cache_dir), providers, threads)
    references = [np.asarray(reference_session.run(None, f)[0]).reshape(-1) for f in feeds]
    del reference_session
    sessions, results = {}, {}
    for precision in precisions:
        path = rebuilt_file(int8, precision, cache_dir)
        started = time.monotonic()
        if precision == "bf16":
            try:
                sessions[precision] = Bf16Model(path, cache_dir.parent, threads)
            except ModelError as err:  # the others are still worth a record
                _LOGGER.warning("bf16 cannot run here (%s); not measured", err)
                continue
        else:
            if optimize:
                path = optimized_file(path, cache_dir / "optimized")
            sessions[precision] = create_session(path, providers, threads)
        results[precision] = {"load_s": round(time.monotonic() - started, 3)}
    outputs = {p: [np.asarray(s.run(None, f)[0]).reshape(-1) for f in feeds]  # and warm-up
               for p, s in sessions.items()}
    precisions = tuple(sessions)
    best = {p: [float("inf")] * len(feeds) for p in precisions}
    for _ in range(reps):  # interleaved: a neighbour's load hits every precision alike
        for i, f in enumerate(feeds):
            for precision, session in sessions.items():
                started = time.perf_counter()
                session.run(None, f)
                best[precision][i] = min(best[precision][i], time.perf_counter() - started)
    for precision in precisions:
        audio = outputs[precision]
        audio_s = sum(len(o) for o in audio) / SAMPLE_RATE
        finite = all(np.isfinite(o).all() for o in audio)
        lsd = max(log_spectral_distance(r, o) for r, o in zip(references, audio, strict=True))
        results[precision].update({
            "seconds": [round(t, 4) for t in best[precision]], "audio_s": round(audio_s, 3),
            "per_audio_second": round(sum(best[precision]) / audio_s, 4),
            "lsd_p95_db": round(lsd if finite else float("inf"), 3),
            "passes": bool(finite and lsd <= PARITY_DB),
        })
    return {**cpu_summary(), "model": int8.name, "threads": threads, "optimized": optimize,
            "results": results, "choice": pick(results)}


def pick(results: dict[str, dict]) -> str:
    """int8 (the model as shipped), unless a precision with parity is ≥ MARGIN faster."""
    choice = "int8"
    for precision, r in results.items():
        if precision == "int8" or not r["passes"]:
            continue
        baseline = results.get(choice, {}).get("per_audio_second", float("inf"))
        if r["per_audio_second"] * MARGIN <= baseline:
            choice = precision
    return choice


def _record_key(int8: Path, threads: int | None, optimize: bool) -> str:
    return (f"{_key(int8)}|{cpu_summary()['cpu']}|{threads}|{optimize}|v{OPTIMIZER_VERSION}"
            f"|bf16={native_bf16() and plugin_version()}")  # a new plugin measures again


def recorded(int8: Path, cache_dir: Path, threads: int | None, optimize: bool) -> str | None:
    """The decision measured earlier for this file, CPU, thread count and optimiser."""
    try:
        saved = json.loads((cache_dir / RECORD).read_text())
        if saved.get("key") == _record_key(int8, threads, optimize):
            return str(saved["choice"])
    except (OSError, ValueError, KeyError):
        pass
    return None


def choose(int8: Path, style_for: object, cache_dir: Path, threads: int | None,
           optimize: bool) -> str:
    """`auto`: the recorded decision for this file, CPU and thread count, or a new
    measurement of int8 against fp32 (≈ 30–60 s, once), recorded in cache_dir."""
    known = recorded(int8, cache_dir, threads, optimize)
    if known is not None:
        return known
    cpu = cpu_summary()
    candidates = ("int8", "fp32", "bf16") if bf16_candidate() else ("int8", "fp32")
    _LOGGER.info("Measuring %s on this CPU (once, %s)", ", ".join(candidates), cpu["cpu"])
    report = measure(int8, style_for, cache_dir, threads, candidates, optimize)
    cache_dir.mkdir(parents=True, exist_ok=True)
    record = cache_dir / RECORD
    partial = record.with_name(record.name + ".part")
    partial.write_text(json.dumps({"key": _record_key(int8, threads, optimize), **report},
                                  indent=1))
    os.replace(partial, record)
    _LOGGER.info("Precision %s: %s", report["choice"], ", ".join(
        f"{p} {r['per_audio_second']:.3f} s per audio s, {r['lsd_p95_db']:.2f} dB"
        for p, r in report["results"].items()))
    return str(report["choice"])


def measure_in_background(int8: Path, voices: Path, voices_order: Path | None, voice: str,
                          cache_dir: Path, threads: int | None, optimize: bool
                          ) -> subprocess.Popen:
    """`choose` in a niced child process, so a first start serves at once (on int8) and
    the next start runs the faster precision. One child at a time per cache_dir (a lock);
    its log goes to cache_dir/measure.log."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    options = ["--model", str(int8), "--voices", str(voices), "--voice", voice,
               "--cache-dir", str(cache_dir)]
    if voices_order is not None:
        options += ["--voices-order", str(voices_order)]
    if threads:
        options += ["--threads", str(threads)]
    if not optimize:
        options.append("--no-optimize")
    with (cache_dir / "measure.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", __name__, "--record", *options],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def _record(args: argparse.Namespace) -> None:
    """Child side of measure_in_background: measure unless another child already is."""
    import fcntl

    from wyoming_kokoro.voices import load_packs

    os.nice(10)  # the server beside it comes first
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    with (args.cache_dir / "measure.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            _LOGGER.info("Another process is measuring already")
            return
        pack = load_packs(args.voices, args.voices_order)[args.voice]
        choose(args.model, lambda n: pack[n - 1], args.cache_dir, args.threads,
               not args.no_optimize)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure int8 / fp32 / fp16 on this CPU.")
    parser.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where the bundle and the rebuilt graphs are cached")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--precisions", default=None,
                        help="comma list (default: all; bf16 where the CPU and plugin have it)")
    parser.add_argument("--no-optimize", action="store_true",
                        help="time the graphs as they are, not the optimised ones")
    parser.add_argument("--record", action="store_true",
                        help="measure int8 against fp32 for --model and record the choice in "
                             "--cache-dir, as `--precision auto` reads it (the server runs this)")
    parser.add_argument("--model", type=Path, help="with --record: the int8 model file")
    parser.add_argument("--voices", type=Path, help="with --record: its voices file")
    parser.add_argument("--voices-order", type=Path, default=None)
    parser.add_argument("--voice", default="jf_alpha", help="with --record: the voice to time")
    parser.add_argument("--cache-dir", type=Path, help="with --record: where choices live")
    args = parser.parse_args(argv)
    if args.record:
        if not (args.model and args.voices and args.cache_dir):
            parser.error("--record needs --model, --voices and --cache-dir")
        _record(args)
        return
    from wyoming_kokoro.model.assets import bundle_assets
    from wyoming_kokoro.voices import load_packs

    assets = bundle_assets(args.data_dir)
    pack = load_packs(assets.voices, assets.voices_order)["jf_alpha"]
    precisions = (args.precisions.split(",") if args.precisions else
                  [p for p in PRECISIONS if p != "bf16" or bf16_candidate()])
    report = measure(assets.model, lambda n: pack[n - 1], args.data_dir / "precision",
                     args.threads, tuple(precisions), not args.no_optimize, args.reps)
    print(f"CPU: {report['cpu']} ({report['cores']} cores), {' '.join(report['flags'])}")
    print(f"{'precision':10s} {'s/audio s':>10s} {'short':>7s} {'medium':>7s} {'long':>7s} "
          f"{'LSD p95':>8s}  parity")
    for name, r in report["results"].items():
        times = " ".join(f"{t:7.3f}" for t in r["seconds"])
        print(f"{name:10s} {r['per_audio_second']:10.3f} {times} {r['lsd_p95_db']:7.2f}  "
              f"{'pass' if r['passes'] else 'FAIL'}")
    print(f"choice: {report['choice']}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
