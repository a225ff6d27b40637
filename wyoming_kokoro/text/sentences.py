"""Text → spoken parts: cleanup, pause tags, sentences, and phoneme segments that fit the model."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import regex  # sentence-stream's dependency: Unicode properties (\p{M}) in patterns
from sentence_stream import SentenceBoundaryDetector

from wyoming_kokoro.text.markdown import MarkdownLines
from wyoming_kokoro.text.punctuation import SENTENCE_END

# The number is `\d+(\.\d+)?|\.\d+`, not `\d*\.?\d+`: that one backtracks quadratically on a
# long run of digits ("[pause:" + 50,000 digits held a worker for minutes).
PAUSE_RE = re.compile(r"\[\s*pause\s*:\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(ms|s)?\s*\]",
                      re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
# More than 3 combining marks on one letter is "zalgo" text, never language: the G2Ps take
# super-linear time over such runs (one letter with 6,000 accents: a minute in misaki).
_MARK_RUN_RE = regex.compile(r"(\p{M}{3})\p{M}+")
_EAGER_END_RE = re.compile(rf"[{re.escape(SENTENCE_END)}]['\"”’)\]]*\s+$")
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
    text = _MARK_RUN_RE.sub(r"\1", text)
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


MAX_PENDING = 600  # characters a sentence may run before it is spoken anyway
_SLICE = 256


class SentenceStreamer:
    """sentence-stream's detector, plus: a sentence whose end punctuation and a space have
    arrived is released at once instead of waiting for the next sentence's first letter;
    block-level markdown (list markers, headings, code fences) is resolved first, so that
    "1. " never reads as a sentence end and each list item is a sentence of its own."""

    def __init__(self) -> None:
        self._detector = SentenceBoundaryDetector()
        self._markdown = MarkdownLines()

    def add(self, chunk: str) -> list[str]:
        sentences: list[str] = []
        # sentence-stream rescans its whole buffer per chunk: feed it bounded slices and never
        # let its buffer grow past MAX_PENDING, so hostile or unpunctuated text stays linear.
        for start in range(0, len(chunk), _SLICE):
            sentences += self._detector.add_chunk(self._markdown.add(chunk[start:start + _SLICE]))
            pending = self._detector.current_sentence + self._detector.remaining_text
            tail = pending[-64:]  # only the end can hold a finished sentence
            if _EAGER_END_RE.search(tail) and not _ABBREVIATION_RE.search(tail):
                if rest := self._detector.finish():
                    sentences.append(rest)
            elif len(pending) > MAX_PENDING:
                sentences += self._cut_long(self._detector.finish())
        return [s for s in (s.strip() for s in sentences) if s]

    def _cut_long(self, pending: str) -> list[str]:
        """A run-on 'sentence': speak up to its last word gap, keep the rest buffered."""
        cut = pending.rfind(" ", 0, MAX_PENDING)
        cut = cut if cut > 0 else MAX_PENDING
        self._detector.add_chunk(pending[cut:])
        return [pending[:cut]]

    def finish(self) -> list[str]:
        sentences = list(self._detector.add_chunk(self._markdown.finish()))
        tail = self._detector.finish().strip()
        return [s for s in (s.strip() for s in [*sentences, tail]) if s]


def is_speakable(text: str) -> bool:
    """True when text holds at least one letter, digit or CJK character."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)
