"""How far sent audio is from the full model's own: aligned, then log-spectral distance on
loud frames (overall and around the head's seam), loudness, and the share of identical
samples. The parity report (bench/parity.py) and the streaming-decoder tests use it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wyoming_kokoro import audio as pcm
from wyoming_kokoro.model.streaming_decoder import SAMPLES_PER_FRAME

N_FFT, HOP = 512, 128
SEAM_HALF_WIDTH = 2 * SAMPLES_PER_FRAME  # ±2 decoder frames around a seam


@dataclass
class Comparison:
    lsd_db: float | None  # mean over loud frames
    seam_lsd_db: float | None  # loud frames within ±2 decoder frames of the seam
    loudness_db: float  # level of the sent audio minus the full model's, loud region
    identical_share: float  # samples equal to the full model's (after alignment)
    seam_s: float | None  # where the sent audio becomes the full model's own
    shift: int = 0  # samples the sent audio was shifted by to align it
    heard: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    units: int = 0


def align(sent: np.ndarray, reference: np.ndarray, search: int = 8, step: int = 240
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Both cut to their overlap after the shift (a multiple of the trimmer's 10 ms frame)
    that correlates best: the two trims may keep a different amount of lead silence."""
    best, best_shift = -np.inf, 0
    for k in range(-search, search + 1):
        shift = k * step
        a, b = (sent[shift:], reference) if shift >= 0 else (sent, reference[-shift:])
        n = min(len(a), len(b))
        score = float(np.dot(a[:n], b[:n])) if n else -np.inf
        if score > best:
            best, best_shift = score, shift
    shift = best_shift
    a, b = (sent[shift:], reference) if shift >= 0 else (sent, reference[-shift:])
    n = min(len(a), len(b))
    return a[:n], b[:n], shift


def _spectrum_db(audio: np.ndarray, floor: float) -> np.ndarray:
    window = np.hanning(N_FFT)
    starts = range(0, max(1, len(audio) - N_FFT), HOP)
    frames = np.stack([np.pad(audio[s : s + N_FFT], (0, max(0, N_FFT - len(audio[s:])))) * window
                       for s in starts])
    return 20 * np.log10(np.maximum(np.abs(np.fft.rfft(frames, axis=1)), floor))


def frame_distance(sent: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-STFT-frame log-spectral distance (dB) and which frames are loud (within 30 dB of
    the loudest reference frame); magnitudes floored 60 dB below the reference's peak."""
    peak = float(np.abs(np.fft.rfft(reference[: N_FFT * (len(reference) // N_FFT)]
                                     .reshape(-1, N_FFT) * np.hanning(N_FFT), axis=1)).max()
                 ) if len(reference) >= N_FFT else 1.0
    floor = max(peak, 1e-6) * 1e-3
    a, b = _spectrum_db(sent, floor), _spectrum_db(reference, floor)
    energy = 10 * np.log10(np.sum(10 ** (b / 10), axis=1) + 1e-20)
    loud = energy > energy.max() - 30
    return np.sqrt(np.mean((a - b) ** 2, axis=1)), loud


def seam_of(sent: np.ndarray, reference: np.ndarray, tolerance: float = 2.5 / 32768
            ) -> int | None:
    """First sample from which the sent audio is the full model's own to the end (None: it
    never differs; 0: it is identical throughout is reported as None too)."""
    differs = np.flatnonzero(np.abs(sent - reference) > tolerance)
    if differs.size == 0:
        return None
    return int(differs[-1]) + 1


def compare(sent: np.ndarray, reference: np.ndarray) -> Comparison:
    a, b, shift = align(sent, reference)
    if len(b) < N_FFT:
        return Comparison(None, None, 0.0, 1.0 if np.array_equal(a, b) else 0.0, None, shift)
    distance, loud = frame_distance(a, b)
    seam = seam_of(a, b)
    seam_lsd = None
    if seam is not None and seam < len(a) - 1:
        centres = np.arange(len(distance)) * HOP + N_FFT // 2
        near = (np.abs(centres - seam) <= SEAM_HALF_WIDTH) & loud
        seam_lsd = float(distance[near].mean()) if near.any() else None
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-9)  # noqa: E731
    return Comparison(
        lsd_db=float(distance[loud].mean()) if loud.any() else 0.0,
        seam_lsd_db=seam_lsd,
        loudness_db=float(level(a) - level(b)),
        identical_share=float(np.mean(np.abs(a - b) <= 2.5 / 32768)),
        seam_s=None if seam is None or seam >= len(a) - 1 else seam / pcm.SAMPLE_RATE,
        shift=shift,
    )
