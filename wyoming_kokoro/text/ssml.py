"""SSML → Markup (sentences of spans and pauses); malformed SSML → its text, with a warning.

Supported: <speak> <p> <s> <break time|strength> <prosody rate> <say-as interpret-as
format> <sub alias> <phoneme alphabet="ipa" ph> <lang xml:lang> <voice name>, and xml:lang
on any element. <emphasis>, <audio> (its fallback text) and unknown elements are read as
their text; <mark>, <desc>, <meta>, <metadata>, <lexicon> are skipped. Prosody pitch and
volume, emphasis levels and <audio> sources are not rendered (Kokoro has no control for them).
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from wyoming_kokoro.languages import resolve_language
from wyoming_kokoro.text.cleanup import bound_words
from wyoming_kokoro.text.punctuation import SENTENCE_END
from wyoming_kokoro.text.sentences import Pause, split_pauses, split_sentences
from wyoming_kokoro.text.spans import Block, Markup, Sentence, Span

_LOGGER = logging.getLogger(__name__)

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_TAG_RE = re.compile(r"<[^>]*>")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # lone halves of a pair: not text, and no
# UTF-8 for the XML parser (plain text drops them as stray symbols too)
_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
BREAK_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.8,
                  "x-strong": 1.2}
PARAGRAPH_PAUSE = 0.4
RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25,
         "x-fast": 1.5}
_SKIPPED = {"mark", "desc", "meta", "metadata", "lexicon", "lookup"}


def is_ssml(text_format: str | None) -> bool:
    return (text_format or "").strip().lower() == "ssml"


def parse_ssml(text: str) -> Markup | str:
    """The document's structure as Markup, or (malformed) its text with the tags stripped."""
    body = _DECLARATION_RE.sub("", _SURROGATE_RE.sub("", text))
    if re.search(r"<!(?:DOCTYPE|ENTITY)", body, re.IGNORECASE):
        return _malformed(text, "DOCTYPE/ENTITY declarations are not accepted")
    wrapped = body if body.lstrip().startswith("<speak") else f"<speak>{body}</speak>"
    try:
        root = ET.fromstring(wrapped)
    except ET.ParseError as err:
        return _malformed(text, str(err))
    builder = _Builder()
    builder.element(root, _Context())
    builder.flush()
    blocks = builder.blocks
    while blocks and isinstance(blocks[-1], Pause) and blocks[-1].seconds == PARAGRAPH_PAUSE:
        blocks.pop()
    plain = " ".join(b.text for b in blocks if isinstance(b, Sentence))
    return Markup(plain, blocks)


def strip_tags(text: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub(" ", text)).split())


def _malformed(text: str, reason: str) -> str:
    _LOGGER.warning("Malformed SSML (%s); speaking it as plain text without the tags", reason)
    return strip_tags(text)


def parse_rate(value: str) -> float | None:
    """x-slow…x-fast, '80%', '+20%', '-10%', '1.5' → a speed factor in [0.5, 2]."""
    value = value.strip().lower()
    if value in RATES:
        factor = RATES[value]
    elif m := re.fullmatch(r"([+-])?(\d+(?:\.\d+)?)%", value):
        number = float(m.group(2)) / 100
        factor = 1 + number if m.group(1) == "+" else (1 - number if m.group(1) else number)
    elif re.fullmatch(r"\d+(?:\.\d+)?", value):
        factor = float(value)
    else:
        return None
    return min(2.0, max(0.5, factor))


def parse_break(attrib: dict[str, str]) -> float:
    """<break time="500ms|1.5s"> or strength; a bare break is a medium one."""
    if time := attrib.get("time"):
        if m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", time.lower()):
            value = float(m.group(1))
            return value if m.group(2) == "s" else value / 1000
        _LOGGER.warning("SSML <break time=%r> not understood; using a medium break", time)
    return BREAK_STRENGTH.get(attrib.get("strength", "medium").lower(), 0.5)


@dataclass(frozen=True)
class _Context:
    language: str | None = None
    voice: str | None = None
    rate: float = 1.0

    def span(self, **kwargs: object) -> Span:
        return Span(language=self.language, voice=self.voice, rate=self.rate, **kwargs)


