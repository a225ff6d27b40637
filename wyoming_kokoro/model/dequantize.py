#!/usr/bin/env python3
# ruff: noqa: E501, RUF005, RUF015 - vendored unchanged from /work/shared/tools/dequantize_kokoro.py
"""dequantize_kokoro.py - rebuild a float Kokoro-82M ONNX graph from the int8 dynamic one.

Long because it is vendored from shared/tools/dequantize_kokoro.py as one file: a diff
against the original shows only this paragraph.

Why: the only real Kokoro weights a package ships are kokoro-onnx's
`kokoro-v1.0.int8.onnx` (ONNX Runtime *dynamic* quantization). Its integer ops
(DynamicQuantizeLinear, MatMulInteger with int8 activations x int8 weights,
ConvInteger, com.microsoft DynamicQuantizeLSTM) have no CUDA kernels, so a CUDA
session would run most of the model on the CPU. This tool rewrites every quantized
pattern into its float equivalent so ONNX Runtime's CUDA execution provider can run
the whole model on the GPU and a real Kokoro model can be timed there.

Usage
  python dequantize_kokoro.py INT8.onnx --out kokoro-float32.onnx
  python dequantize_kokoro.py INT8.onnx --out kokoro-fp16.onnx --fp16
Options
  --fp16         store and compute the heavy layers (Conv, ConvTranspose, MatMul, layer
                 norms, FastGelu) in float16 with float16 weights; graph inputs/outputs
                 and the numerically sensitive parts stay float32 (FP32_OPS, FP32_SCOPES
                 below); elementwise ops run fp16 only where all their inputs are fp16
  --keep-stft    keep the ONNX STFT node (CPU-only in ONNX Runtime) instead of the
                 equivalent strided Conv
  --keep-atan    keep the Atan node (CPU-only in ONNX Runtime) instead of the
                 equivalent polynomial
Needs: numpy, onnx (onnxruntime only to run the result).

What it rewrites (patterns traced in the graph, every one checked, no guessing):
  DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, w_zp) -> Cast -> Mul(., x_scale*w_scale)
      => MatMul(x, (W_q - w_zp) * w_scale)                 (per-column scale/zero point)
  DynamicQuantizeLinear(x) -> ConvInteger(x_q, W_q, x_zp, w_zp) [-> Add(int32 bias)] -> Cast -> Mul
      => Conv(x, (W_q - w_zp) * w_scale [, float bias])    (the int32 bias is rebuilt at run
         time as Floor(bias / (x_scale*w_scale)); the float bias is the Div's numerator)
  com.microsoft DynamicQuantizeLSTM(X, W_q[d,in,4h], R_q[d,h,4h], B, ..., scales, zps)
      => LSTM(X, W[d,4h,in], R[d,4h,h], B, ...)            (dequantize per direction, then
         transpose back to the standard ONNX layout)
  Gather(int8 table) -> DequantizeLinear => Gather(float table)
  STFT(signal, step, window, length) => Conv1d with the windowed DFT basis, reshaped to
      STFT's [batch, frames, bins, 2] (ONNX Runtime has no CUDA STFT kernel)
  Atan (no CUDA kernel): torch.onnx's atan2 pattern Where(Less(x,0), Where(Greater(y,0),
      Atan(y/x)+pi, Atan(y/x)-pi), Atan(y/x)) => a full atan2 with PyTorch's values (+pi, not
      -pi, for y = +0, x < 0, which every DC/Nyquist bin hits once the STFT's imaginary parts
      are exact zeros; 0, not NaN, for y = x = 0); any other Atan => Sign(x) * atan(|x|).
      Both use Cephes atanf's range reduction and odd degree-9 polynomial (~2e-7 rel. error)
      built from Abs/Max/Min/Greater/Less/Equal/Where/Div/Mul/Add/Sub/Neg/Sign
Then dead nodes and initializers are dropped. Everything else (ORT contrib ops such as
FastGelu, SkipLayerNormalization, FusedMatMul; ir_version; opset imports) is kept.

The float model is not bit-identical to the int8 one: int8 quantized the activations
too, so expect a close but not identical waveform (and, rarely, a duration rounding
to the other side, which changes the audio length).
"""
from __future__ import annotations

import argparse
import collections
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16


