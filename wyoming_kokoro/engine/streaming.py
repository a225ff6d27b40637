"""The streaming decoder for dynamic Kokoro exports: run the cheap acoustic part on the whole
segment, then decode its frames in chunks — a short head at once, the rest while it plays.

The graph is split where tensors produced outside the `decoder` node scope enter it (found
from the graph, checked by identical output). The decoder normalises over time, so a chunk
decoded alone is a valid rendering but not sample-identical to a whole decode: chunks get
context frames on both sides, seams sit on quiet, unvoiced frames, and joins are crossfaded.
Frames of the model's start/end pad silence are never decoded.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import fade
from .scheduler import Job, drive

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_FRAME = 600  # 25 ms at 24 kHz


def _scope(node_name: str) -> str:
    return node_name.lstrip("/").split("/")[0].split(".")[0]


def find_boundary(graph: object) -> list[str]:
    """Tensors produced in the `encoder` scope and consumed in the `decoder` scope; a
    quantizer's output counts as its float input (the quantizer then moves to the decoder)."""
    producer = {out: node for node in graph.node for out in node.output}
    initializers = {i.name for i in graph.initializer}
    boundary: set[str] = set()
    for node in graph.node:
        if _scope(node.name) != "decoder":
            continue
        for name in node.input:
            source = producer.get(name)
            if not name or name in initializers or source is None:
                continue
            if _scope(source.name) == "encoder":
                boundary.add(source.input[0] if source.op_type == "DynamicQuantizeLinear"
                              else name)
    return sorted(boundary)


@dataclass
class ChunkOptions:
    head_frames: int = 20  # first audio: 0.5 s of speech, decoded alone
    growth: float = 2.0  # later chunks grow: few seams, and each decodes before the last ends
    max_frames: int = 160
    context: int = 8  # frames of context decoded on each side of a chunk, then dropped
    head_context: int = 10  # the head's right context (it has no left one): cheap, short TTFA
    crossfade: int = 480  # samples blended across a seam (20 ms)
    seam_search: int = 8  # frames around the planned seam searched for a quiet one
    voiced_penalty: float = 4.0  # energy units a voiced seam frame costs
    # Pad frames kept before the first / after the last speech frame: the decoder normalises
    # over time, and dropping all the silence it was trained with blurs onsets (ASR-checked).
    lead_frames: int = 8
    tail_frames: int = 12
    out_lead_frames: int = 2  # of which heard: 50 ms before the first speech frame
    out_tail_frames: int = 4  # and 100 ms after the last


@dataclass
class Features:
    """The acoustic part's output for one segment: decoder inputs plus per-frame curves."""

    tensors: dict[str, np.ndarray]
    frames: int
    f0: np.ndarray  # per frame (Hz; unvoiced ≈ 10–15)
    energy: np.ndarray  # per frame (log-like; pad silence ≈ −9)