class _Builder:
    """Walks the tree; inline spans gather into a run that `flush` cuts into sentences."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.run: list[Span] = []

    def flush(self) -> None:
        self.blocks.extend(sentences_of(self.run))
        self.run = []

    def pause(self, seconds: float) -> None:
        self.flush()
        if seconds > 0:
            self.blocks.append(Pause(seconds))

    def text(self, text: str | None, ctx: _Context) -> None:
        if not text:
            return
        span = ctx.span(text=text)
        last = self.run[-1] if self.run else None
        if last is not None and last.phonemes is None and last.say_as is None and \
                (last.language, last.voice, last.rate) == (span.language, span.voice, span.rate):
            self.run[-1] = replace(last, text=last.text + text)  # one text for normalising
        else:
            self.run.append(span)

    def element(self, el: ET.Element, ctx: _Context) -> None:
        tag = el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""
        if lang := el.get(_XML_LANG) or (el.get("language") if tag == "voice" else None):
            code = resolve_language(lang)
            if code is None:
                _LOGGER.warning("SSML: unknown language %r; keeping the current one", lang)
            else:
                ctx = replace(ctx, language=code)
        if tag in _SKIPPED:
            return
        if tag == "break":
            self.pause(parse_break(el.attrib))
        elif tag in ("p", "s", "speak"):
            self.flush()
            if tag == "p" and self.blocks and not isinstance(self.blocks[-1], Pause):
                self.blocks.append(Pause(PARAGRAPH_PAUSE))
            self.children(el, ctx)
            self.flush()
        elif tag == "say-as":
            content = "".join(el.itertext()).strip()
            if content:
                self.run.append(ctx.span(text=content, say_as=el.get("interpret-as", ""),
                                         say_as_format=el.get("format")))
        elif tag == "sub":
            alias = el.get("alias")
            self.text(alias if alias is not None else "".join(el.itertext()), ctx)
        elif tag == "phoneme":
            content = "".join(el.itertext()).strip()
            ph, alphabet = el.get("ph"), (el.get("alphabet") or "ipa").lower()
            if ph and alphabet in ("ipa", "x-kokoro", "x-misaki"):
                self.run.append(ctx.span(text=content or ph, phonemes=ph))
            else:
                _LOGGER.warning("SSML <phoneme alphabet=%r>: only ipa is supported; reading "
                                "the text", alphabet)
                self.text(content, ctx)
        else:
            if tag == "prosody" and (rate := el.get("rate")):
                factor = parse_rate(rate)
                if factor is None:
                    _LOGGER.warning("SSML <prosody rate=%r> not understood", rate)
                else:
                    ctx = replace(ctx, rate=round(ctx.rate * factor, 3))
            elif tag == "voice" and (name := el.get("name")):
                ctx = replace(ctx, voice=name)
            self.children(el, ctx)
        # the text after an element belongs to its parent's context, handled by children()

    def children(self, el: ET.Element, ctx: _Context) -> None:
        self.text(el.text, ctx)
        for child in el:
            self.element(child, ctx)
            self.text(child.tail, ctx)


def sentences_of(spans: list[Span]) -> list[Block]:
    """Cut a run of inline spans into sentences at the sentence ends inside their text;
    spans without text to split (phonemes, say-as) stay in the sentence they fall in.
    Pause tags (and list pauses from markdown in the text) become pauses."""
    blocks: list[Block] = []
    current: list[Span] = []

    def close() -> None:
        if any(s.phonemes or s.text.strip() for s in current):
            blocks.append(Sentence(tuple(current)))
        current.clear()

    for span in spans:
        if span.phonemes is not None or span.say_as is not None:
            current.append(span)
            continue
        pieces = split_sentences(bound_words(" ".join(span.text.split())))
        for i, piece in enumerate(pieces):
            if i:
                close()
            for part in split_pauses(piece):
                if isinstance(part, Pause):
                    close()
                    blocks.append(part)
                else:
                    current.append(replace(span, text=part))
        if pieces and pieces[-1][-1] in SENTENCE_END:
            close()
    close()
    return blocks
