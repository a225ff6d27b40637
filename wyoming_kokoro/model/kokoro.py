"""A loaded Kokoro export: its sessions (whole, or split for the streaming decoder), inputs and
output geometry (the contract comes from contract.py)."""

from __future__ import annotations

import ctypes
import logging
import subprocess
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wyoming_kokoro.model.bf16 import bf16_decoder
from wyoming_kokoro.model.contract import detect_contract
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.model.optimize import optimized_file
from wyoming_kokoro.model.precision import is_dynamic_int8
from wyoming_kokoro.model.session import ModelError, create_session, resolve_providers
from wyoming_kokoro.model.split import split_cached
from wyoming_kokoro.model.streaming_decoder import (
    HeadOptions,
    SplitModel,
    segment_steps,
)

_LOGGER = logging.getLogger(__name__)


class ModelOutputError(RuntimeError):
    """The model produced unusable output (NaN/inf)."""


class DurationOverflowError(RuntimeError):
    """The segment's predicted frames exceed the bucket's alignment window: split and retry."""

    def __init__(self, frames: int, limit: int) -> None:
        super().__init__(f"{frames} frames exceed the alignment window of {limit}")
        self.frames = frames
        self.limit = limit


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


def _build_split(path: Path, providers: list, threads: int | None, cache_dir: Path | None,
                 optimized_dir: Path | None, bf16_dir: Path | None) -> SplitModel | None:
    """The split model, each half CPU-optimised (optimized_dir) and the decoder's body in
    bf16 (bf16_dir) where asked."""
    prepare = None if optimized_dir is None else (lambda half: _optimized(half, optimized_dir))
    decoder_for = None if bf16_dir is None else (
        lambda acoustic, decoder: bf16_decoder(acoustic, decoder, bf16_dir, threads))
    return SplitModel.build(path, providers, threads, cache_dir, prepare, decoder_for)


class _Halves:
    """The split model's two sessions seen as the whole one, for detect_contract."""

    def __init__(self, split: SplitModel) -> None:
        self.acoustic, self.decoder = split.acoustic_session, split.decoder_session

    def get_inputs(self) -> list:
        return self.acoustic.get_inputs()

    def get_outputs(self) -> list:
        return self.decoder.get_outputs()

    def get_modelmeta(self) -> object:
        return self.acoustic.get_modelmeta()

    def get_providers(self) -> list[str]:
        return self.acoustic.get_providers()


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
                                 optimized_dir: Path | None = None,
                                 bf16_dir: Path | None = None) -> bool:
        """Split a dynamic graph into acoustic + decoder sessions and drop the whole one;
        optimized_dir: run each half's CPU-optimised copy; bf16_dir: see load."""
        if self.contract.bucket is not None or self.path is None:
            return False
        self.split = _build_split(self.path, providers, threads, cache_dir, optimized_dir,
                                  bf16_dir)
        if self.split is not None:
            self.session = None  # the two halves compute the same; keep one copy of weights
            _return_freed_memory()
        return self.split is not None

    @classmethod
    def from_halves(cls, path: Path, providers: list, threads: int | None, cache_dir: Path,
                    optimized_dir: Path | None, bf16_dir: Path | None) -> KokoroModel | None:
        """A model split on an earlier start, loaded from its cached halves alone (the whole
        session would cost 0.7–1.2 s of start-up, only to be dropped); None if it cannot."""
        split = _build_split(path, providers, threads, cache_dir, optimized_dir, bf16_dir)
        if split is None:
            return None
        model = cls(_Halves(split), path)  # the contract: inputs of one, outputs of the other
        model.session, model.split = None, split
        return model if model.contract.bucket is None else None

    @classmethod
    def load(cls, path: Path, providers: str = "auto", threads: int | None = None,
             trt_cache_dir: Path | None = None, streaming_decoder: bool | None = None,
             cache_dir: Path | None = None, optimized_dir: Path | None = None,
             bf16_dir: Path | None = None) -> KokoroModel:
        """streaming_decoder None = auto: on for CPU sessions only. Measured on an H100, a
        whole call takes 22–79 ms, so chunking only adds calls there (docs/gpu-h100.json).
        optimized_dir: where the CPU-optimised graphs of a float model (the whole model, or
        each half of the split one) are cached; None: run the files as they are.
        bf16_dir: the decoder's body in bf16 (bf16.py; CPU), cut and cached there; it needs
        the split, which with the streaming decoder off decodes whole, never a head."""
        provider_list = resolve_providers(providers, trt_cache_dir)
        cpu_only = all((p[0] if isinstance(p, tuple) else p) == "CPUExecutionProvider"
                       for p in provider_list)
        heads = streaming_decoder is not False
        if bf16_dir is not None and cpu_only and cache_dir is not None:
            streaming_decoder = True
        elif bf16_dir is not None:
            _LOGGER.warning("bf16 runs on the CPU only (providers %s); decoding in float32",
                            ", ".join(p[0] if isinstance(p, tuple) else p for p in provider_list))
            bf16_dir = None
        # int8 graphs gain nothing (README: CPU graph optimisation) and stay bit-exact
        optimize = optimized_dir is not None and cpu_only and not is_dynamic_int8(path)
        source = path
        model = None
        if ((streaming_decoder or (streaming_decoder is None and cpu_only))
                and cache_dir is not None and split_cached(path, cache_dir)):
            model = cls.from_halves(path, provider_list, threads, cache_dir,
                                    optimized_dir if optimize else None, bf16_dir)
            streaming_decoder = True
        if model is None:
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
                                               optimized_dir if optimize else None, bf16_dir)
        if streaming_decoder:
            if not heads:
                model.head_options.max_share = 0.0  # every segment decoded whole
            if bf16_dir is not None and model.split is None:
                _LOGGER.warning("bf16 needs a dynamic export (the decoder is cut from its "
                                "split); running %s as it is", path.name)
            if model.split is not None:  # the bf16 decoder's body runs on OpenVINO
                model.providers = list(dict.fromkeys(
                    [*model.split.decoder_session.get_providers(), *model.providers]))
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