class SplitModel:
    """Acoustic + decoder sessions built from one dynamic Kokoro graph."""

    def __init__(self, acoustic: object, decoder: object, boundary: list[str]) -> None:
        self.acoustic_session = acoustic
        self.decoder_session = decoder
        self.boundary = boundary  # one [1, C, T] frame tensor and two [1, 2T] curves

    @classmethod
    def build(cls, path: Path, providers: list, threads: int | None,
              cache_dir: Path | None = None) -> SplitModel | None:
        """None when the graph cannot be split. The halves are cut once, in a child process,
        into cache_dir: sessions loaded from files cost no more memory than the whole model,
        while cutting in-process leaves ~300 MB of freed protobuf in the server's RSS."""
        from .model import create_session

        if cache_dir is not None:
            try:
                cached = split_files(path, cache_dir)
            except (OSError, subprocess.SubprocessError) as err:
                _LOGGER.warning("Cannot cache the split graph in %s (%s); splitting in memory",
                                cache_dir, err)
            else:
                if cached is None:
                    return None
                acoustic, decoder, boundary = cached
                return cls(create_session(acoustic, providers, threads),
                           create_session(decoder, providers, threads), boundary)
        halves = split_graph(path)
        if halves is None:
            return None
        acoustic_graph, decoder_graph, boundary = halves
        return cls(create_session(acoustic_graph.SerializeToString(), providers, threads),
                   create_session(decoder_graph.SerializeToString(), providers, threads),
                   boundary)

    def acoustic(self, feeds: dict[str, np.ndarray]) -> Features:
        outputs = self.acoustic_session.run(self.boundary, feeds)
        tensors = dict(zip(self.boundary, outputs, strict=True))
        frame_name = next(n for n, a in tensors.items() if a.ndim == 3)
        frames = tensors[frame_name].shape[-1]
        curves = sorted(
            (n for n, a in tensors.items() if a.ndim == 2 and a.shape[-1] == 2 * frames),
            key=lambda n: float(tensors[n].max()),  # energy peaks near 10, F0 in the hundreds
        )
        if len(curves) != 2:
            raise RuntimeError(f"unexpected decoder inputs {[a.shape for a in outputs]}")
        energy, f0 = (tensors[n][0].reshape(frames, 2).mean(axis=1) for n in curves)
        tensors["style"] = feeds["style"]
        return Features(tensors, frames, f0, energy)

    def decode(self, features: Features, start: int, end: int) -> np.ndarray:
        """Audio for frames [start, end) decoded on their own (slices of every input)."""
        feeds = {}
        for name, array in features.tensors.items():
            if name == "style":
                feeds[name] = array
            elif array.ndim == 3:
                feeds[name] = np.ascontiguousarray(array[:, :, start:end])
            else:
                feeds[name] = np.ascontiguousarray(array[:, 2 * start : 2 * end])
        audio = self.decoder_session.run(None, feeds)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def split_graph(path: Path) -> tuple[object, object, list[str]] | None:
    """(acoustic ModelProto, decoder ModelProto, boundary) or None if not splittable."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    boundary = find_boundary(model.graph)
    inputs = [i.name for i in model.graph.input]
    if not boundary or "style" not in inputs:
        return None
    token_input = "tokens" if "tokens" in inputs else "input_ids"
    extractor = Extractor(model)
    try:
        decoder = extractor.extract_model([*boundary, "style"], [model.graph.output[0].name])
        acoustic = extractor.extract_model([token_input, "style", "speed"], boundary)
    except Exception as err:  # noqa: BLE001 - an unsplittable graph just runs whole
        _LOGGER.info("Cannot split %s for streaming decode: %s", path.name, err)
        return None
    decoder_inputs = {i.name for i in decoder.graph.input}
    if decoder_inputs - {*boundary, "style"}:
        _LOGGER.info("Decoder of %s needs %s; not streaming", path.name, decoder_inputs)
        return None
    return acoustic, decoder, boundary


def split_files(path: Path, cache_dir: Path) -> tuple[Path, Path, list[str]] | None:
    """Cached halves of `path` (cut by a child process on first use), or None."""
    stat = path.stat()
    key = f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}"
    acoustic, decoder = cache_dir / f"{key}.acoustic.onnx", cache_dir / f"{key}.decoder.onnx"
    meta = cache_dir / f"{key}.json"
    if not meta.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob(f"{path.stem}-*"):
            stale.unlink(missing_ok=True)
        _LOGGER.info("Splitting %s for the streaming decoder (once) into %s", path.name,
                     cache_dir)
        subprocess.run([sys.executable, "-m", "wyoming_kokoro.engine.streaming", str(path),
                        str(acoustic), str(decoder), str(meta)], check=True, timeout=900,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    boundary = json.loads(meta.read_text())
    if not boundary:
        return None
    return acoustic, decoder, boundary


def _write_split(source: Path, acoustic: Path, decoder: Path, meta: Path) -> None:
    """Child-process side of split_files; each file appears atomically, the list last."""
    import onnx

    halves = split_graph(source)
    if halves is not None:
        for proto, target in ((halves[0], acoustic), (halves[1], decoder)):
            partial = target.with_name(target.name + ".part")
            onnx.save(proto, partial)
            os.replace(partial, target)
    partial = meta.with_name(meta.name + ".part")
    partial.write_text(json.dumps(halves[2] if halves else []))
    os.replace(partial, meta)


@dataclass(frozen=True)
class Window:
    """Frames decoded [start, end) and frames heard [out_start, out_end) of one segment."""

    start: int
    end: int
    out_start: int
    out_end: int

    def samples(self, frame: int) -> int:
        """Sample offset of `frame` in the heard audio."""
        return (frame - self.out_start) * SAMPLES_PER_FRAME


def speech_window(features: Features, options: ChunkOptions) -> Window:
    """Decode the speech plus some pad (the decoder normalises over what it sees); keep only
    a short margin of it in the output, like the silence trim of whole-model output."""
    energy = features.energy
    floor, peak = float(energy.min()), float(energy.max())
    loud = np.flatnonzero(energy > floor + 0.25 * (peak - floor))
    if loud.size == 0:
        return Window(0, features.frames, 0, features.frames)
    first, last = int(loud[0]), int(loud[-1]) + 1
    start = max(0, first - options.lead_frames)
    end = min(features.frames, last + options.tail_frames)
    return Window(start, end, max(start, first - options.out_lead_frames),
                  min(end, last + options.out_tail_frames))


def plan_chunks(features: Features, window: Window, options: ChunkOptions) -> list[int]:
    """Seam frames from window.start to window.end: growing chunks (the head counted from the
    first heard frame), each seam moved to the quietest unvoiced frame near its place."""
    start, end = window.start, window.end
    seams = [start]
    size = float(options.head_frames + window.out_start - start)
    # Quiet = low energy over three frames (a word gap, not a stop closure), unvoiced first.
    padded = np.pad(features.energy, 1, mode="edge")
    smooth = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:])
    quiet = smooth + np.where(features.f0 < 40, 0.0, options.voiced_penalty)
    while True:
        planned = seams[-1] + int(size)
        if end - planned < max(options.head_frames, size / 2):  # no short last chunk: the
            break  # decoder normalises over a chunk, so short ones come out louder
        low = max(seams[-1] + options.head_frames // 2, planned - options.seam_search)
        high = min(end - options.head_frames // 2, planned + options.seam_search)
        seam = low + int(np.argmin(quiet[low:high])) if high > low else planned
        seams.append(seam)
        size = min(options.max_frames, (seams[-1] - seams[-2]) * options.growth)
    seams.append(end)
    return seams


def render_chunks(split: SplitModel, features: Features, options: ChunkOptions
                  ) -> Iterator[np.ndarray]:
    """Audio of the speech frames, chunk by chunk, decoded inline."""
    return drive(chunk_steps(split, features, options))


def chunk_steps(split: SplitModel, features: Features, options: ChunkOptions,
                check: Callable[[np.ndarray], np.ndarray] = lambda audio: audio,
                ) -> Generator[Job | np.ndarray, Any, None]:
    """Yields a decoder Job per chunk (its result is sent back), then that chunk's audio."""
    window = speech_window(features, options)
    end = window.end
    seams = plan_chunks(features, window, options)
    half = options.crossfade // 2
    pending: np.ndarray | None = None  # last chunk's tail, to be blended with the next head
    for i in range(len(seams) - 1):
        a, b = seams[i], seams[i + 1]
        lo = max(0, a - options.context) if i else a
        right = options.head_context if i == 0 else options.context
        hi = min(features.frames, b + right) if b < end else b
        audio = check((yield Job(split.decode, (features, lo, hi))))
        # inner seams: overlap by `half` for the crossfade; outer edges: the heard window
        spf = SAMPLES_PER_FRAME
        first = (a - lo) * spf - half if i else (window.out_start - lo) * spf
        last = (b - lo) * spf + half if b < end else (window.out_end - lo) * spf
        piece = audio[max(0, first) : last]
        if pending is not None:
            n = min(len(pending), len(piece))
            ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
            piece = piece.copy()
            piece[:n] = pending[:n] * (1.0 - ramp) + piece[:n] * ramp
        if b < end:
            pending = piece[-2 * half :].copy() if half else None
            piece = piece[: len(piece) - 2 * half] if half else piece
        else:
            pending = None
        yield fade(piece, fade_in=i == 0, fade_out=b >= end)


def render_whole(split: SplitModel, features: Features, options: ChunkOptions) -> np.ndarray:
    """The speech frames in one decoder call: the same window as chunks, without seams."""
    window = speech_window(features, options)
    audio = split.decode(features, window.start, window.end)
    return fade(audio[(window.out_start - window.start) * SAMPLES_PER_FRAME :
                      (window.out_end - window.start) * SAMPLES_PER_FRAME])


if __name__ == "__main__":
    _write_split(*(Path(arg) for arg in sys.argv[1:5]))
