"""The front end as the engine uses it: text or Markup → blocks → one plan per model call.

`read` gives the structure (sentences of raw spans, pauses); `plan` resolves each span's
language and voice, cleans, applies the lexicon, normalises, and groups the spans of one
sentence by (voice, rate): everything in a group is joined into ONE phoneme string, so an
override or a language switch inside a sentence never splits it. Only a voice or rate
change does, since a model call has one style vector and one speed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from wyoming_kokoro.text.cleanup import EmojiMode, bound_words, clean_inline
from wyoming_kokoro.text.ipa import ipa_to_kokoro
from wyoming_kokoro.text.lexicon import Lexicon, split_overrides
from wyoming_kokoro.text.normalize import normalize
from wyoming_kokoro.text.say_as import say_as
from wyoming_kokoro.text.sentences import (
    Pause,
    cleanup,
    is_speakable,
    split_pauses,
    split_sentences,
)
from wyoming_kokoro.text.spans import Block, Markup, Sentence, Span
from wyoming_kokoro.voices import Voice, VoiceError, VoiceLibrary

_LOGGER = logging.getLogger(__name__)


@dataclass
class FrontendOptions:
    """Server-wide text options (settings → loader → engine)."""

    emoji: EmojiMode = EmojiMode.DROP
    lexicon_dir: Path | None = None


@dataclass(frozen=True)
class Utterance:
    """One model call's worth of a sentence: its voice and rate, and the spans (language
    resolved, text normalised, phonemes in Kokoro symbols) whose phonemes are joined."""

    voice: Voice
    rate: float
    spans: tuple[Span, ...]


@dataclass
class FrontEnd:
    options: FrontendOptions = field(default_factory=FrontendOptions)

    def __post_init__(self) -> None:
        self.lexicon = Lexicon(self.options.lexicon_dir)
        self._warned: set[str] = set()

    # -- structure -------------------------------------------------------------------------
    def read(self, text: str, max_pause: float = 10.0) -> list[Block]:
        """Plain text (markdown, pause tags, `[word](/…/)`) or SSML Markup → blocks."""
        if isinstance(text, Markup):
            return list(text.blocks)
        blocks: list[Block] = []
        for sentence in split_sentences(bound_words(cleanup(text))):
            spans: list[Span] = []
            for part in split_pauses(sentence, max_pause):
                if isinstance(part, Pause):
                    if spans:
                        blocks.append(Sentence(tuple(spans)))
                        spans = []
                    blocks.append(part)
                else:
                    spans.extend(split_overrides(part))
            if spans:
                blocks.append(Sentence(tuple(spans)))
        return blocks

    # -- one sentence → model calls --------------------------------------------------------
    def plan(self, sentence: Sentence, voice: Voice, language: str, voices: VoiceLibrary,
             available: Callable[[str], bool]) -> list[Utterance]:
        """Who says what, in which language, at which rate; spans ready to phonemize."""
        resolved: list[tuple[Voice, Span]] = []
        for span in sentence.spans:
            span_voice = self._voice(span.voice, voices) if span.voice else None
            lang = span.language or (span_voice.language if span_voice else language)
            if not available(lang):
                self._warn(f"lang-{lang}", "No G2P for language %s; reading it as %s", lang,
                           language)
                lang = language
            resolved.append((span_voice or voice, replace(span, language=lang)))
        switched = {s.language for _, s in resolved}
        if (len(switched) == 1 and not any(s.voice for s in sentence.spans)
                and all(s.language for s in sentence.spans)
                and (lang := switched.pop()) != voice.language):
            # a whole sentence in another language (<lang>) gets a voice of that language
            native = voices.for_language(lang) or voice
            resolved = [(native, s) for _, s in resolved]
        utterances: list[Utterance] = []
        for span_voice, span in resolved:
            ready = tuple(self._prepare(span))
            if not ready:
                continue
            last = utterances[-1] if utterances else None
            if last and last.voice.name == span_voice.name and last.rate == span.rate:
                utterances[-1] = replace(last, spans=last.spans + ready)
            else:
                utterances.append(Utterance(span_voice, span.rate, ready))
        # a call of only punctuation or dropped emoji would render noise, not speech
        return [u for u in utterances
                if any(s.phonemes or is_speakable(s.text) for s in u.spans)]

    def _prepare(self, span: Span) -> list[Span]:
        """Cleanup → lexicon → normalisation for text; IPA → Kokoro symbols for phonemes."""
        lang = span.language or "a"
        if span.normalized:
            return [span]
        if span.phonemes is not None:
            return [replace(span, phonemes=ipa_to_kokoro(span.phonemes, lang), normalized=True)]
        if span.say_as:
            text = say_as(span.text, span.say_as, span.say_as_format, lang)
            return [replace(span, text=text, normalized=True)]
        text = clean_inline(span.text, lang, self.options.emoji)
        out = []
        for piece in self.lexicon.apply(text, lang):
            if piece.phonemes is not None:
                out.append(replace(span, text=piece.text, normalized=True,
                                   phonemes=ipa_to_kokoro(piece.phonemes, lang)))
            elif words := normalize(piece.text, lang):
                out.append(replace(span, text=words, normalized=True))
        return out

    def _voice(self, name: str, voices: VoiceLibrary) -> Voice | None:
        if name in voices.voices:
            return voices.voices[name]
        try:
            return voices.build(name)
        except VoiceError as err:
            self._warn(f"voice-{name}", "SSML voice %r: %s; keeping the current voice", name, err)
            return None

    def _warn(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _LOGGER.warning(message, *args)
