"""Objective audio checks for the streaming decoder: spectral flux, spectral distance, jumps."""

from __future__ import annotations

import numpy as np

N_FFT, HOP = 512, 128


def log_spectrogram(audio: np.ndarray) -> np.ndarray:
    """Log-magnitude STFT frames, floored 60 dB below the peak so silence is not noise."""
    window = np.hanning(N_FFT).astype(np.float32)
    starts = range(0, max(1, len(audio) - N_FFT), HOP)
    frames = np.stack([audio[s : s + N_FFT] * window for s in starts])
    magnitude = np.abs(np.fft.rfft(frames, axis=1))
    return np.log(np.maximum(magnitude, 1e-3 * magnitude.max()))


def spectral_flux(audio: np.ndarray) -> np.ndarray:
    spec = log_spectrogram(audio)
    return np.sqrt(np.mean(np.diff(spec, axis=0) ** 2, axis=1))


def seam_report(chunked: np.ndarray, whole: np.ndarray, seams: list[int]) -> dict[str, float]:
    """Worst seam vs the same audio elsewhere; seams are sample positions in `chunked`."""
    flux = spectral_flux(chunked)
    seam_frames = [s // HOP for s in seams]
    near = {j for s in seam_frames for j in range(s - 4, s + 4)}
    elsewhere = np.array([f for j, f in enumerate(flux) if j not in near])
    a, b = log_spectrogram(chunked), log_spectrogram(whole)
    n = min(len(a), len(b))
    distance = np.sqrt(np.mean((a[:n] - b[:n]) ** 2, axis=1))
    seam_distance = [float(distance[max(0, s - 8) : s + 8].mean()) for s in seam_frames]
    jumps = np.abs(np.diff(chunked))
    seam_jump = max(float(jumps[max(0, s - 2) : s + 2].max()) for s in seams)
    return {
        "seam_flux": max(float(flux[max(0, s - 4) : s + 4].max()) for s in seam_frames),
        "flux_p99": float(np.percentile(elsewhere, 99)),
        "seam_distance": max(seam_distance),
        "distance_median": float(np.median(distance[: n])),
        "seam_jump": seam_jump,
        "jump_p999": float(np.percentile(jumps, 99.9)),
    }
