"""Exact graph rewrites that make a Kokoro ONNX graph faster on the CPU.

Every rewrite computes the same function within float rounding (checked against the
unoptimised graph at ≥ 100 dB SNR in the tests):
- decomposed instance norms ReduceMean/Sub/Mul/ReduceMean/Add/Sqrt/Div over the time axis of
  an [N, C, T] tensor → one InstanceNormalization (unit scale, zero bias); over the last axis
  of any tensor → LayerNormalization;
- Pow(x, 2) → Mul(x, x) (Snake's sin², the generator's magnitudes): ORT's Pow is a generic
  powf loop, Mul a vector multiply;
- 1-D float convolutions → height-one 2-D ones (Unsqueeze/Conv/Squeeze): ONNX Runtime's
  blocked NCHWc kernels only take 2-D convolutions (measured 1.6× on the fp32 graph);
  integer (ConvInteger) and 1-D transposed convolutions have no such kernels and stay.
Rewritten nodes keep the name (so the node-scope prefix `encoder`/`decoder`) of the node they
replace, and every tensor a consumer outside a rewrite reads (graph outputs included) keeps
its name, so the function works on the whole graph and on each half of a split one.

Long because each rewrite's pattern match sits next to the argument for its exactness, and
all of them share one index of the graph; the cache and child process are the last 60 lines.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import SubprocessError

import numpy as np

from wyoming_kokoro.model.split import node_scope

_LOGGER = logging.getLogger(__name__)

VERSION = 1  # bump when a rewrite changes: cached optimised files are keyed by it
METADATA_KEY = "wyoming_kokoro.graph_optimize"  # in the rewritten model: version and counts


@dataclass
class Rewrites:
    """Which rewrites to apply (all on by default)."""

    norms: bool = True
    squares: bool = True
    conv2d: bool = True
    transposed2d: bool = False  # measured no faster (ConvTranspose has no NCHWc kernel)
    # Left bit-identical: the acoustic part predicts F0, which the decoder integrates into a
    # phase over ~10⁵ float32 samples; a 146 dB change in F0 already moves the waveform to
    # ~31 dB SNR (inaudible phase drift, but no longer "the same output"). Its rewrites
    # measured no faster.
    skip_scopes: tuple[str, ...] = ("encoder",)


@dataclass
class _Index:
    """Producers, consumers, constants and graph outputs of a GraphProto."""

    graph: object
    producer: dict[str, object] = field(default_factory=dict)
    consumers: dict[str, list] = field(default_factory=lambda: collections.defaultdict(list))
    constants: dict[str, object] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        g = self.graph
        self.constants = {t.name: t for t in g.initializer}
        for node in g.node:
            if node.op_type == "Constant" and not node.domain:
                for attr in node.attribute:
                    if attr.name == "value":
                        self.constants[node.output[0]] = attr.t
            for out in node.output:
                self.producer[out] = node
            for name in dict.fromkeys(node.input):  # Mul(x, x) reads x once
                if name:
                    self.consumers[name].append(node)
        self.outputs = {o.name for o in g.output}
        self.names = set(self.producer) | set(self.constants) | {i.name for i in g.input}

    def array(self, name: str) -> np.ndarray | None:
        from onnx import numpy_helper

        tensor = self.constants.get(name)
        return None if tensor is None else numpy_helper.to_array(tensor)

    def scalar(self, name: str) -> float | None:
        value = self.array(name)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None

    def only(self, name: str, op_type: str) -> object | None:
        """The single consumer of `name` if it is an `op_type` and `name` is internal."""
        users = self.consumers.get(name, [])
        if len(users) == 1 and users[0].op_type == op_type and name not in self.outputs:
            return users[0]
        return None

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name


def _attrs(node: object) -> dict[str, object]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _axes(index: _Index, node: object) -> list[int] | None:
    """ReduceMean's axes (attribute before opset 18, input after), keepdims required."""
    attrs = _attrs(node)
    if not attrs.get("keepdims", 1):
        return None
    if len(node.input) > 1 and node.input[1]:
        value = index.array(node.input[1])
        return None if value is None else [int(a) for a in value.reshape(-1)]
    axes = attrs.get("axes")
    return [int(a) for a in axes] if axes else None


