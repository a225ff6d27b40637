"""A tiny ONNX graph with the exact fixed-bucket contract, whose outputs depend on its inputs.

duration[i] = (input_ids[i] mod 5) + 1 for i < input_lengths, else 0;  D = Σ duration.
waveform[s] = style[0, 0] · speed · sin(2π·220·s/24000) for s < L, else 0,
L = min(S, 480 · min(D, ALIGN) + margin) — the zeroed tail the real exports have.
So a test can read back D (from the cut length), the style row (from the amplitude) and speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper


def _const(name: str, value: object, dtype: type = np.int64) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=onnx.numpy_helper.from_array(
        np.asarray(value, dtype=dtype), name))


def build_bucket_model(path: Path, bucket: int = 16, margin: int = 3120,
                       metadata: bool = True, align: int | None = None) -> Path:
    align = align if align is not None else 2 * bucket + 8
    samples = align * 480 + margin
    nodes = [
        _const("zero", 0), _const("one", 1), _const("five", 5), _const("b", bucket),
        _const("n_samples", samples), _const("align", align), _const("spf", 480),
        _const("margin", margin), _const("shape_b", [bucket]), _const("zero_i", [0]),
        _const("two_pi_f", 2 * np.pi * 220 / 24000, np.float32),
        _const("fzero", 0.0, np.float32), _const("idx00", [0, 0]), _const("idx11", [1, 1]),
        _const("shape_1", [1]),
        helper.make_node("Range", ["zero", "b", "one"], ["pos"]),
        helper.make_node("Less", ["pos", "input_lengths"], ["valid"]),
        helper.make_node("Reshape", ["input_ids", "shape_b"], ["ids"]),
        helper.make_node("Mod", ["ids", "five"], ["ids_mod"]),
        helper.make_node("Add", ["ids_mod", "one"], ["tok_dur"]),
        helper.make_node("Mul", ["pos", "zero"], ["zeros_b"]),
        helper.make_node("Where", ["valid", "tok_dur", "zeros_b"], ["duration"]),
        helper.make_node("ReduceSum", ["duration"], ["total"], keepdims=0),
        helper.make_node("Min", ["total", "align"], ["frames"]),
        helper.make_node("Mul", ["frames", "spf"], ["active_raw"]),
        helper.make_node("Add", ["active_raw", "margin"], ["active_m"]),
        helper.make_node("Min", ["active_m", "n_samples"], ["active"]),
        helper.make_node("Range", ["zero", "n_samples", "one"], ["s"]),
        helper.make_node("Less", ["s", "active"], ["keep"]),
        helper.make_node("Cast", ["s"], ["s_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["s_f", "two_pi_f"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["sine"]),
        helper.make_node("Slice", ["style", "idx00", "idx11"], ["amp2d"]),
        helper.make_node("Reshape", ["amp2d", "shape_1"], ["amp"]),
        helper.make_node("Mul", ["amp", "speed"], ["gain"]),
        helper.make_node("Mul", ["sine", "gain"], ["wave"]),
        helper.make_node("Where", ["keep", "wave", "fzero"], ["waveform"]),
    ]
    graph = helper.make_graph(
        nodes, f"kokoro_synthetic_b{bucket}",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, bucket]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1]),
         helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [samples]),
         helper.make_tensor_value_info("duration", TensorProto.INT64, [bucket])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata:
        for key, value in {"bucket": bucket, "fixed_alignment_frames": align,
                           "fixed_output_samples": samples, "output_samples_per_frame": 480,
                           "output_tail_margin_samples": margin}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = f"fastkokoro.{key}", str(value)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def expected_frames(ids: list[int]) -> int:
    """D for ids as the graph sees them: pads (id 0 → 1 frame each) plus the real tokens."""
    return 2 + sum(i % 5 + 1 for i in ids)


def write_voices(path: Path, names: list[str]) -> Path:
    """Packs whose row r has style[0] = (r + 1) / 1000 + k / 10 (k = voice index)."""
    rows = (np.arange(510, dtype=np.float32) + 1) / 1000
    packs = {}
    for k, name in enumerate(names):
        pack = np.full((510, 1, 256), 0.01, dtype=np.float32)
        pack[:, 0, 0] = rows + k / 10
        packs[name] = pack
    np.savez(path, **packs)
    return path


def data_dir_with(tmp_path: Path, buckets: list[int]) -> Path:
    """A data dir holding synthetic streaming exports b<bucket> and two voices."""
    (tmp_path / "onnx").mkdir()
    for bucket in buckets:
        build_bucket_model(tmp_path / "onnx" / f"kokoro-82m-streaming-b{bucket}-fp16.onnx",
                           bucket=bucket, align=8 * bucket)  # roomy window: no overflow here
    write_voices(tmp_path / "voices.npz", ["af_heart", "af_sky"])
    return tmp_path
