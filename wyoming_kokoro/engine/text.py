"""Text → spoken parts: cleanup, pause tags, sentences, and phoneme segments that fit the model."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from sentence_stream import SentenceBoundaryDetector

PAUSE_RE = re.compile(r"\[\s*pause\s*:\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*\]", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_SENTENCE_END = ".!?…。！？"
_CLAUSE_END = ",;:—、，；："
_EAGER_END_RE = re.compile(r"[.!?…。！？]['\"”’)\]]*\s+$")
_ABBREVIATION_RE = re.compile(
    r"(?:\b(?:[A-Z][a-z]{0,2}|[a-z]\.[a-z]|e\.g|i\.e|etc|vs|approx|No|Nr|St)\.|\b\d+\.)\s+$"
)


@dataclass(frozen=True)
class Pause:
    seconds: float


def cleanup(text: str) -> str:
    """Drop what no G2P should see: invalid surrogates, control characters, odd spacing."""
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub(" ", text)
    lines = [_SPACE_RE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def split_pauses(text: str, max_pause: float = 10.0) -> list[str | Pause]:
    """`[pause:1.5s]` / `[pause:300ms]` → exact silence, clamped to `max_pause` seconds."""
    parts: list[str | Pause] = []
    last = 0
    for match in PAUSE_RE.finditer(text):
        if chunk := text[last : match.start()].strip():
            parts.append(chunk)
        value = float(match.group(1)) / (1000.0 if (match.group(2) or "").lower() == "ms" else 1)
        if value > 0:
            parts.append(Pause(min(value, max_pause)))
        last = match.end()
    if chunk := text[last:].strip():
        parts.append(chunk)
    return parts


def split_sentences(text: str) -> list[str]:
    """Sentences by sentence-stream's rules (Latin, CJK 。！？, Devanagari, blank lines)."""
    streamer = SentenceStreamer()
    return [*streamer.add(text), *streamer.finish()]


class SentenceStreamer:
    """sentence-stream's detector, plus: a sentence whose end punctuation and a space have
    arrived is released at once instead of waiting for the next sentence's first letter."""

    def __init__(self) -> None:
        self._detector = SentenceBoundaryDetector()

    def add(self, chunk: str) -> list[str]:
        sentences = list(self._detector.add_chunk(chunk))
        pending = self._detector.current_sentence + self._detector.remaining_text
        if _EAGER_END_RE.search(pending) and not _ABBREVIATION_RE.search(pending):
            if tail := self._detector.finish():
                sentences.append(tail)
        return [s for s in (s.strip() for s in sentences) if s]

    def finish(self) -> list[str]:
        tail = self._detector.finish().strip()
        return [tail] if tail else []


def split_phonemes(phonemes: str, capacity: int) -> list[str]:
    """Cut a phoneme string into pieces of at most `capacity` symbols, evenly, preferring
    sentence ends, then clause punctuation, then word gaps; a hard cut only inside one
    over-long word. Symbols must already be vocab-clean (one symbol = one token)."""
    phonemes = phonemes.strip()
    if len(phonemes) <= capacity:
        return [phonemes] if phonemes else []
    pieces = math.ceil(len(phonemes) / capacity)
    target = len(phonemes) / pieces
    lowest = max(1, len(phonemes) - (pieces - 1) * capacity)
    best = _best_cut(phonemes, range(lowest, capacity + 1), target, capacity)
    if best is None:  # even pieces impossible at word gaps: accept one more piece
        best = _best_cut(phonemes, range(1, capacity + 1), target, capacity)
    cut = best if best is not None else capacity  # one word longer than the bucket
    head, rest = phonemes[:cut].strip(), phonemes[cut:]
    return ([head] if head else []) + split_phonemes(rest, capacity)


def _best_cut(phonemes: str, cuts: range, target: float, capacity: int) -> int | None:
    """The cut (at a word gap) nearest the target, favouring sentence then clause ends."""
    best: tuple[float, int] | None = None
    for cut in cuts:
        before, after = phonemes[cut - 1], phonemes[cut] if cut < len(phonemes) else " "
        if after != " " and before != " ":
            continue
        if before in _SENTENCE_END:
            penalty = 0.0
        elif before in _CLAUSE_END:
            penalty = 0.15 * capacity
        else:
            penalty = 0.35 * capacity
        score = abs(cut - target) + penalty
        if best is None or score < best[0]:
            best = (score, cut)
    return best[1] if best else None


def is_speakable(text: str) -> bool:
    """True when text holds at least one letter, digit or CJK character."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)