class Graph:
    """Index over an onnx GraphProto: producers, consumers, initializers, value types."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.g = model.graph
        self.inits = {t.name: t for t in self.g.initializer}
        self.types = {}  # tensor name -> elem_type, as far as known
        for v in list(self.g.value_info) + list(self.g.input) + list(self.g.output):
            if v.type.HasField("tensor_type"):
                self.types[v.name] = v.type.tensor_type.elem_type
        for t in self.g.initializer:
            self.types[t.name] = t.data_type
        self._arrays: dict[str, np.ndarray] = {}
        self._names = set(self.inits) | {o for n in self.g.node for o in n.output} | {
            i.name for i in self.g.input}
        self.reindex()

    def reindex(self) -> None:
        self.prod = {}
        self.cons = collections.defaultdict(list)
        for n in self.g.node:
            for o in n.output:
                if o:
                    self.prod[o] = n
            for i in n.input:
                if i:
                    self.cons[i].append(n)

    def array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.inits[name])
        return self._arrays[name]

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def add_init(self, base: str, arr: np.ndarray) -> str:
        name = self.unique(base)
        t = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        self.g.initializer.append(t)
        self.inits[name] = t
        self._arrays[name] = arr
        self.types[name] = t.data_type
        return name

    def const(self, base: str, value, dtype) -> str:
        return self.add_init(base, np.asarray(value, dtype=dtype))

    def tensor(self, base: str, elem_type: int = FLOAT) -> str:
        """A fresh intermediate tensor name whose element type is recorded (value_info)."""
        name = self.unique(base)
        self.types[name] = elem_type
        self.g.value_info.append(helper.make_tensor_value_info(name, elem_type, None))
        return name

    def only_consumer(self, name: str, op_type: str) -> onnx.NodeProto:
        cs = self.cons.get(name, [])
        if len(cs) != 1 or cs[0].op_type != op_type:
            raise ValueError(f"{name}: expected one {op_type} consumer, found "
                             f"{[c.op_type for c in cs]}")
        return cs[0]


def _strip(name: str) -> str:
    for suffix in ("_quantized", "_quant"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _attrs(node: onnx.NodeProto, keep: tuple[str, ...] | None = None) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute
            if keep is None or a.name in keep}


class Dequantizer:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.G = Graph(model)
        self.replace: dict[int, list[onnx.NodeProto]] = {}  # id(old node) -> new nodes
        self.weights: dict[tuple, str] = {}  # (w, zp, scale, layout) -> float initializer
        self.counts = collections.Counter()

    # -- weights ------------------------------------------------------------------
    def float_weight(self, w: str, zp: str, scale: str, layout: str) -> str:
        """(W_q - zp) * scale as float32, shared between nodes that share the weight."""
        key = (w, zp, scale, layout)
        if key in self.weights:
            return self.weights[key]
        G = self.G
        q = G.array(w).astype(np.float64)
        z = G.array(zp).astype(np.float64)
        s = G.array(scale).astype(np.float64)
        if layout == "matmul":  # W [K, N]; zp/scale scalar or per column [N]
            f = (q - z) * s
        elif layout == "conv":  # W [M, C/g, k...]; zp/scale scalar or per output channel [M]
            bshape = (-1,) + (1,) * (q.ndim - 1)
            f = (q - (z.reshape(bshape) if z.size > 1 else z)) * (s.reshape(bshape) if s.size > 1 else s)
        elif layout == "lstm":  # W_q [dirs, in, 4h]; zp/scale per direction [dirs]
            f = (q - z.reshape(-1, 1, 1)) * s.reshape(-1, 1, 1)
            f = f.transpose(0, 2, 1)  # standard ONNX LSTM layout [dirs, 4h, in]
        elif layout == "gather":  # embedding table; scalar zp/scale
            f = (q - z) * s
        else:
            raise ValueError(layout)
        name = G.add_init(_strip(w), f.astype(np.float32))
        self.weights[key] = name
        return name

    # -- integer GEMM / conv --------------------------------------------------------
    def _requant_chain(self, qnode: onnx.NodeProto):
        """Follow qnode -> [Add(bias_q)] -> Cast -> Mul(., S); return (final Mul, float bias, S)."""
        G = self.G
        out = qnode.output[0]
        bias = None
        nxt = G.cons[out]
        if len(nxt) == 1 and nxt[0].op_type == "Add":
            add = nxt[0]
            bq = [i for i in add.input if i != out][0]
            bias = self._float_bias(bq)
            out = add.output[0]
        cast = G.only_consumer(out, "Cast")
        if _attrs(cast).get("to") != FLOAT:
            raise ValueError(f"{cast.name}: expected Cast to float")
        mul = G.only_consumer(cast.output[0], "Mul")
        scale_prod = [i for i in mul.input if i != cast.output[0]][0]
        return mul, bias, scale_prod

    def _float_bias(self, bq: str) -> str:
        """Int32 bias = Reshape(Cast(Floor(Div(bias_f, scale)))): return bias_f."""
        G = self.G
        n = G.prod[bq]
        if n.op_type == "Reshape":
            n = G.prod[n.input[0]]
        if n.op_type != "Cast":
            raise ValueError(f"bias {bq}: unexpected producer {n.op_type}")
        floor = G.prod[n.input[0]]
        div = G.prod[floor.input[0]]
        if floor.op_type not in ("Floor", "Round") or div.op_type != "Div" or div.input[0] not in G.inits:
            raise ValueError(f"bias {bq}: unexpected chain {floor.op_type}/{div.op_type}")
        return div.input[0]

    def _weight_scale(self, scale_prod: str, x_scale: str) -> str:
        """scale_prod = Mul(x_scale, w_scale) (either order): return w_scale."""
        n = self.G.prod.get(scale_prod)
        if n is None or n.op_type != "Mul" or x_scale not in n.input:
            raise ValueError(f"{scale_prod}: expected Mul(x_scale, w_scale)")
        w_scale = [i for i in n.input if i != x_scale][0]
        if w_scale not in self.G.inits:
            raise ValueError(f"{scale_prod}: weight scale {w_scale} is not an initializer")
        return w_scale

    def integer_op(self, qnode: onnx.NodeProto) -> None:
        G = self.G
        xq, wq, xzp, wzp = (list(qnode.input) + ["", ""])[:4]
        dql = G.prod.get(xq)
        if dql is None or dql.op_type != "DynamicQuantizeLinear" or dql.output[2] != xzp:
            raise ValueError(f"{qnode.name}: activation is not DynamicQuantizeLinear output")
        if wq not in G.inits or (wzp and wzp not in G.inits):
            raise ValueError(f"{qnode.name}: weight/zero point is not an initializer")
        mul, bias, scale_prod = self._requant_chain(qnode)
        w_scale = self._weight_scale(scale_prod, dql.output[1])
        if not wzp:
            wzp = G.const(wq + "_zp0", 0, G.array(wq).dtype)
        x = dql.input[0]
        if qnode.op_type == "MatMulInteger":
            if bias is not None:
                raise ValueError(f"{qnode.name}: unexpected integer bias on MatMulInteger")
            wf = self.float_weight(wq, wzp, w_scale, "matmul")
            new = helper.make_node("MatMul", [x, wf], [mul.output[0]], name=_strip(qnode.name))
        else:
            wf = self.float_weight(wq, wzp, w_scale, "conv")
            ins = [x, wf] + ([bias] if bias else [])
            keep = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
            new = helper.make_node("Conv", ins, [mul.output[0]], name=_strip(qnode.name),
                                   **_attrs(qnode, keep))
        self.replace[id(mul)] = [new]
        self.counts[qnode.op_type] += 1

    # -- LSTM ---------------------------------------------------------------------------
    def lstm(self, node: onnx.NodeProto) -> None:
        ins = list(node.input) + [""] * (12 - len(node.input))
        x, wq, rq, b, seq, h0, c0, p, ws, wzp, rs, rzp = ins
        for t in (wq, rq, ws, wzp, rs, rzp):
            if t not in self.G.inits:
                raise ValueError(f"{node.name}: {t} is not an initializer")
        wf = self.float_weight(wq, wzp, ws, "lstm")
        rf = self.float_weight(rq, rzp, rs, "lstm")
        std = [x, wf, rf, b, seq, h0, c0, p]
        while std and not std[-1]:
            std.pop()
        new = helper.make_node("LSTM", std, list(node.output), name=_strip(node.name),
                               **_attrs(node))
        self.replace[id(node)] = [new]
        self.counts["DynamicQuantizeLSTM"] += 1

    # -- embeddings -----------------------------------------------------------------------
    def dequantize_linear(self, node: onnx.NodeProto) -> None:
        G = self.G
        xq, scale, zp = (list(node.input) + [""])[:3]
        gather = G.prod.get(xq)
        if gather is None or gather.op_type != "Gather" or gather.input[0] not in G.inits:
            raise ValueError(f"{node.name}: only Gather(int8 table) -> DequantizeLinear is handled")
        if scale not in G.inits or (zp and zp not in G.inits) or G.array(scale).size != 1:
            raise ValueError(f"{node.name}: expected per-tensor constant scale/zero point")
        if not zp:
            zp = G.const(xq + "_zp0", 0, G.array(gather.input[0]).dtype)
        table = self.float_weight(gather.input[0], zp, scale, "gather")
        new = helper.make_node("Gather", [table, gather.input[1]], [node.output[0]],
                               name=_strip(gather.name), **_attrs(gather))
        self.replace[id(node)] = [new]
        self.counts["DequantizeLinear"] += 1

    # -- STFT as a strided Conv --------------------------------------------------------------
    def stft(self, node: onnx.NodeProto) -> None:
        G = self.G
        ins = list(node.input) + [""] * (4 - len(node.input))
        signal, step, window, length = ins
        if step not in G.inits or (window and window not in G.inits) or (length and length not in G.inits):
            raise ValueError(f"{node.name}: frame_step/window/frame_length must be constants")
        hop = int(G.array(step))
        win = G.array(window).astype(np.float64) if window else None
        n_fft = int(G.array(length)) if length else len(win)
        if win is None:
            win = np.ones(n_fft)
        if len(win) != n_fft:
            raise ValueError(f"{node.name}: window length {len(win)} != frame_length {n_fft}")
        onesided = _attrs(node).get("onesided", 1)
        bins = n_fft // 2 + 1 if onesided else n_fft
        # X[k] = sum_n x[n] w[n] exp(-2 pi i k n / N); angles reduced mod N so exact zeros stay zero
        m = (np.arange(bins)[:, None] * np.arange(n_fft)[None, :]) % n_fft
        ang = 2.0 * np.pi * m / n_fft
        cos, sin = np.cos(ang), np.sin(ang)
        cos[np.abs(cos) < 1e-12] = 0.0
        sin[np.abs(sin) < 1e-12] = 0.0
        basis = np.concatenate([cos * win, -sin * win])[:, None, :].astype(np.float32)  # [2*bins, 1, N]
        kernel = G.add_init(node.name.strip("/").replace("/", "_") + "_dft_basis", basis)
        base = node.output[0]
        x3 = G.tensor(base + "_signal")
        conv = G.tensor(base + "_conv")
        split = G.tensor(base + "_ri")
        self.replace[id(node)] = [
            # [batch, len] or [batch, len, 1] -> [batch, 1, len]
            helper.make_node("Reshape", [signal, G.const(base + "_shape_in", [0, 1, -1], np.int64)], [x3]),
            helper.make_node("Conv", [x3, kernel], [conv], name=node.name + "_as_conv",
                             kernel_shape=[n_fft], strides=[hop], pads=[0, 0]),
            helper.make_node("Reshape", [conv, G.const(base + "_shape_ri", [0, 2, bins, -1], np.int64)], [split]),
            # [batch, 2, bins, frames] -> STFT layout [batch, frames, bins, 2]
            helper.make_node("Transpose", [split], [node.output[0]], perm=[0, 3, 2, 1]),
        ]
        self.counts["STFT"] += 1

    # -- Atan / atan2 as polynomials ------------------------------------------------------------
    ATAN_K = (8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1)

    def _atan_reduced(self, b: str, r: str, lo: float) -> tuple[list, str]:
        """atan(r) for r >= 0, r <= lo' (see callers), Cephes atanf: returns (nodes, output).

        r > tan(pi/8) is mapped to (r-1)/(r+1) with offset pi/4; r > tan(3pi/8) (only when
        lo is inf, i.e. unbounded r) to -1/r with offset pi/2; then an odd degree-9 polynomial.
        """
        G = self.G
        c = lambda n, v: G.const(f"{b}_{n}", v, np.float32)  # noqa: E731
        t = lambda n, et=FLOAT: G.tensor(f"{b}_{n}", et)  # noqa: E731
        mid, am1, ap1, r_mid, r_sel, o_sel = t("mid", TensorProto.BOOL), t("am1"), t("ap1"), t("rmid"), t("rsel"), t("osel")
        nodes = [
            helper.make_node("Greater", [r, c("tanpi8", 0.4142135623730950)], [mid]),
            helper.make_node("Sub", [r, c("one", 1.0)], [am1]),
            helper.make_node("Add", [r, c("one_", 1.0)], [ap1]),
            helper.make_node("Div", [am1, ap1], [r_mid]),
            helper.make_node("Where", [mid, r_mid, r], [r_sel]),
            helper.make_node("Where", [mid, c("pi4", np.pi / 4), c("zero", 0.0)], [o_sel]),
        ]
        red, off = r_sel, o_sel
        if lo == np.inf:
            big, r_big, red2, off2 = t("big", TensorProto.BOOL), t("rbig"), t("r2"), t("off2")
            nodes += [
                helper.make_node("Greater", [r, c("tan3pi8", 2.414213562373095)], [big]),
                helper.make_node("Div", [c("m1", -1.0), r], [r_big]),
                helper.make_node("Where", [big, r_big, r_sel], [red2]),
                helper.make_node("Where", [big, c("pi2", np.pi / 2), o_sel], [off2]),
            ]
            red, off = red2, off2
        z = t("z")
        p = [t(f"p{i}") for i in range(9)]
        k4, k3, k2, k1 = self.ATAN_K
        nodes += [
            helper.make_node("Mul", [red, red], [z]),
            helper.make_node("Mul", [z, c("k4", k4)], [p[0]]),
            helper.make_node("Add", [p[0], c("k3", k3)], [p[1]]),
            helper.make_node("Mul", [p[1], z], [p[2]]),
            helper.make_node("Add", [p[2], c("k2", k2)], [p[3]]),
            helper.make_node("Mul", [p[3], z], [p[4]]),
            helper.make_node("Add", [p[4], c("k1", k1)], [p[5]]),
            helper.make_node("Mul", [p[5], z], [p[6]]),
            helper.make_node("Mul", [p[6], red], [p[7]]),
            helper.make_node("Add", [p[7], red], [p[8]]),
        ]
        out = t("atan")
        nodes.append(helper.make_node("Add", [off, p[8]], [out]))
        return nodes, out

    def atan(self, node: onnx.NodeProto) -> None:
        """Atan(x) -> Sign(x) * atan(|x|); or, for torch.onnx's atan2 pattern, a full atan2."""
        if self._atan2(node):
            return
        G = self.G
        x, y = node.input[0], node.output[0]
        b = y + "_poly"
        a, sgn = G.tensor(b + "_abs"), G.tensor(b + "_sign")
        nodes, mag = self._atan_reduced(b, a, np.inf)
        self.replace[id(node)] = ([helper.make_node("Abs", [x], [a])] + nodes + [
            helper.make_node("Sign", [x], [sgn]),
            helper.make_node("Mul", [sgn, mag], [y], name=node.name + "_poly")])
        self.counts["Atan"] += 1

    def _atan2(self, node: onnx.NodeProto) -> bool:
        """torch.onnx exports atan2(y, x) as
             a = Atan(Div(y, x)); Where(Less(x, 0), Where(Greater(y, 0), a + pi, a - pi), a)
        which is NaN for y = x = 0 and gives -pi (PyTorch: +pi) for y = +0, x < 0 - the case
        of every DC/Nyquist bin of a real signal whose STFT has exact zero imaginary parts.
        Replace the whole pattern by an atan2 with PyTorch's values (Kokoro's own conv-STFT
        code applies the same +pi correction). Returns False if the pattern is not there."""
        G = self.G
        div = G.prod.get(node.input[0])
        if div is None or div.op_type != "Div":
            return False
        y, x = div.input
        a = node.output[0]
        users = {c.op_type: c for c in G.cons[a]}
        outer = users.get("Where")
        if set(users) != {"Add", "Sub", "Where"} or len(G.cons[a]) != 3 or outer.input[2] != a:
            return False
        less, inner = G.prod.get(outer.input[0]), G.prod.get(outer.input[1])
        if less is None or less.op_type != "Less" or less.input[0] != x or inner is None or inner.op_type != "Where":
            return False
        greater = G.prod.get(inner.input[0])
        if greater is None or greater.op_type != "Greater" or greater.input[0] != y:
            return False
        if {inner.input[1], inner.input[2]} != {users["Add"].output[0], users["Sub"].output[0]}:
            return False
        b = outer.output[0] + "_atan2"
        c = lambda n, v: G.const(f"{b}_{n}", v, np.float32)  # noqa: E731
        t = lambda n, et=FLOAT: G.tensor(f"{b}_{n}", et)  # noqa: E731
        ax, ay, mx, mn, z0, den, r = t("ax"), t("ay"), t("max"), t("min"), t("z0", TensorProto.BOOL), t("den"), t("r")
        nodes = [
            helper.make_node("Abs", [x], [ax]),
            helper.make_node("Abs", [y], [ay]),
            helper.make_node("Max", [ax, ay], [mx]),
            helper.make_node("Min", [ax, ay], [mn]),
            helper.make_node("Equal", [mx, c("zero", 0.0)], [z0]),
            helper.make_node("Where", [z0, c("one", 1.0), mx], [den]),
            helper.make_node("Div", [mn, den], [r]),  # in [0, 1]; 0 when x = y = 0
        ]
        red_nodes, at = self._atan_reduced(b, r, 1.0)
        steep, a1, a1s, neg_x, a2, a2s, neg_y, a3 = (t("steep", TensorProto.BOOL), t("a1"), t("a1s"),
                                                    t("negx", TensorProto.BOOL), t("a2"), t("a2s"),
                                                    t("negy", TensorProto.BOOL), t("a3"))
        nodes += red_nodes + [
            helper.make_node("Greater", [ay, ax], [steep]),
            helper.make_node("Sub", [c("pi2", np.pi / 2), at], [a1]),
            helper.make_node("Where", [steep, a1, at], [a1s]),
            helper.make_node("Less", [x, c("zero_", 0.0)], [neg_x]),
            helper.make_node("Sub", [c("pi", np.pi), a1s], [a2]),
            helper.make_node("Where", [neg_x, a2, a1s], [a2s]),
            helper.make_node("Less", [y, c("zero__", 0.0)], [neg_y]),
            helper.make_node("Neg", [a2s], [a3]),
            helper.make_node("Where", [neg_y, a3, a2s], [outer.output[0]], name=node.name + "_atan2"),
        ]
        self.replace[id(outer)] = nodes
        self.counts["atan2"] += 1
        return True

    # -- driver ---------------------------------------------------------------------------------
    def run(self, keep_stft: bool = False, keep_atan: bool = False) -> onnx.ModelProto:
        G = self.G
        for n in list(G.g.node):
            if n.op_type in ("MatMulInteger", "ConvInteger"):
                self.integer_op(n)
            elif n.op_type == "DynamicQuantizeLSTM":
                self.lstm(n)
            elif n.op_type == "DequantizeLinear":
                self.dequantize_linear(n)
            elif n.op_type == "STFT" and not keep_stft:
                self.stft(n)
            elif n.op_type == "Atan" and not keep_atan:
                self.atan(n)
        nodes = []
        for n in G.g.node:
            nodes.extend(self.replace.get(id(n), [n]))
        del G.g.node[:]
        G.g.node.extend(nodes)
        prune(G)
        left = collections.Counter(n.op_type for n in G.g.node if n.op_type in (
            "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "DynamicQuantizeLSTM",
            "DequantizeLinear", "QuantizeLinear"))
        if left:
            raise RuntimeError(f"quantized ops left after rewriting: {dict(left)}")
        return G.model


