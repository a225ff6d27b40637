"""The streaming decoder for dynamic Kokoro exports: first audio from a short head, and the
exact full-model output for everything after it.

Why not chunks: the decoder normalises over time (54 instance norms; int8 graphs also scale
their activations per call), so every output sample depends on every frame of the segment.
Even dropping one frame at each end moves the output by ≈ 10 dB SNR; chunks decoded alone were
4.5–5 dB (log-spectral) away from the full model and cost words at the seams (docs/parity.md).
So a segment is decoded whole (sample-identical to the unsplit model) and, only when the
listener would otherwise wait for it, a head is decoded alone first: just long enough to
play while the whole decode runs, joined to it by one crossfade at a quiet, unvoiced frame.

The graph's two halves come from split.py.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wyoming_kokoro import audio as pcm
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.model.session import ModelError, create_session
from wyoming_kokoro.model.split import split_files, split_graph

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_FRAME = 600  # 25 ms at 24 kHz


@dataclass
class HeadOptions:
    """How a head is cut from a segment whose whole decode would keep the listener waiting."""

    min_frames: int = 12  # heard head at least 0.3 s
    max_share: float = 0.2  # of the speech frames: the head differs from the full model
    context: int = 12  # frames decoded after the head's seam, then dropped
    seam_search: int = 20  # frames after the planned seam searched for a quiet one
    voiced_penalty: float = 4.0  # energy units a voiced seam frame costs
    crossfade: int = 480  # samples blended across the seam (20 ms)
    safety: float = 1.3  # the head plays this much longer than the whole decode is expected
    slack: float = 0.05  # seconds added for scheduling and sending


@dataclass
class Features:
    """The acoustic part's output for one segment: decoder inputs plus per-frame curves."""

    tensors: dict[str, np.ndarray]
    frames: int
    f0: np.ndarray  # per frame (Hz; unvoiced ≈ 10–15)
    energy: np.ndarray  # per frame (log-like; pad silence ≈ −9)


class DecodeSpeed:
    """Decoder seconds per frame on this machine under its current load, learnt online
    (every decode updates it), so head lengths follow a slow or busy CPU."""

    def __init__(self, seconds_per_frame: float = 0.01, overhead: float = 0.01,
                 floor_rtf: float = 0.0) -> None:
        self.measured = seconds_per_frame
        self.overhead = overhead
        self.floor_rtf = floor_rtf  # --plan-rtf: plan for at least this slow a machine
        self.samples = 0
        self._lock = threading.Lock()

    def record(self, frames: int, seconds: float) -> None:
        per_frame = max(0.0, seconds - self.overhead) / max(1, frames)
        with self._lock:
            weight = 1.0 if self.samples == 0 else 0.3
            self.measured += weight * (per_frame - self.measured)
            self.samples += 1

    @property
    def seconds_per_frame(self) -> float:
        floor = self.floor_rtf * SAMPLES_PER_FRAME / pcm.SAMPLE_RATE
        return max(self.measured, floor)

    def predict(self, frames: int) -> float:
        return self.overhead + self.seconds_per_frame * frames

    @property
    def real_time_factor(self) -> float:
        """Model seconds per second of audio."""
        return self.seconds_per_frame * pcm.SAMPLE_RATE / SAMPLES_PER_FRAME