_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where"}
_SAME_RANK = {"Cast", "LeakyRelu", "Relu", "Sin", "Cos", "Sqrt", "Neg", "Exp", "Tanh", "Sigmoid",
              "Abs", "Floor", "Round", "Clip", "DynamicQuantizeLinear", "InstanceNormalization",
              "LayerNormalization", "Identity"}
_WEIGHT_RANK = {"Conv", "ConvInteger", "ConvTranspose"}


class _Optimizer:
    def __init__(self, model: object, rewrites: Rewrites) -> None:
        from onnx import shape_inference

        self.model = model
        self.rewrites = rewrites
        self.index = _Index(model.graph)
        self.replace: dict[int, list] = {}  # id(node) → nodes emitted in its place
        self.counts: collections.Counter[str] = collections.Counter()
        self.shapes: dict[str, list] = {}
        self.wide_weights: dict[str, str] = {}  # 1-D conv weight → its 2-D copy (shared)
        try:  # ranks and channel counts where ONNX can tell; unknown ones are computed at run time
            inferred = shape_inference.infer_shapes(model, strict_mode=False)
        except Exception as err:  # noqa: BLE001 - shapes only help; every rewrite works without
            _LOGGER.debug("shape inference failed: %s", err)
        else:
            for value in (*inferred.graph.value_info, *inferred.graph.input,
                          *inferred.graph.output):
                tensor = value.type.tensor_type
                if tensor.HasField("shape"):
                    self.shapes[value.name] = [
                        d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim
                    ]

    # -- helpers ------------------------------------------------------------------------------
    def rank(self, name: str, depth: int = 0) -> int | None:
        """Rank from shape inference, else followed back through ops that keep or broadcast
        it (ONNX's inference stops at the integer ops of a quantised graph)."""
        if name in self.shapes:
            return len(self.shapes[name])
        value = self.index.constants.get(name)
        if value is not None:
            return len(value.dims)
        node = self.index.producer.get(name)
        if node is None or depth > 50:
            return None
        if node.op_type in _SAME_RANK:
            return self.rank(node.input[0], depth + 1)
        if node.op_type in _WEIGHT_RANK:
            return self.rank(node.input[1], depth + 1)
        if node.op_type in _ELEMENTWISE:
            ranks = [self.rank(i, depth + 1) for i in node.input if i]
            return None if None in ranks else max(ranks)
        return None

    def constant(self, base: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.index.unique(base)
        self.model.graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    def channel_vectors(self, x: str, axis: int, prefix: str) -> tuple[list, str, str]:
        """Unit scale and zero bias of x's size along `axis`: constants when the size is known,
        else computed from Shape(x) (ONNX Runtime folds them when it knows the shape)."""
        from onnx import TensorProto, helper

        dims = self.shapes.get(x)
        size = dims[axis] if dims is not None and len(dims) > axis else None
        if size:
            return ([], self.constant(f"{prefix}/ones", np.ones(size, np.float32)),
                    self.constant(f"{prefix}/zeros", np.zeros(size, np.float32)))
        u = self.index.unique
        shape, ones, zeros = u(f"{prefix}/channels"), u(f"{prefix}/ones"), u(f"{prefix}/zeros")
        end = axis + 1 if axis != -1 else None
        nodes = [
            helper.make_node("Shape", [x], [shape], name=shape, start=axis,
                             **({"end": end} if end is not None else {})),
            helper.make_node("ConstantOfShape", [shape], [ones], name=ones,
                             value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])),
            helper.make_node("ConstantOfShape", [shape], [zeros], name=zeros,
                             value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
        ]
        return nodes, ones, zeros

    # -- rewrites -----------------------------------------------------------------------------
    def norm(self, mean: object) -> None:
        """x → (x − mean(x)) / sqrt(mean((x − mean(x))²) + ε) over the time or last axis."""
        from onnx import helper

        ix = self.index
        axes = _axes(ix, mean)
        x = mean.input[0]
        sub = ix.only(mean.output[0], "Sub")
        if axes is None or len(axes) != 1 or sub is None or list(sub.input) != [x, mean.output[0]]:
            return
        d = sub.output[0]
        users = ix.consumers.get(d, [])
        if d in ix.outputs or len(users) != 2:
            return
        square = next((u for u in users if (u.op_type == "Mul" and list(u.input) == [d, d])
                       or (u.op_type == "Pow" and u.input[0] == d
                           and ix.scalar(u.input[1]) == 2.0)), None)
        div = next((u for u in users if u.op_type == "Div" and list(u.input[:1]) == [d]), None)
        if square is None or div is None:
            return
        var = ix.only(square.output[0], "ReduceMean")
        if var is None or var.input[0] != square.output[0] or _axes(ix, var) != axes:
            return
        add = ix.only(var.output[0], "Add")
        if add is None:
            return
        eps_name = next((i for i in add.input if i != var.output[0]), "")
        eps = ix.scalar(eps_name)
        sqrt = ix.only(add.output[0], "Sqrt")
        if eps is None or ix.array(eps_name).dtype != np.float32 or sqrt is None \
                or div.input[1] != sqrt.output[0] or ix.only(sqrt.output[0], "Div") is not div:
            return
        rank = self.rank(x)
        axis = axes[0]
        prefix = div.name or div.output[0]
        if rank == 3 and axis in (2, -1):
            kind, channel_axis = "InstanceNormalization", 1
        elif axis == -1 or (rank is not None and axis == rank - 1):
            kind, channel_axis = "LayerNormalization", -1
        else:
            return
        nodes, scale, bias = self.channel_vectors(x, channel_axis, prefix)
        extra = {"axis": -1} if kind == "LayerNormalization" else {}
        nodes.append(helper.make_node(kind, [x, scale, bias], [div.output[0]],
                                      name=f"{prefix}/{kind}", epsilon=eps, **extra))
        for node in (mean, sub, square, var, add, sqrt):
            self.replace[id(node)] = []
        self.replace[id(div)] = nodes
        self.counts[kind] += 1

    def square(self, node: object) -> None:
        from onnx import helper

        if id(node) in self.replace or self.index.scalar(node.input[1]) != 2.0:
            return
        x = node.input[0]
        self.replace[id(node)] = [helper.make_node("Mul", [x, x], list(node.output),
                                                   name=node.name)]
        self.counts["Pow→Mul"] += 1

    def conv2d(self, node: object) -> None:
        """Conv1d(x, W) = Squeeze(Conv2d(Unsqueeze(x), W[:, :, None, :]))."""
        from onnx import helper

        ix = self.index
        weight = ix.array(node.input[1])
        if weight is None or weight.ndim != 3 or weight.dtype != np.float32:
            return
        attrs = _attrs(node)
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            return
        pads = list(attrs.get("pads", [0, 0]))
        extra = {}
        if node.op_type == "ConvTranspose":
            if "output_shape" in attrs:
                return
            extra["output_padding"] = [0, *attrs.get("output_padding", [0])]
        new_attrs = {**extra,
            "kernel_shape": [1, weight.shape[2]],
            "pads": [0, pads[0], 0, pads[1]],
            "strides": [1, *attrs.get("strides", [1])],
            "dilations": [1, *attrs.get("dilations", [1])],
            "group": attrs.get("group", 1),
        }
        name = node.name or node.output[0]
        w2 = self.wide_weights.get(node.input[1])
        if w2 is None:
            w2 = self.constant(f"{node.input[1]}/2d", np.ascontiguousarray(weight[:, :, None, :]))
            self.wide_weights[node.input[1]] = w2
        axis = self.constant(f"{name}/axis2", np.array([2], np.int64))
        wide, out = ix.unique(f"{name}/input_2d"), ix.unique(f"{name}/output_2d")
        self.replace[id(node)] = [
            helper.make_node("Unsqueeze", [node.input[0], axis], [wide], name=f"{name}/unsqueeze"),
            helper.make_node(node.op_type, [wide, w2, *node.input[2:]], [out], name=name,
                             **new_attrs),
            helper.make_node("Squeeze", [out, axis], [node.output[0]], name=f"{name}/squeeze"),
        ]
        self.counts["Conv1d→2d"] += 1

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> None:
        nodes = list(self.model.graph.node)
        skip = self.rewrites.skip_scopes
        standard = [n for n in nodes if not n.domain and node_scope(n.name) not in skip]
        # Dynamic quantisation rounds activations to 8 bits at run time: a last-bit change
        # before a quantiser becomes a whole step (measured 24 dB SNR), so only rewrites that
        # keep every bit (Pow→Mul, convolution layout) run on such graphs.
        quantized = any(n.op_type == "DynamicQuantizeLinear" for n in nodes)
        if self.rewrites.norms and not quantized:
            for node in standard:
                if node.op_type == "ReduceMean" and id(node) not in self.replace:
                    self.norm(node)
        if self.rewrites.squares:
            for node in standard:
                if node.op_type == "Pow":
                    self.square(node)
        if self.rewrites.conv2d:
            for node in standard:
                kinds = ("Conv", "ConvTranspose") if self.rewrites.transposed2d else ("Conv",)
                if node.op_type in kinds and id(node) not in self.replace \
                        and self.rank(node.input[0]) in (3, None):
                    self.conv2d(node)
        rebuilt = []
        for node in nodes:
            rebuilt.extend(self.replace.get(id(node), [node]))
        del self.model.graph.node[:]
        self.model.graph.node.extend(rebuilt)
        _prune(self.model.graph)


