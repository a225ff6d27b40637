"""How far one rendering of a sentence is from another: log-spectral distance on loud frames,
DTW-aligned because a rounding may move a phoneme boundary by a frame (precision parity)."""

from __future__ import annotations

import numpy as np


def _magnitudes(x: np.ndarray) -> np.ndarray:
    """Magnitude spectra, 1024-point Hann frames, hop 300: half a model frame (600 samples),
    so audio that a changed duration shifts by whole frames aligns exactly."""
    x = np.pad(np.asarray(x, np.float64), (0, max(0, 1024 - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::300]
    return np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1))


def _dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """Cheapest monotonic alignment of two frame sequences (steps (1,0), (0,1), (1,1))."""
    n, m = cost.shape
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, n + 1):
        row = cost[i - 1]
        diagonal_or_up = np.minimum(total[i - 1, :-1], total[i - 1, 1:])
        for j in range(1, m + 1):
            total[i, j] = row[j - 1] + min(diagonal_or_up[j - 1], total[i, j - 1])
    i, j, path = n, m, []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        step = int(np.argmin((total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])))
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return path[::-1]


def log_spectral_distance(reference: np.ndarray, audio: np.ndarray, floor_db: float = 40.0
                          ) -> float:
    """p95 over loud reference frames (within floor_db of the loudest) of the RMS dB
    difference of magnitude spectra floored 60 dB below the reference's peak (as the
    streaming decoder's parity checks do), frames aligned by DTW: another precision may
    round a phoneme's duration the other way, shifting what follows by a frame."""
    ref_mag, out_mag = _magnitudes(reference), _magnitudes(audio)
    floor = 1e-3 * max(float(ref_mag.max()), 1e-9)
    ref = 20 * np.log10(np.maximum(ref_mag, floor))
    out = 20 * np.log10(np.maximum(out_mag, floor))
    squares = (np.sum(ref**2, axis=1)[:, None] + np.sum(out**2, axis=1)[None, :]
               - 2 * ref @ out.T)
    distance = np.sqrt(np.maximum(squares, 0) / ref.shape[1])
    energy = 10 * np.log10(np.maximum(np.mean(10 ** (ref / 10), axis=1), 1e-12))
    loud = energy > energy.max() - floor_db
    aligned = [distance[i, j] for i, j in _dtw_path(distance) if loud[i]]
    return float(np.percentile(aligned, 95))