class SplitModel:
    """Acoustic + decoder sessions built from one dynamic Kokoro graph."""

    def __init__(self, acoustic: object, decoder: object, boundary: list[str],
                 source: list[str] | None = None) -> None:
        self.acoustic_session = acoustic
        self.decoder_session = decoder
        self.boundary = boundary  # one [1, C, T] frame tensor and two [1, 2T] curves
        self.outputs = list(dict.fromkeys([*boundary, *(source or [])]))
        self.decoder_inputs = [i.name for i in decoder.get_inputs()]
        self.rates: dict[str, tuple[int, int]] = {}  # time axis length = a·frames + b
        self.speed = DecodeSpeed()

    @classmethod
    def build(cls, path: Path, providers: list, threads: int | None,
              cache_dir: Path | None = None,
              prepare: Callable[[Path], Path] | None = None,
              decoder_for: Callable[[Path, Path], object] | None = None
              ) -> SplitModel | None:
        """None when the graph cannot be split. The halves are cut once, in a child process,
        into cache_dir: sessions loaded from files cost no more memory than the whole model,
        while cutting in-process leaves ~300 MB of freed protobuf in the server's RSS.
        `prepare` maps each cached half to the file to run (the CPU-optimised copy);
        `decoder_for(acoustic, decoder)` builds the decoder session itself (bf16.py)."""
        if cache_dir is not None:
            try:
                cached = split_files(path, cache_dir)
            except (OSError, subprocess.SubprocessError) as err:
                _LOGGER.warning("Cannot cache the split graph in %s (%s); splitting in memory",
                                cache_dir, err)
            else:
                if cached is None:
                    return None
                acoustic, decoder, boundary, source = cached
                if decoder_for is not None:
                    try:
                        split = cls(create_session((prepare or Path)(acoustic), providers,
                                                   threads),
                                    decoder_for(acoustic, decoder), boundary,
                                    source).calibrated()
                        split.decode(split.acoustic(  # a failing first call fails here
                            {i.name: _dummy(i, 8) for i in split.acoustic_session.get_inputs()}))
                        return split
                    except Exception as err:  # noqa: BLE001 - OpenVINO's own errors too
                        _LOGGER.warning("The bf16 decoder cannot run (%s); decoding in "
                                        "float32", err)
                if prepare is not None:
                    try:
                        return cls(create_session(prepare(acoustic), providers, threads),
                                   create_session(prepare(decoder), providers, threads),
                                   boundary, source).calibrated()
                    except ModelError as err:
                        _LOGGER.warning("Optimised halves failed to load (%s); running them "
                                        "as they are", err)
                return cls(create_session(acoustic, providers, threads),
                           create_session(decoder, providers, threads), boundary,
                           source).calibrated()
        halves = split_graph(path)
        if halves is None:
            return None
        acoustic_graph, decoder_graph, boundary, source = halves
        return cls(create_session(acoustic_graph.SerializeToString(), providers, threads),
                   create_session(decoder_graph.SerializeToString(), providers, threads),
                   boundary, source).calibrated()

    def calibrated(self) -> SplitModel:
        """Learn each decoder input's time axis from two acoustic runs of different length."""
        runs = []
        for n in (8, 24):
            feeds = {i.name: _dummy(i, n) for i in self.acoustic_session.get_inputs()}
            tensors = dict(zip(self.outputs, self.acoustic_session.run(self.outputs, feeds),
                               strict=True))
            runs.append((self._frames(tensors), tensors))
        (t1, a), (t2, b) = runs
        if t1 == t2:
            raise RuntimeError("cannot calibrate the split decoder (same length twice)")
        for name in self.decoder_inputs:
            if name == "style":
                continue
            l1, l2 = a[name].shape[-1], b[name].shape[-1]
            rate = (l2 - l1) // (t2 - t1)
            self.rates[name] = (rate, l1 - rate * t1)
            if rate * t2 + self.rates[name][1] != l2:
                raise RuntimeError(f"decoder input {name} is not linear in frames")
        return self

    def _frames(self, tensors: dict[str, np.ndarray]) -> int:
        return next(tensors[n].shape[-1] for n in self.boundary if tensors[n].ndim == 3)

    def acoustic(self, feeds: dict[str, np.ndarray]) -> Features:
        tensors = dict(zip(self.outputs, self.acoustic_session.run(self.outputs, feeds),
                           strict=True))
        frames = self._frames(tensors)
        curves = sorted(
            (n for n in self.boundary if tensors[n].ndim == 2
             and tensors[n].shape[-1] == 2 * frames),
            key=lambda n: float(tensors[n].max()),  # energy peaks near 10, F0 in the hundreds
        )
        if len(curves) != 2:
            raise RuntimeError(f"unexpected decoder inputs {[a.shape for a in tensors.values()]}")
        energy, f0 = (tensors[n][0].reshape(frames, 2).mean(axis=1) for n in curves)
        tensors["style"] = feeds["style"]
        return Features(tensors, frames, f0, energy)

    def decode(self, features: Features, start: int = 0, end: int | None = None) -> np.ndarray:
        """Audio for frames [start, end); the whole segment equals the unsplit model exactly."""
        end = features.frames if end is None else end
        feeds = {}
        for name in self.decoder_inputs:
            array = features.tensors[name]
            if name == "style":
                feeds[name] = array
                continue
            rate, extra = self.rates[name]
            feeds[name] = np.ascontiguousarray(array[..., rate * start : rate * end + extra])
        began = time.perf_counter()
        audio = self.decoder_session.run(None, feeds)[0]
        self.speed.record(end - start, time.perf_counter() - began)
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def _dummy(arg: object, n: int) -> np.ndarray:
    """Calibration feeds: n tokens, a neutral style, speed 1."""
    if arg.name in ("tokens", "input_ids"):
        return np.array([[0, *([50, 83, 156, 43] * n)[:n], 0]], dtype=np.int64)
    if arg.name == "style":
        return np.zeros((1, 256), dtype=np.float32)
    dtype = np.int32 if "int32" in arg.type else np.float32
    return np.ones(1, dtype=dtype)


