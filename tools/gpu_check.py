"""GPU check for issue 7, run on a lent GPU machine (see tools/gpu_check.sh): per-call latency
of a synthetic fixed-bucket model and of real Kokoro graphs on CUDA (and TensorRT when its
libraries exist), whole-model calls vs the streaming decoder's acoustic part and head.

Inputs come from this machine (tokens + style rows in an .npz) because the GPU image has no
G2P; the engine code measured is the project's own (KokoroModel, SplitModel)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def p50(fn, runs: int = 20, warm: int = 3) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> None:
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    from tests.synthetic import build_bucket_model
    from wyoming_kokoro.audio import SAMPLE_RATE
    from wyoming_kokoro.model.kokoro import KokoroModel

    parser = argparse.ArgumentParser()
    parser.add_argument("--int8", type=Path, required=True)
    parser.add_argument("--dequantizer", type=Path, required=True)
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--texts", default="short,medium,long")
    parser.add_argument("--variants", default="fp32,fp16,int8")
    args = parser.parse_args()
    work = Path("/tmp/gpucheck")
    work.mkdir(exist_ok=True)
    report: dict = {"ort": ort.__version__, "available": ort.get_available_providers()}
    try:
        report["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                                        "--format=csv,noheader"], capture_output=True,
                                       text=True, timeout=20).stdout.strip()
    except OSError:
        report["gpu"] = "unknown"
    data = np.load(args.inputs)
    texts = {k[4:]: data[k] for k in data.files
             if k.startswith("ids_") and k[4:] in args.texts.split(",")}

    def feeds_for(model: KokoroModel, name: str) -> dict:
        ids = texts[name]
        return model.feeds(list(ids), data[f"style_{name}"], 1.0)

    # 1. synthetic fixed-bucket model (the bucket contract's fixed cost per call)
    synth = {}
    path = build_bucket_model(work / "b64.onnx", bucket=64)
    for provider in ("cuda", "cpu"):
        model = KokoroModel.load(path, provider, threads=4)
        ids = list(range(1, 40))
        style = np.full((1, 256), 0.3, np.float32)
        synth[provider] = {"providers": model.providers,
                           "p50_ms": p50(lambda m=model, i=ids, s=style: m.run(i, s, 1.0),
                                         runs=args.runs * 2)}
    report["synthetic_b64"] = synth
    # 2. real Kokoro graphs: float rebuilds of the int8 bundle (int8 ops have no CUDA kernels)
    models = {}
    for variant, flags in (("fp32", []), ("fp16", ["--fp16"])):
        if variant not in args.variants:
            continue
        out = work / f"kokoro-{variant}.onnx"
        subprocess.run([sys.executable, str(args.dequantizer), str(args.int8), "--out", str(out),
                        *flags], check=True, capture_output=True, timeout=300)
        models[variant] = out
    if "int8" in args.variants:
        models["int8"] = args.int8
    results = {}
    for variant, path in models.items():
        for provider in ("cuda",) if variant != "int8" else ("cuda", "cpu"):
            whole = KokoroModel.load(path, provider, threads=4, streaming_decoder=False)
            split = KokoroModel.load(path, provider, threads=4, streaming_decoder=True)
            row = {"providers": whole.providers}
            for name in texts:
                fw, fs = feeds_for(whole, name), feeds_for(split, name)
                runs = max(1, args.runs // 2 if provider == "cpu" else args.runs)
                entry = {"tokens": len(texts[name]),
                         "whole_ms": p50(lambda w=whole, fw=fw: w.session.run(None, fw),
                                         runs=runs)}
                entry["acoustic_ms"] = p50(lambda s=split, fs=fs: s.split.acoustic(fs),
                                           runs=runs)
                features = split.split.acoustic(fs)
                entry["frames"] = features.frames
                head = min(features.frames, 32)  # a 0.5 s head with its context
                entry["head_ms"] = p50(
                    lambda s=split, f=features, h=head: s.split.decode(f, 0, h), runs=runs)
                entry["decode_ms"] = p50(lambda s=split, f=features: s.split.decode(f),
                                         runs=runs)
                entry["ttfa_ms"] = entry["acoustic_ms"] + entry["head_ms"]
                audio = split.split.decode(features)
                entry["audio_s"] = len(audio) / SAMPLE_RATE
                entry["finite"] = bool(np.isfinite(audio).all())
                row[name] = entry
            results[f"{variant}/{provider}"] = row
            report["kokoro"] = results
            args.out.write_text(json.dumps(report, indent=1))
            print(json.dumps({f"{variant}/{provider}": row}), flush=True)
            del whole, split
    report["kokoro"] = results
    try:
        KokoroModel.load(work / "b64.onnx", "tensorrt", threads=1)
        report["tensorrt"] = "TensorrtExecutionProvider" in ort.get_available_providers()
    except Exception as err:  # noqa: BLE001 - reported, not fatal
        report["tensorrt"] = f"unavailable: {err}"[:300]
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