def prune(G: Graph) -> None:
    """Drop nodes whose outputs nobody reads, then unused initializers and value_info."""
    live = {o.name for o in G.g.output}
    keep = []
    for n in reversed(G.g.node):
        if any(o in live for o in n.output if o):
            keep.append(n)
            live.update(i for i in n.input if i)
    keep.reverse()
    del G.g.node[:]
    G.g.node.extend(keep)
    used = {i for n in keep for i in n.input} | {o.name for o in G.g.output}
    inits = [t for t in G.g.initializer if t.name in used]
    del G.g.initializer[:]
    G.g.initializer.extend(inits)
    G.inits = {t.name: t for t in inits}
    produced = {o for n in keep for o in n.output}
    vi = [v for v in G.g.value_info if v.name in produced]
    del G.g.value_info[:]
    G.g.value_info.extend(vi)
    G.reindex()


# ---------------------------------------------------------------------------------------------
# float16 conversion
# ---------------------------------------------------------------------------------------------
# Heavy ops run in float16 (their weights are stored fp16): this is where the GPU gains.
FP16_OPS = {"Conv", "ConvTranspose", "MatMul", "FusedMatMul", "Gemm", "FastGelu",
            "SkipLayerNormalization", "LayerNormalization"}
# Ops that stay float32: statistics (instance-norm mean/variance: ReduceMean/Pow/Sqrt/Div,
# where x*x overflows fp16 beyond |x| = 256), exp/sin/cos/sign, the duration rounding
# (Sigmoid/ReduceSum/Round/Clip), cumulative sums and ranges, the LSTM recurrences.
FP32_OPS = {"ReduceMean", "ReduceSum", "Pow", "Sqrt", "Div", "Exp", "Sin", "Cos", "Sign",
            "Round", "Clip", "Floor", "Sigmoid", "CumSum", "Range", "LSTM", "STFT", "Atan",
            "ScatterND", "NonZero"}
