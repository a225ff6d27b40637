"""The front end's intermediate form: sentences of spans, and pauses between them.

A `Span` is a stretch of one sentence that shares its settings: text to normalise and
phonemize, or phonemes given outright (SSML <phoneme>, `[word](/…/)`, the lexicon); a
language when it differs from the request's (<lang>), a voice (<voice>), a rate (<prosody>).
A `Sentence` is what the engine renders as one model call per (voice, rate) run, phonemes of
all its spans joined, so an override never splits a sentence. `Pause` (from text.sentences) is
exact silence between sentences (<break>, `[pause:…]`, list items, paragraphs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wyoming_kokoro.text.punctuation import join_punctuation
from wyoming_kokoro.text.sentences import Pause

__all__ = ["Block", "Markup", "Pause", "Sentence", "Span"]


@dataclass(frozen=True)
class Span:
    text: str = ""  # words to speak (already normalised once `normalized` is set)
    phonemes: str | None = None  # Kokoro phonemes, spoken as given; `text` is only a label
    language: str | None = None  # Kokoro code, only when switched; None = the request's
    voice: str | None = None  # voice name from <voice>; None = the request's
    rate: float = 1.0  # × the server's speed
    say_as: str | None = None  # SSML interpret-as, normalised by that rule instead
    say_as_format: str | None = None  # SSML say-as format (mdy, dmy, hms24…)
    normalized: bool = False  # cleanup, lexicon and normalisation already applied


@dataclass(frozen=True)
class Sentence:
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        joined = " ".join(s.text.strip() for s in self.spans if s.text.strip())
        return join_punctuation(joined)


Block = Sentence | Pause


class Markup(str):
    """Parsed SSML travelling through code that handles request text as `str`: its string
    value is the plain text it speaks (for length checks, logs and any code that only
    knows strings), `blocks` is the structure the engine renders."""

    blocks: tuple[Block, ...]

    def __new__(cls, plain: str, blocks: Iterable[Block]) -> Markup:
        obj = super().__new__(cls, plain)
        obj.blocks = tuple(blocks)
        return obj
