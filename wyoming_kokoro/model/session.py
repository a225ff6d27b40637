"""An onnxruntime session on the providers asked for, with CPU always the fallback."""

from __future__ import annotations

import logging
import os
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

_PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


class ModelError(RuntimeError):
    """The model file cannot be loaded or does not have a Kokoro contract."""


def resolve_providers(spec: str, trt_cache_dir: Path | None) -> list[str | tuple[str, dict]]:
    """`auto` or a comma list (tensorrt, cuda, cpu) → what onnxruntime has, CPU always last."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if spec.strip().lower() == "auto":
        wanted = [p for p in _PROVIDER_NAMES.values() if p in available]
        wanted = list(dict.fromkeys(wanted))
    else:
        wanted = []
        for name in (p.strip() for p in spec.split(",") if p.strip()):
            full = _PROVIDER_NAMES.get(name.lower(), name)
            if full not in available:
                _LOGGER.warning("Provider %s is not available in this onnxruntime (%s); "
                                "falling back", full, ", ".join(available))
                continue
            wanted.append(full)
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    providers: list[str | tuple[str, dict]] = []
    for name in wanted:
        if name == "TensorrtExecutionProvider" and trt_cache_dir is not None:
            trt_cache_dir.mkdir(parents=True, exist_ok=True)
            providers.append((name, {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(trt_cache_dir),
                "trt_timing_cache_enable": True,
                "trt_timing_cache_path": str(trt_cache_dir),
                "trt_fp16_enable": True,
            }))
        elif name == "CUDAExecutionProvider":
            # Segment and chunk shapes vary per call: exhaustive cuDNN search per new shape
            # costs seconds each time, the heuristic choice costs nothing.
            providers.append((name, {"cudnn_conv_algo_search": "HEURISTIC"}))
        else:
            providers.append(name)
    return providers


def create_session(path: Path | bytes, providers: list, threads: int | None) -> object:
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls") and any(
        (p[0] if isinstance(p, tuple) else p) != "CPUExecutionProvider" for p in providers
    ):
        try:
            ort.preload_dlls()  # CUDA/cuDNN from pip wheels; harmless when already loaded
        except Exception as err:  # noqa: BLE001 - best effort, the session reports real failures
            _LOGGER.debug("preload_dlls failed: %s", err)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        source = path if isinstance(path, bytes) else str(path)
        session = ort.InferenceSession(source, sess_options=options, providers=providers)
    except Exception as err:
        name = "(in-memory graph)" if isinstance(path, bytes) else path
        raise ModelError(f"cannot load ONNX model {name}: {err}") from err
    used = session.get_providers()
    requested = [p[0] if isinstance(p, tuple) else p for p in providers]
    if requested[0] not in used:
        _LOGGER.warning("Provider %s failed to start; using %s", requested[0], used[0])
    return session
