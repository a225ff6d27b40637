"""Phoneme strings: spans joined into one model call's string, and cut to a model's capacity."""

from __future__ import annotations

import math
import re

from wyoming_kokoro.text.punctuation import CLAUSE_END, SENTENCE_END, join_punctuation
from wyoming_kokoro.text.spans import Span


def misaki_text(spans: tuple[Span, ...] | list[Span]) -> str:
    """English spans as one misaki input: phoneme spans become `[label](/phonemes/)` links,
    so misaki keeps the sentence's context (stress, 'the' before vowels) around them."""
    parts = []
    for span in spans:
        if span.phonemes is None:
            parts.append(span.text.replace("[", "(").replace("]", ")"))
        elif span.phonemes:
            label = re.sub(r"[\[\]()/]", "", span.text).strip() or "x"
            parts.append(f"[{label}](/{re.sub(r'[][()/]', '', span.phonemes)}/)")
    return " ".join(p for p in parts if p)


def join_phonemes(parts: list[str]) -> str:
    """Phoneme strings of consecutive spans → one, without a space before punctuation."""
    text = " ".join(p.strip() for p in parts if p and p.strip())
    return join_punctuation(text)


def split_phonemes(phonemes: str, capacity: int) -> list[str]:
    """Cut a phoneme string into pieces of at most `capacity` symbols, evenly, preferring
    sentence ends, then clause punctuation, then word gaps; a hard cut only inside one
    over-long word. Symbols must already be vocab-clean (one symbol = one token).
    A loop, not recursion: one long run-on sentence needs thousands of cuts."""
    out: list[str] = []
    phonemes = phonemes.strip()
    while len(phonemes) > capacity:
        pieces = math.ceil(len(phonemes) / capacity)
        target = len(phonemes) / pieces
        lowest = max(1, len(phonemes) - (pieces - 1) * capacity)
        best = _best_cut(phonemes, range(lowest, capacity + 1), target, capacity)
        if best is None:  # even pieces impossible at word gaps: accept one more piece
            best = _best_cut(phonemes, range(1, capacity + 1), target, capacity)
        cut = best if best is not None else capacity  # one word longer than the bucket
        head, phonemes = phonemes[:cut].strip(), phonemes[cut:].strip()
        if head:
            out.append(head)
    return [*out, phonemes] if phonemes else out


def _best_cut(phonemes: str, cuts: range, target: float, capacity: int) -> int | None:
    """The cut (at a word gap) nearest the target, favouring sentence then clause ends."""
    best: tuple[float, int] | None = None
    for cut in cuts:
        before, after = phonemes[cut - 1], phonemes[cut] if cut < len(phonemes) else " "
        if after != " " and before != " ":
            continue
        if before in SENTENCE_END:
            penalty = 0.0
        elif before in CLAUSE_END:
            penalty = 0.15 * capacity
        else:
            penalty = 0.35 * capacity
        score = abs(cut - target) + penalty
        if best is None or score < best[0]:
            best = (score, cut)
    return best[1] if best else None