def plan_head(features: Features, speed: DecodeSpeed, ahead: float,
              options: HeadOptions) -> int | None:
    """The seam frame of a head that keeps the listener fed while the whole segment decodes,
    or None to decode it whole: when that fits in the `ahead` seconds already buffered, or
    when the head would be so long that more of the segment would differ from the full
    model than `max_share` allows (a slow or busy CPU: then first audio waits instead)."""
    frames, per_frame = features.frames, SAMPLES_PER_FRAME / pcm.SAMPLE_RATE
    whole = options.safety * speed.predict(frames) + options.slack
    if ahead >= whole:
        return None
    if ahead <= 0:  # nothing is playing: the head's decode delays first audio, drains nothing
        head = whole / per_frame
    else:  # each heard head frame buys 25 ms but first costs its own decode
        gain = per_frame - options.safety * speed.seconds_per_frame
        cost = whole + options.safety * speed.seconds_per_frame * options.context - ahead
        if gain <= 0:
            return None  # the decoder is slower than real time: a head cannot help
        head = cost / gain
    head_frames = max(options.min_frames, int(np.ceil(head)))
    energy, floor = features.energy, float(features.energy.min())
    loud = np.flatnonzero(energy > floor + 0.25 * (float(energy.max()) - floor))
    first, last = (int(loud[0]), int(loud[-1])) if loud.size else (0, frames)
    planned = first + head_frames
    if (head_frames > options.max_share * (last - first)
            or planned + options.seam_search + options.context >= frames):
        return None
    padded = np.pad(energy, 1, mode="edge")  # quiet = low over three frames (a word gap)
    smooth = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:])
    quiet = smooth + np.where(features.f0 < 40, 0.0, options.voiced_penalty)
    window = quiet[planned : planned + options.seam_search + 1]
    return planned + int(np.argmin(window))


def segment_steps(split: SplitModel, features: Features, ahead: Callable[[], float] | None,
                  options: HeadOptions,
                  check: Callable[[np.ndarray], np.ndarray] = lambda audio: audio,
                  ) -> Generator[Job | np.ndarray, Any, None]:
    """Yields decoder Jobs (results sent back) and the trimmed audio: the whole segment in
    one piece (the full model's exact output), or a head first and then the exact rest.
    `ahead` says how many seconds the listener has buffered; None = not streaming."""
    seam = None if ahead is None else plan_head(features, split.speed, ahead(), options)
    if seam is None:
        yield pcm.trim(check((yield Job(split.decode, (features,)))))
        return
    _LOGGER.debug("Head of %d/%d frames (decoder %.1f ms/frame)", seam, features.frames,
                  1000 * split.speed.seconds_per_frame)
    head = check((yield Job(split.decode, (features, 0, seam + options.context))))
    bounds = pcm.speech_bounds(head[: seam * SAMPLES_PER_FRAME])
    start = max(0, bounds[0] - round(0.03 * pcm.SAMPLE_RATE)) if bounds else 0
    at, half = seam * SAMPLES_PER_FRAME, options.crossfade // 2
    yield pcm.fade(head[start : at - half].copy(), fade_in=start > 0, fade_out=False)
    whole = check((yield Job(split.decode, (features,))))
    end_bounds = pcm.speech_bounds(whole)
    end = min(len(whole), end_bounds[1] + round(0.06 * pcm.SAMPLE_RATE)) if end_bounds else at
    ramp = np.linspace(0.0, 1.0, 2 * half, dtype=np.float32)
    join = head[at - half : at + half] * (1.0 - ramp) + whole[at - half : at + half] * ramp
    rest = np.concatenate([join, whole[at + half : max(at + half, end)]])
    yield pcm.fade(rest, fade_in=False, fade_out=end < len(whole))
