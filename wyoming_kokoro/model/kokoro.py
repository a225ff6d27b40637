"""ONNX session for a Kokoro export: contract detection from the graph, inputs, output geometry."""

from __future__ import annotations

import ctypes
import logging
import subprocess
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wyoming_kokoro.model.job import Job
from wyoming_kokoro.model.optimize import optimized_file
from wyoming_kokoro.model.precision import is_dynamic_int8
from wyoming_kokoro.model.session import ModelError, create_session, resolve_providers
from wyoming_kokoro.model.streaming_decoder import (
    SAMPLES_PER_FRAME,
    HeadOptions,
    SplitModel,
    segment_steps,
)

_LOGGER = logging.getLogger(__name__)

DYNAMIC_MAX_TOKENS = 510  # kokoro-onnx exports: 512 positions minus the two pads
class ModelOutputError(RuntimeError):
    """The model produced unusable output (NaN/inf)."""


class DurationOverflowError(RuntimeError):
    """The segment's predicted frames exceed the bucket's alignment window: split and retry."""

    def __init__(self, frames: int, limit: int) -> None:
        super().__init__(f"{frames} frames exceed the alignment window of {limit}")
        self.frames = frames
        self.limit = limit


@dataclass(frozen=True)
class Contract:
    """What the graph takes and gives, read from its inputs, outputs and metadata."""

    token_input: str
    bucket: int | None  # static token width B, None for dynamic exports
    speed_dtype: type
    has_lengths: bool
    has_mask: bool
    audio_output: str
    duration_output: str | None
    fixed_samples: int | None = None  # S
    align_frames: int | None = None  # ALIGN
    samples_per_frame: int = SAMPLES_PER_FRAME
    tail_margin: int = 0
    tiered_margins: tuple[tuple[int, int], ...] = ()  # (max input_lengths, margin) ascending

    @property
    def capacity(self) -> int:
        """Real phoneme tokens one call takes (pads excluded)."""
        return self.bucket - 2 if self.bucket else DYNAMIC_MAX_TOKENS

    def margin_for(self, input_length: int) -> int:
        for max_length, margin in self.tiered_margins:
            if input_length <= max_length:
                return margin
        return self.tail_margin

    @property
    def safe_frames(self) -> int | None:
        """Most duration frames the fixed output can hold without cutting speech."""
        if self.align_frames is None or self.fixed_samples is None:
            return None
        room = (self.fixed_samples - self.tail_margin) // self.samples_per_frame
        return max(1, min(self.align_frames, room))


def _meta_int(meta: dict[str, str], key: str) -> int | None:
    value = meta.get(f"fastkokoro.{key}")
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def detect_contract(session: object) -> Contract:
    """Read the Kokoro contract from an onnxruntime session's graph (never assume it)."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    token_input = "input_ids" if "input_ids" in inputs else "tokens" if "tokens" in inputs else None
    if token_input is None or "style" not in inputs or "speed" not in inputs:
        raise ModelError(
            f"not a Kokoro model: inputs {sorted(inputs)} (need input_ids|tokens, style, speed)"
        )
    width = inputs[token_input].shape[-1]
    bucket = width if isinstance(width, int) and width > 0 else None
    speed_dtype = np.int32 if "int32" in inputs["speed"].type else np.float32
    audio_output = next((n for n in ("waveform", "audio") if n in outputs), outputs[0])
    duration_output = "duration" if "duration" in outputs else None
    if bucket is None:
        return Contract(token_input, None, speed_dtype, "input_lengths" in inputs,
                        "attention_mask" in inputs, audio_output, duration_output)
    if bucket <= 2:
        raise ModelError(f"bucket width {bucket} leaves no room for phonemes")
    meta = dict(session.get_modelmeta().custom_metadata_map or {})
    out_shape = next(o.shape for o in session.get_outputs() if o.name == audio_output)
    static_len = out_shape[-1] if out_shape and isinstance(out_shape[-1], int) else None
    align = _meta_int(meta, "fixed_alignment_frames") or 2 * bucket + 8
    per_frame = (_meta_int(meta, "content_samples_per_duration_frame")
                 or _meta_int(meta, "output_samples_per_frame") or 480)
    margin = _meta_int(meta, "output_tail_margin_samples")
    fixed = _meta_int(meta, "fixed_output_samples") or static_len
    if margin is None:
        margin = fixed - align * per_frame if fixed else 3120
    fixed = fixed or align * per_frame + margin
    tiers = []
    for tier in ("short", "medium"):
        tier_margin = _meta_int(meta, f"output_{tier}_tail_margin_samples")
        tier_max = _meta_int(meta, f"output_{tier}_tail_margin_max_tokens")
        if tier_margin is not None and tier_max is not None:
            tiers.append((tier_max, tier_margin))
    return Contract(
        token_input, bucket, speed_dtype, "input_lengths" in inputs, "attention_mask" in inputs,
        audio_output, duration_output, fixed, align, per_frame, margin, tuple(sorted(tiers)),
    )


def _return_freed_memory() -> None:
    """glibc keeps freed arenas; hand the dropped session's ~100 MB back to the system."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


