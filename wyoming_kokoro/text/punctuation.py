"""Punctuation the text and phoneme layers agree on: what ends a sentence, what ends a
clause, and the space that joining spans leaves before punctuation ("hi , there")."""

from __future__ import annotations

import re

SENTENCE_END = ".!?…。！？"
CLAUSE_END = ",;:—、，；："
_SPACE_BEFORE_PUNCTUATION_RE = re.compile(r" (?=[,.!?;:…。、！？])")


def join_punctuation(text: str) -> str:
    """Drop the space before punctuation that joining words or phonemes with spaces left."""
    return _SPACE_BEFORE_PUNCTUATION_RE.sub("", text)