def _prune(graph: object) -> None:
    """Drop nodes nobody reads, then unused initializers and stale value_info."""
    live = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in live for o in node.output if o):
            keep.append(node)
            live.update(i for i in node.input if i)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    used = {i for n in keep for i in n.input} | {o.name for o in graph.output}
    initializers = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    produced = {o for n in keep for o in n.output}
    info = [v for v in graph.value_info if v.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(info)


def optimize_model(model: object, rewrites: Rewrites | None = None
                   ) -> tuple[object, collections.Counter[str]]:
    """A rewritten copy of an onnx ModelProto and how many sites each rewrite changed."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    optimizer = _Optimizer(copy, rewrites or Rewrites())
    optimizer.run()
    stamp = copy.metadata_props.add()
    stamp.key, stamp.value = METADATA_KEY, json.dumps({"version": VERSION, **optimizer.counts})
    return copy, optimizer.counts


def optimize_file(src: Path, dst: Path, rewrites: Rewrites | None = None
                  ) -> collections.Counter[str]:
    """Rewrite the graph in `src` into `dst` (written atomically)."""
    import onnx

    model, counts = optimize_model(onnx.load(str(src)), rewrites)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(dst.name + ".part")
    onnx.save(model, str(partial))
    os.replace(partial, dst)
    return counts


def optimized_file(path: Path, cache_dir: Path, timeout: float = 600) -> Path:
    """The optimised copy of `path` in cache_dir, made once by a child process (keyed by the
    source's size and mtime and VERSION): loading the 300 MB of protobuf a rewrite needs
    in the server would leave that much freed memory in its RSS."""
    stat = path.stat()
    stem = f"{path.stem}--"
    target = cache_dir / f"{stem}{stat.st_size}-{stat.st_mtime_ns}-v{VERSION}.onnx"
    counts_file = target.with_suffix(".json")
    if not (target.is_file() and counts_file.is_file()):
        cache_dir.mkdir(parents=True, exist_ok=True)
        own = re.compile(re.escape(stem) + r"\d+-\d+-v\d+\.(onnx|json)(\.part)?")
        for stale in cache_dir.iterdir():  # older copies of this file, not of its rebuilds
            if own.fullmatch(stale.name):
                stale.unlink(missing_ok=True)
        _LOGGER.info("Optimising %s once for the CPU (fused instance norms, Pow→Mul, 1-D "
                     "convolutions as 2-D) into %s", path.name, cache_dir)
        done = subprocess.run([sys.executable, "-m", __name__, str(path), str(target)],
                              timeout=timeout, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            raise SubprocessError(
                f"optimiser exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    _LOGGER.info("Optimised graph %s: %s", target.name,
                 ", ".join(f"{k} ×{v}" for k, v in json.loads(counts_file.read_text()).items())
                 or "nothing to rewrite")
    return target


def _main(src: Path, dst: Path) -> None:
    """Child-process side of optimized_file: the graph, then its counts (written last)."""
    counts = optimize_file(src, dst)
    meta = dst.with_suffix(".json")
    partial = meta.with_name(meta.name + ".part")
    partial.write_text(json.dumps(dict(counts)))
    os.replace(partial, meta)


if __name__ == "__main__":
    _main(Path(sys.argv[1]), Path(sys.argv[2]))
