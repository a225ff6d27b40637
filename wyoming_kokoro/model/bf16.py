"""The decoder in bfloat16 on OpenVINO, for CPUs with native bf16 (AMX or AVX512_BF16).

ONNX Runtime's own CPU kernels have no bf16 convolution on x86; OpenVINO's CPU plugin has, and
ships as an ONNX Runtime execution-provider plugin (`pip install wyoming-kokoro[openvino]`),
so the model still runs through onnxruntime. Only the decoder's body runs in bf16:
- its last convolution (`conv_post`) feeds exp() and sin() of the iSTFT, where bf16 rounding
  cost 3.5–4 dB (log-spectral) on its own; kept in float32 on ONNX Runtime, the audio is
  0.6–0.9 dB from the float32 model (the int8 bundle is 5–6 dB from it);
- the acoustic part stays float32: it predicts durations and F0 (and integrates F0 into the
  harmonic source), where a rounding moves phoneme boundaries.
Measured on a 2-core Sapphire Rapids Xeon: 0.44× the int8 bundle's model time.
"""

from __future__ import annotations

import glob
import importlib.metadata
import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from wyoming_kokoro.model.session import ModelError, create_session
from wyoming_kokoro.model.streaming_decoder import SplitModel

_LOGGER = logging.getLogger(__name__)

PLUGIN = "onnxruntime_ep_openvino"
CUT_VERSION = 1  # bump when the cut changes: cached bodies are keyed by it
NATIVE_FLAGS = ("amx_bf16", "avx512_bf16")  # without them OpenVINO emulates bf16: no faster
_POST_CONV = "generator/conv_post"  # the decoder's last convolution (Kokoro's iSTFTNet)

_registered: object | None = None  # the plugin's CPU OrtEpDevice, once registered
_library_loaded = False  # registered with onnxruntime (a second registration fails)
_register_lock = threading.Lock()


def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes bf16 in hardware (Linux: /proc/cpuinfo flags)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and ":" in line:
                return any(f in line.split(":", 1)[1].split() for f in NATIVE_FLAGS)
    except OSError:
        pass
    return False


def openvino_device() -> object:
    """OpenVINO's CPU device from its onnxruntime plugin, registered once per process;
    ModelError says why it cannot be had (plugin not installed, onnxruntime too old)."""
    global _registered, _library_loaded
    with _register_lock:
        if _registered is not None:
            return _registered
        import onnxruntime as ort

        try:
            import onnxruntime_ep_openvino as plugin
        except ImportError as err:
            raise ModelError(f"bf16 needs the OpenVINO plugin: pip install "
                             f"'wyoming-kokoro[openvino]' ({err})") from err
        if not hasattr(ort, "register_execution_provider_library"):
            raise ModelError(f"bf16 needs onnxruntime ≥ 1.23 (have {ort.__version__})")
        if not _library_loaded:
            try:
                ort.register_execution_provider_library("wyoming_kokoro_openvino",
                                                        plugin.get_library_path())
            except Exception as err:  # any failure means: no plugin here
                raise ModelError(f"cannot load the OpenVINO plugin: {err}") from err
            _library_loaded = True
        devices = [d for d in ort.get_ep_devices() if d.ep_name == plugin.get_ep_name()
                   and d.ep_metadata.get("ov_device") == "CPU"]
        if not devices:
            raise ModelError("the OpenVINO plugin found no CPU device")
        _registered = devices[0]
        return _registered


def unavailable() -> str | None:
    """Why bf16 cannot run here, or None when it can."""
    try:
        openvino_device()
    except ModelError as err:
        return str(err)
    return None


