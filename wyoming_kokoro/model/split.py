"""Cutting a dynamic Kokoro graph in two for the streaming decoder (streaming_decoder.py):
the acoustic half (text → durations, F0, energy, the harmonic source) and the decoder half
(those tensors → audio). Cut once per model file, by a child process, into the data dir.

The graph is split where the encoder's tensors enter the decoder; every decoder node that
depends only on the F0 curve (the harmonic source: upsampling, cumulative phase, sines, its
STFT and noise convolutions) moves to the acoustic half, so a head gets its exact slice of
the whole segment's excitation instead of a phase that restarts at zero.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

SPLIT_VERSION = 2  # bump when the cut changes: cached halves of older versions are redone


def node_scope(node_name: str) -> str:
    """The first component of a node name ("/decoder/decoder/…" → "decoder")."""
    return node_name.lstrip("/").split("/")[0].split(".")[0]


def find_boundary(graph: object) -> list[str]:
    """Tensors produced in the `encoder` scope and consumed in the `decoder` scope; a
    quantizer's output counts as its float input (the quantizer then moves to the decoder)."""
    producer = {out: node for node in graph.node for out in node.output}
    initializers = {i.name for i in graph.initializer}
    boundary: set[str] = set()
    for node in graph.node:
        if node_scope(node.name) != "decoder":
            continue
        for name in node.input:
            source = producer.get(name)
            if not name or name in initializers or source is None:
                continue
            if node_scope(source.name) == "encoder":
                boundary.add(source.input[0] if source.op_type == "DynamicQuantizeLinear"
                              else name)
    return sorted(boundary)


def _derived_from(graph: object, start: str) -> tuple[set[str], list[object], set[str]]:
    """Tensors computed from `start` alone (plus constants) outside the encoder, the nodes
    computing them, and the constant tensors (graph nodes are in topological order)."""
    constants = {i.name for i in graph.initializer} | {""}
    derived, nodes = {start}, []
    for node in graph.node:
        inputs = list(node.input)
        if all(i in constants for i in inputs):
            constants.update(node.output)
        elif node_scope(node.name) != "encoder" and all(i in constants or i in derived
                                                    for i in inputs):
            derived.update(node.output)
            nodes.append(node)
    return derived, nodes, constants


def find_source(graph: object, boundary: list[str]) -> list[str]:
    """The harmonic source's tensors where they enter the rest of the decoder: outputs of the
    nodes that depend on the F0 curve only (the curve whose closure holds the phase CumSum)."""
    for curve in boundary:
        derived, nodes, constants = _derived_from(graph, curve)
        if not any(node.op_type == "CumSum" for node in nodes):
            continue
        moved = {node.name for node in nodes}
        return sorted({name for node in graph.node
                       if node_scope(node.name) != "encoder" and node.name not in moved
                       for name in node.input if name in derived and name not in constants})
    return []


def split_graph(path: Path) -> tuple[object, object, list[str], list[str]] | None:
    """(acoustic ModelProto, decoder ModelProto, boundary, source) or None if not splittable."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    boundary = find_boundary(model.graph)
    inputs = [i.name for i in model.graph.input]
    if not boundary or "style" not in inputs:
        return None
    source = find_source(model.graph, boundary)
    token_input = "tokens" if "tokens" in inputs else "input_ids"
    extractor = Extractor(model)
    try:
        decoder = extractor.extract_model([*boundary, *source, "style"],
                                          [model.graph.output[0].name])
        acoustic = extractor.extract_model([token_input, "style", "speed"],
                                           [*boundary, *source])
    except Exception as err:  # noqa: BLE001 - an unsplittable graph just runs whole
        _LOGGER.info("Cannot split %s for streaming decode: %s", path.name, err)
        return None
    used = {name for node in decoder.graph.node for name in node.input}
    kept = [i for i in decoder.graph.input if i.name in used]
    del decoder.graph.input[:]
    decoder.graph.input.extend(kept)  # drop curves only the moved source needed
    if {i.name for i in kept} - {*boundary, *source, "style"}:
        _LOGGER.info("Decoder of %s needs %s; not streaming", path.name, kept)
        return None
    return acoustic, decoder, boundary, source


def _cached_files(path: Path, cache_dir: Path) -> tuple[Path, Path, Path]:
    """Where the halves of `path` and the cut's record live, keyed by the file and version."""
    stat = path.stat()
    key = f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}-v{SPLIT_VERSION}"
    return (cache_dir / f"{key}.acoustic.onnx", cache_dir / f"{key}.decoder.onnx",
            cache_dir / f"{key}.json")


def split_cached(path: Path, cache_dir: Path) -> bool:
    """Whether `path` was split into cache_dir before (so its halves load without a cut)."""
    try:
        acoustic, _, meta = _cached_files(path, cache_dir)
        return acoustic.is_file() and bool(json.loads(meta.read_text()))
    except (OSError, ValueError):
        return False


def split_files(path: Path, cache_dir: Path) -> tuple[Path, Path, list[str], list[str]] | None:
    """Cached halves of `path` (cut by a child process on first use), or None."""
    acoustic, decoder, meta = _cached_files(path, cache_dir)
    if not meta.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob(f"{path.stem}-*"):
            stale.unlink(missing_ok=True)
        _LOGGER.info("Splitting %s for the streaming decoder (once) into %s", path.name,
                     cache_dir)
        subprocess.run([sys.executable, "-m", "wyoming_kokoro.model.split", str(path),
                        str(acoustic), str(decoder), str(meta)], check=True, timeout=900,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cut = json.loads(meta.read_text())
    if not cut:
        return None
    return acoustic, decoder, cut["boundary"], cut["source"]


def _write_split(source: Path, acoustic: Path, decoder: Path, meta: Path) -> None:
    """Child-process side of split_files; each file appears atomically, the cut last."""
    import onnx

    halves = split_graph(source)
    if halves is not None:
        for proto, target in ((halves[0], acoustic), (halves[1], decoder)):
            partial = target.with_name(target.name + ".part")
            onnx.save(proto, partial)
            os.replace(partial, target)
    partial = meta.with_name(meta.name + ".part")
    cut = {"boundary": halves[2], "source": halves[3]} if halves else {}
    partial.write_text(json.dumps(cut))
    os.replace(partial, meta)


if __name__ == "__main__":
    _write_split(*(Path(arg) for arg in sys.argv[1:5]))