def _check_finite(audio: np.ndarray) -> np.ndarray:
    if not np.isfinite(audio).all():
        raise ModelOutputError("the model produced NaN/inf audio (a known fp16 export fault)")
    return audio


def _optimized(path: Path, cache_dir: Path) -> Path:
    """The cached CPU-optimised graph of `path`, or `path` itself if it cannot be made."""

    try:
        return optimized_file(path, cache_dir)
    except (OSError, subprocess.SubprocessError) as err:
        _LOGGER.warning("Cannot optimise %s (%s); running it as it is", path.name, err)
        return path


class KokoroModel:
    """A loaded Kokoro export; `run` is thread-safe (onnxruntime sessions are)."""

    def __init__(self, session: object, path: Path | None = None) -> None:
        self.session = session
        self.path = path
        self.contract = detect_contract(session)
        self.providers: list[str] = list(session.get_providers())
        self.split: SplitModel | None = None
        self.head_options = HeadOptions()

    def enable_streaming_decoder(self, providers: list, threads: int | None,
                                 cache_dir: Path | None = None,
                                 optimized_dir: Path | None = None) -> bool:
        """Split a dynamic graph into acoustic + decoder sessions and drop the whole one;
        with optimized_dir, each half runs its CPU-optimised copy."""
        if self.contract.bucket is not None or self.path is None:
            return False
        prepare = None if optimized_dir is None else (lambda half: _optimized(half, optimized_dir))
        self.split = SplitModel.build(self.path, providers, threads, cache_dir, prepare)
        if self.split is not None:
            self.session = None  # the two halves compute the same; keep one copy of weights
            _return_freed_memory()
        return self.split is not None

    @classmethod
    def load(cls, path: Path, providers: str = "auto", threads: int | None = None,
             trt_cache_dir: Path | None = None, streaming_decoder: bool | None = None,
             cache_dir: Path | None = None, optimized_dir: Path | None = None
             ) -> KokoroModel:
        """streaming_decoder None = auto: on for CPU sessions only. Measured on an H100, a
        whole call takes 22–79 ms, so chunking only adds calls there (docs/gpu-h100.json).
        optimized_dir: where the CPU-optimised graphs of a float model (the whole model, or
        each half of the split one) are cached; None: run the files as they are."""
        provider_list = resolve_providers(providers, trt_cache_dir)
        cpu_only = all((p[0] if isinstance(p, tuple) else p) == "CPUExecutionProvider"
                       for p in provider_list)
        # int8 graphs gain nothing (README: CPU graph optimisation) and stay bit-exact
        optimize = optimized_dir is not None and cpu_only and not is_dynamic_int8(path)
        source = path
        if optimize and streaming_decoder is False:
            source = _optimized(path, optimized_dir)
        try:
            session = create_session(source, provider_list, threads)
        except ModelError as err:
            if source == path:
                raise
            _LOGGER.warning("Optimised graph failed to load (%s); running %s as it is",
                            err, path.name)
            source = path
            session = create_session(source, provider_list, threads)
        model = cls(session, path)
        if streaming_decoder is None:
            streaming_decoder = model.providers[0] == "CPUExecutionProvider"
        if streaming_decoder:
            model.enable_streaming_decoder(provider_list, threads, cache_dir,
                                           optimized_dir if optimize else None)
        if optimize and source == path and model.split is None:
            # fixed-bucket or unsplittable graph: the whole model runs, optimised
            optimized = _optimized(path, optimized_dir)
            try:
                if optimized != path:
                    model.session = create_session(optimized, provider_list, threads)
                    _return_freed_memory()
            except ModelError as err:
                _LOGGER.warning("Optimised graph failed to load (%s); running %s as it is",
                                err, path.name)
        c = model.contract
        _LOGGER.info(
            "Model %s: %s, capacity %d tokens, providers %s", path.name,
            f"bucket b{c.bucket} (S={c.fixed_samples}, align={c.align_frames})" if c.bucket
            else "dynamic" + (", streaming decoder" if model.split else ""), c.capacity,
            ", ".join(model.providers),
        )
        return model

    @property
    def capacity(self) -> int:
        return self.contract.capacity

    def feeds(self, ids: Sequence[int], style: np.ndarray, speed: float) -> dict[str, np.ndarray]:
        """Model inputs as DESIGN.md §2 says: pads at both ends, lengths n+2, bucket padding."""
        c = self.contract
        n = len(ids)
        if n > c.capacity:
            raise ValueError(f"{n} tokens exceed the model's capacity of {c.capacity}")
        width = c.bucket or n + 2
        tokens = np.zeros((1, width), dtype=np.int64)
        tokens[0, 1 : n + 1] = ids
        feeds = {
            c.token_input: tokens,
            "style": np.asarray(style, dtype=np.float32).reshape(1, 256),
            "speed": np.array([speed], dtype=c.speed_dtype),
        }
        if c.has_lengths:
            feeds["input_lengths"] = np.array([n + 2], dtype=np.int64)
        if c.has_mask:
            mask = np.zeros((1, width), dtype=np.int64)
            mask[0, : n + 2] = 1
            feeds["attention_mask"] = mask
        return feeds

    def segment_steps(self, ids: Sequence[int], style: np.ndarray, speed: float = 1.0,
                      ahead: Callable[[], float] | None = None
                      ) -> Generator[Job | np.ndarray, Any, None]:
        """Trimmed speech for one segment of the streaming decoder as model Jobs (results sent
        back) and audio: the acoustic part, then a head if the listener would wait for the
        whole decode (`ahead`: seconds buffered, None = not streaming), then the exact rest."""
        assert self.split is not None
        features = yield Job(self.split.acoustic, (self.feeds(ids, style, speed),))
        yield from segment_steps(self.split, features, ahead, self.head_options,
                                 check=_check_finite)

    def run(self, ids: Sequence[int], style: np.ndarray, speed: float = 1.0) -> np.ndarray:
        """Raw waveform for one segment, cut to the part the graph rendered (the split
        decoder's halves give the unsplit model's output exactly)."""
        if self.split is not None:
            features = self.split.acoustic(self.feeds(ids, style, speed))
            return _check_finite(self.split.decode(features))
        c = self.contract
        names = [c.audio_output] + ([c.duration_output] if c.duration_output else [])
        results = self.session.run(names, self.feeds(ids, style, speed))
        audio = np.asarray(results[0], dtype=np.float32).reshape(-1)
        if c.bucket is not None:
            audio = self._cut_fixed(audio, results[1] if len(results) > 1 else None, len(ids))
        return _check_finite(audio)

    def _cut_fixed(self, audio: np.ndarray, durations: np.ndarray | None, n: int) -> np.ndarray:
        """Slice a fixed-length output to L = min(S, spf·min(D, ALIGN) + margin)."""
        c = self.contract
        if durations is not None:
            frames = int(np.asarray(durations, dtype=np.int64).reshape(-1)[: n + 2].sum())
            safe = c.safe_frames
            if safe is not None and frames > safe:
                raise DurationOverflowError(frames, safe)
            length = c.samples_per_frame * min(frames, c.align_frames or frames)
            length = min(len(audio), length + c.margin_for(n + 2))
            return audio[:length]
        nonzero = np.flatnonzero(audio)
        return audio[: nonzero[-1] + 1] if nonzero.size else audio[:0]
