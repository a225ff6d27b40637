"""Float waveform → trimmed, faded, int16 PCM in chunks (24 kHz, 16-bit, mono)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

SAMPLE_RATE = 24000
SAMPLE_WIDTH = 2
CHANNELS = 1
_FRAME = 240  # 10 ms analysis frames for silence trimming
FADE_SAMPLES = 96  # 4 ms: long enough to hide a cut, short enough not to dull onsets


def silence(seconds: float) -> np.ndarray:
    return np.zeros(max(0, round(seconds * SAMPLE_RATE)), dtype=np.float32)


def speech_bounds(audio: np.ndarray, floor_db: float = -42.0) -> tuple[int, int] | None:
    """First and last sample of the region louder than `floor_db` below the loudest 10 ms."""
    frames = len(audio) // _FRAME
    if frames == 0:
        return None
    energy = np.sqrt(np.mean(audio[: frames * _FRAME].reshape(frames, _FRAME) ** 2, axis=1))
    peak = float(energy.max())
    if peak < 1e-4:
        return None
    loud = np.flatnonzero(energy >= max(peak * 10 ** (floor_db / 20), 1e-4))
    return int(loud[0]) * _FRAME, min(len(audio), (int(loud[-1]) + 1) * _FRAME)


def trim(audio: np.ndarray, pad_start: float = 0.03, pad_end: float = 0.06) -> np.ndarray:
    """Drop the model's start/end pad silence, keep a small natural margin, fade the cut edges."""
    bounds = speech_bounds(audio)
    if bounds is None:
        return audio[:0]
    start = max(0, bounds[0] - round(pad_start * SAMPLE_RATE))
    end = min(len(audio), bounds[1] + round(pad_end * SAMPLE_RATE))
    return fade(audio[start:end].copy(), fade_in=start > 0, fade_out=end < len(audio))


def fade(audio: np.ndarray, fade_in: bool = True, fade_out: bool = True,
         samples: int = FADE_SAMPLES) -> np.ndarray:
    """Linear ramps at cut edges so joins never click (in place; returns the array)."""
    n = min(samples, len(audio) // 2)
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
        if fade_in:
            audio[:n] *= ramp
        if fade_out:
            audio[-n:] *= ramp[::-1]
    return audio


def to_pcm16(audio: np.ndarray, volume: float = 1.0) -> bytes:
    """float [-1, 1] → little-endian int16 with clipping."""
    scaled = audio * (32767.0 * volume) if volume != 1.0 else audio * 32767.0
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


def chunks(pcm: bytes, samples_per_chunk: int) -> Iterator[bytes]:
    step = max(1, samples_per_chunk) * SAMPLE_WIDTH * CHANNELS
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]