# Whole subgraphs (node-name prefixes) kept float32: the harmonic source (it integrates the
# 300x upsampled F0 into a phase), the source STFT and its phase (atan2), the inverse-STFT
# tail, and the duration head of the predictor.
FP32_SCOPES = ("/decoder/decoder/generator/m_source/", "/decoder/decoder/generator/f0_upsamp/",
               "/decoder/decoder/generator/STFT", "/decoder/decoder/generator/Where_1_output_0",
               "/decoder/decoder/generator/istft/", "/encoder/predictor/duration_proj/")
# Everything else (elementwise, comparisons, data movement) follows its inputs: float16
# only when every non-constant float input is float16.
# Inputs that carry the op's element type T (default: all); the others keep their type.
T_INPUTS = {"Resize": (0,), "Pad": (0, 2), "Reshape": (0,), "Expand": (0,), "Slice": (0,),
            "Gather": (0,), "Unsqueeze": (0,), "Squeeze": (0,), "Split": (0,), "Transpose": (0,),
            "Tile": (0,), "Shape": (), "ConstantOfShape": (), "Cast": (), "Where": (1, 2),
            "ReduceMean": (0,), "ReduceSum": (0,), "CumSum": (0,), "ScatterND": (0, 2)}
# Outputs that are float32 whatever T is (normalization statistics).
FIXED_FLOAT_OUTPUTS = {"LayerNormalization": (1, 2), "SkipLayerNormalization": (1, 2)}
FP16_MAX = 65504.0