def cut_files(acoustic: Path, decoder: Path, cache_dir: Path) -> tuple[Path, Path]:
    """The decoder cut before conv_post into a bf16 body and a float32 post (a child process
    cuts it once into cache_dir, as split.py does)."""
    try:
        stat = decoder.stat()
        key = f"{decoder.stem}-{stat.st_size}-{stat.st_mtime_ns}-v{CUT_VERSION}"
        body, post = cache_dir / f"{key}.body.onnx", cache_dir / f"{key}.post.onnx"
        if not (body.is_file() and post.is_file()):
            cache_dir.mkdir(parents=True, exist_ok=True)
            # earlier cuts of this model (another rebuild, split or cut version) go
            model = re.sub(r"-\d+-\d+-v\d+\.decoder$", "", decoder.stem)
            for stale in cache_dir.glob(f"{glob.escape(model)}-*"):
                stale.unlink(missing_ok=True)
            _LOGGER.info("Cutting %s for the bf16 decoder (once) into %s", decoder.name,
                         cache_dir)
            subprocess.run([sys.executable, "-m", __name__, str(acoustic), str(decoder),
                            str(body), str(post)], check=True, timeout=900,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as err:
        raise ModelError(f"cannot cut {decoder.name} for bf16: "
                         f"{err.stderr.decode(errors='replace')[-500:]}") from err
    except (OSError, subprocess.SubprocessError) as err:
        raise ModelError(f"cannot cut {decoder.name} for bf16 into {cache_dir}: {err}") from err
    return body, post


def _write_cut(acoustic: Path, decoder: Path, body: Path, post: Path) -> None:
    """Child-process side of cut_files: post = conv_post onwards, body = the rest."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(decoder)
    convs = [n for n in model.graph.node if n.op_type == "Conv" and _POST_CONV in n.name]
    if len(convs) != 1:
        raise SystemExit(f"no single {_POST_CONV} convolution in {decoder.name}")
    cut = convs[0].input[0]
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    parts = (Extractor(model).extract_model(inputs, [cut]),
             Extractor(model).extract_model([*inputs, cut], outputs))
    ranks = _input_ranks(acoustic)
    for part in parts:
        used = {name for node in part.graph.node for name in node.input}
        kept = [i for i in part.graph.input if i.name in used]
        del part.graph.input[:]
        part.graph.input.extend(kept)
        for value in part.graph.input:  # OpenVINO takes a declared rank-0 shape literally
            shape = value.type.tensor_type.shape
            if not shape.dim and ranks.get(value.name, 0) > 0:
                for axis in range(ranks[value.name]):
                    shape.dim.add().dim_param = f"{value.name}_{axis}"
    for proto, target in zip(parts, (body, post), strict=True):
        partial = target.with_name(target.name + ".part")
        onnx.save(proto, partial)
        os.replace(partial, target)


def _input_ranks(acoustic: Path) -> dict[str, int]:
    """The rank of each acoustic output, from one run (the split leaves some undeclared)."""
    session = create_session(acoustic, ["CPUExecutionProvider"], 1)
    feeds = {}
    for arg in session.get_inputs():
        if arg.name in ("tokens", "input_ids"):
            feeds[arg.name] = np.array([[0, 50, 83, 156, 43, 102, 16, 0]], dtype=np.int64)
        elif arg.name == "style":
            feeds[arg.name] = np.zeros((1, 256), dtype=np.float32)
        else:
            feeds[arg.name] = np.ones(1, dtype=np.int32 if "int32" in arg.type else np.float32)
    names = [o.name for o in session.get_outputs()]
    return {name: np.ndim(value) for name, value in zip(names, session.run(names, feeds),
                                                          strict=True)}


def body_session(path: Path, threads: int | None) -> object:
    """An onnxruntime session whose nodes OpenVINO runs in bf16 on the CPU."""
    import onnxruntime as ort

    threads = threads or (os.cpu_count() or 1)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads  # the few shape nodes left to ONNX Runtime
    device = openvino_device()
    try:
        options.add_provider_for_devices([device], {"load_config": json.dumps({"CPU": {
            "INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": str(threads),
            "PERFORMANCE_HINT": "LATENCY"}})})
        return ort.InferenceSession(str(path), sess_options=options)
    except Exception as err:
        raise ModelError(f"OpenVINO cannot load {path.name}: {err}") from err


class ChainedDecoder:
    """The decoder as one session to its callers: the bf16 body, then the float32 post."""

    def __init__(self, body: object, post: object) -> None:
        self.body, self.post = body, post
        self._body_inputs = [i.name for i in body.get_inputs()]
        self._post_inputs = [i.name for i in post.get_inputs()]
        self._cut = body.get_outputs()[0].name
        self._inputs = [*body.get_inputs(), *(i for i in post.get_inputs()
                                              if i.name != self._cut
                                              and i.name not in self._body_inputs)]

    def get_inputs(self) -> list:
        return self._inputs

    def get_outputs(self) -> list:
        return self.post.get_outputs()

    def get_providers(self) -> list[str]:
        return list(dict.fromkeys([*self.body.get_providers(), *self.post.get_providers()]))

    def run(self, output_names: list[str] | None, feeds: dict[str, np.ndarray]) -> list:
        cut = self.body.run(None, {name: feeds[name] for name in self._body_inputs})[0]
        rest = {name: cut if name == self._cut else feeds[name] for name in self._post_inputs}
        return self.post.run(output_names, rest)


def bf16_decoder(acoustic: Path, decoder: Path, cache_dir: Path, threads: int | None
                 ) -> ChainedDecoder:
    """The split decoder with its body on OpenVINO in bf16 (cut once, cached)."""
    openvino_device()  # fail early, before cutting anything
    body, post = cut_files(acoustic, decoder, cache_dir)
    return ChainedDecoder(body_session(body, threads),
                          create_session(post, ["CPUExecutionProvider"], threads))


class Bf16Model:
    """The float32 graph as the server runs it with --precision bf16: the acoustic half on
    ONNX Runtime, the decoder's body in bf16 on OpenVINO (caches shared with the server's,
    `data_dir`/streaming and `data_dir`/bf16); precision.py times it."""

    def __init__(self, fp32: Path, data_dir: Path, threads: int | None) -> None:
        self.split = SplitModel.build(
            fp32, ["CPUExecutionProvider"], threads, data_dir / "streaming",
            decoder_for=lambda acoustic, decoder: bf16_decoder(acoustic, decoder,
                                                               data_dir / "bf16", threads))
        if self.split is None or not isinstance(self.split.decoder_session, ChainedDecoder):
            raise ModelError(f"{fp32.name}: the bf16 decoder cannot run here (log above)")

    def run(self, output_names: list[str] | None, feeds: dict[str, np.ndarray]) -> list:
        return [self.split.decode(self.split.acoustic(feeds))]  # the whole decode


def bf16_candidate() -> bool:
    """Whether `auto` times bf16: the CPU has native bf16 and the OpenVINO plugin loads."""
    return native_bf16() and unavailable() is None


def plugin_version() -> str | None:
    """The installed plugin's version, read without loading it (the server keys its recorded
    precision choice on this; only the measuring child loads OpenVINO)."""
    try:
        return importlib.metadata.version("onnxruntime-ep-openvino")
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    _write_cut(*(Path(arg) for arg in sys.argv[1:5]))