def convert_fp16(model: onnx.ModelProto) -> tuple[onnx.ModelProto, collections.Counter]:
    """Float16 weights and heavy compute; graph I/O and sensitive ops stay float32.

    Every node gets a precision; a Cast is inserted wherever a float tensor crosses from
    one precision to the other (one Cast per tensor and direction). Float initializers get
    an fp16 copy for fp16 consumers (fp32 kept if fp32 consumers remain); a node whose
    constant would overflow float16 stays float32.
    """
    G = Graph(model)
    is_float = {n for n, t in G.types.items() if t == FLOAT}
    unknown = [o for n in G.g.node for o in n.output if o and o not in G.types]
    if unknown:
        raise RuntimeError(f"element type unknown for {len(unknown)} tensors, e.g. {unknown[:5]}")

    def t_inputs(n):
        idx = T_INPUTS.get(n.op_type)
        return [(k, i) for k, i in enumerate(n.input)
                if i and i in is_float and (idx is None or k in idx)]

    def overflows(name):
        return float(np.abs(G.array(name)).max(initial=0)) > FP16_MAX

    dtype: dict[str, int] = {i.name: FLOAT for i in G.g.input}
    half: dict[int, bool] = {}
    for n in G.g.node:
        fins = t_inputs(n)
        consts = [i for _, i in fins if i in G.inits]
        acts = [i for _, i in fins if i not in G.inits]
        if (n.op_type in FP32_OPS or any(n.name.startswith(p) for p in FP32_SCOPES)
                or any(o.startswith(p) for o in n.output for p in FP32_SCOPES)
                or not fins or any(overflows(c) for c in consts)):
            h = False
        elif n.op_type in FP16_OPS:
            h = True
        else:
            h = bool(acts) and all(dtype.get(i) == FLOAT16 for i in acts)
        half[id(n)] = h
        fixed = FIXED_FLOAT_OUTPUTS.get(n.op_type, ())
        for k, o in enumerate(n.output):
            if o and o in is_float:
                dtype[o] = FLOAT16 if (h and k not in fixed) else FLOAT

    init16: dict[str, str] = {}
    casts: dict[tuple[str, int], str] = {}
    nodes: list[onnx.NodeProto] = []
    stats = collections.Counter()

    def as16(name):
        if name not in init16:
            init16[name] = G.add_init(name + "_fp16", G.array(name).astype(np.float16))
        return init16[name]

    def cast(name, to):
        if (name, to) not in casts:
            out = G.tensor(f"{name}_to{16 if to == FLOAT16 else 32}", to)
            nodes.append(helper.make_node("Cast", [name], [out], to=to))
            casts[(name, to)] = out
            stats["Cast to fp16" if to == FLOAT16 else "Cast to fp32"] += 1
        return casts[(name, to)]

    for n in list(G.g.node):
        want = FLOAT16 if half[id(n)] else FLOAT
        stats[f"{n.op_type} {'fp16' if half[id(n)] else 'fp32'}"] += 1
        for k, i in t_inputs(n):
            if i in G.inits:
                if want == FLOAT16:
                    n.input[k] = as16(i)
            elif dtype.get(i) != want:
                n.input[k] = cast(i, want)
        nodes.append(n)
    del G.g.node[:]
    G.g.node.extend(nodes)
    for o in G.g.output:
        if dtype.get(o.name) != FLOAT:
            raise RuntimeError(f"graph output {o.name} would not be float32")
    for v in G.g.value_info:
        if v.name in dtype and v.type.HasField("tensor_type"):
            v.type.tensor_type.elem_type = dtype[v.name]
    prune(G)
    return G.model, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="int8 dynamic-quantized Kokoro ONNX (kokoro-v1.0.int8.onnx)")
    ap.add_argument("--out", required=True, help="where to write the float model")
    ap.add_argument("--fp16", action="store_true", help="float16 weights/compute, float32 I/O")
    ap.add_argument("--keep-stft", action="store_true", help="keep the CPU-only STFT node")
    ap.add_argument("--keep-atan", action="store_true", help="keep the CPU-only Atan node")
    args = ap.parse_args(argv)

    model = onnx.load(args.src)
    src_ir, src_opsets = model.ir_version, [(o.domain, o.version) for o in model.opset_import]
    d = Dequantizer(model)
    model = d.run(keep_stft=args.keep_stft, keep_atan=args.keep_atan)
    print("rewrote:", dict(d.counts), f"({len(d.weights)} float weights)", file=sys.stderr)
    if args.fp16:
        model, stats = convert_fp16(model)
        fp16 = sum(v for k, v in stats.items() if k.endswith(" fp16"))
        fp32 = sum(v for k, v in stats.items() if k.endswith(" fp32"))
        heavy = {k: v for k, v in stats.items() if k.split()[0] in FP16_OPS or k.startswith("Cast to")}
        print(f"fp16: {fp16} nodes fp16, {fp32} fp32; {dict(sorted(heavy.items()))}", file=sys.stderr)
    model.ir_version = min(src_ir, 9)
    assert [(o.domain, o.version) for o in model.opset_import] == src_opsets
    model.producer_name, model.producer_version = "dequantize_kokoro", "1"
    onnx.checker.check_model(model)  # structure and topological order (contrib ops unchecked)
    onnx.save(model, args.out)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    print(f"wrote {args.out}: {len(model.graph.node)} nodes, ops {dict(sorted(ops.items()))}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
