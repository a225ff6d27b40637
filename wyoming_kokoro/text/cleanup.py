"""Inline LLM noise → plain words: links, URLs, e-mails, code spans, emphasis, emoji,
repeated punctuation and stray symbols. Block structure (lists, headings, fences) was
already handled by `markdown` before the text was cut into sentences.

Choices: a link is read as its text; a bare URL as its site name ("example dot com"),
path dropped; an e-mail address in full ("bob at example dot com"); a code span as its
content with `_` and `.` between words read as a space (entity ids). Emoji are dropped,
or read by their CLDR name in the voice's language (`--emoji name`; languages the emoji
package lacks drop them).
"""

from __future__ import annotations

import html
import re
from enum import StrEnum

from wyoming_kokoro.text.lang import speller


class EmojiMode(StrEnum):
    DROP = "drop"
    NAME = "name"


# Every pattern must stay linear on hostile input (runs of one character, 1 MB of text): a
# match may only start where the previous character could not have started it.
_IMAGE_RE = re.compile(r"!\[([^\[\]]*)\]\([^()]*\)")
_LINK_RE = re.compile(r"\[([^\[\]]+)\]\((?!/[^/()]+/\))[^()]*\)")
_AUTOLINK_RE = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_URL_RE = re.compile(r"(?<![^\s<>\"'(\[])(?:https?://|www\.)[^\s<>\"'()\[\]]*"
                     r"[^\s<>\"'()\[\].,;:!?]")
_EMAIL_RE = re.compile(r"(?<![\w.+-])(?:mailto:)?([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_CODE_RE = re.compile(r"(?<!`)`+([^`]+)`+")
_EMPHASIS_RES = (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"),
                 re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])"),
                 re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])"),
                 re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"))
_HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^<>]*>")
_REPEATS = ((re.compile(r"\.{4,}|…+"), "…"), (re.compile(r",{2,}"), ","),
            (re.compile(r";{2,}"), ";"), (re.compile(r"\s*(?<![-=])(?:-+>|=+>)\s*"), ", "),
            (re.compile(r"(?<=\w)\s*-{2,}\s*(?=\w)|(?<!\d)\s+[-–—]\s+|\s+[–—]\s+(?!\d)"
                        r"|(?<=[^\W\d])—(?=\w)|(?<=\w)—(?=[^\W\d])"), ", "),
            (re.compile(r"-{2,}|={2,}|_{2,}|\*+|#+(?!\d)|~{2,}|\^+|\\+|(?<=\w)_(?=\w)"), " "))
_SPACES_RE = re.compile(r"\s+")
# An unbroken run of letters longer than any real word ("a" * 5000, a pasted hash) would be
# spelled out for minutes: a letter repeated 5+ times is read 3 times ("sooooo" → "sooo";
# "AAAA" batteries stay), and a run longer than MAX_WORD_LETTERS is read up to there.
# Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) are exempt
# from the length rule: their sentences are such runs.
MAX_WORD_LETTERS = 64
_REPEATED_LETTER_RE = re.compile(r"([^\W\d_])\1{4,}")
_UNSPACED = (r"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u303f\u3040-\u30ff"
             r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef")
_LETTER = rf"(?:(?![{_UNSPACED}])[^\W\d_])"
_LONG_WORD_RE = re.compile(rf"(?<![^\W\d_])({_LETTER}{{{MAX_WORD_LETTERS}}}){_LETTER}+")
_STRAY_RE = re.compile(r"[|•·►▶→⇒←⟶❯»«]")


def clean_inline(text: str, language: str, emoji: EmojiMode | str = EmojiMode.DROP) -> str:
    """One sentence of LLM text in `language` (Kokoro code) → what a person would read out."""
    sp = speller(language)
    text = _SPACES_RE.sub(" ", text)  # first: runs of spaces make `\s+` patterns quadratic
    text = _HTML_TAG_RE.sub(" ", html.unescape(text))
    text = _IMAGE_RE.sub(r"\1", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _EMAIL_RE.sub(lambda m: _say_email(m, sp.at, sp.dot), text)
    text = _URL_RE.sub(lambda m: _say_host(m.group(0), sp.dot), text)
    text = _CODE_RE.sub(lambda m: re.sub(r"(?<=\w)[_.](?=\w)|_", " ", m.group(1)), text)
    for pattern in _EMPHASIS_RES:
        text = pattern.sub(lambda m: m.group(m.lastindex or 1), text)
    text = _emoji(text, sp.emoji, EmojiMode(emoji))
    text = re.sub(r"[!?]{2,}", lambda m: "?" if "?" in m.group(0) else "!", text)
    for pattern, replacement in _REPEATS:
        text = pattern.sub(replacement, text)
    text = _SPACES_RE.sub(" ", _STRAY_RE.sub(", ", text))  # the rules above leave space runs
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip(" ,;")


def bound_words(text: str) -> str:
    """Letter runs longer than any real word, shortened (see MAX_WORD_LETTERS). Runs before
    the text is cut into sentences, which cuts a long run into many pieces."""
    return _LONG_WORD_RE.sub(r"\1", _REPEATED_LETTER_RE.sub(r"\1\1\1", text))


def _say_host(url: str, dot: str) -> str:
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url).split("/")[0].split(":")[0]
    return f" {dot} ".join(p for p in host.split(".") if p)


def _say_email(m: re.Match[str], at: str, dot: str) -> str:
    user = f" {dot} ".join(p for p in re.split(r"[.]", m.group(1)) if p)
    return f"{user} {at} {_say_host(m.group(2), dot)}"


def _emoji(text: str, lang: str | None, mode: EmojiMode) -> str:
    """Emoji dropped, or named in `lang` (the emoji package's language code; None: drop)."""
    import emoji  # a 1 MB table: only load it once text is being read

    if not emoji.emoji_count(text):
        return text
    if mode is EmojiMode.DROP or lang is None:
        return emoji.replace_emoji(text, replace=" ")
    emoji.config.load_language(lang)

    def name(chars: str, data: dict) -> str:
        label = data.get(lang) or data.get("en", "")
        label = label.strip(":").replace("_", " ")
        return f", {label}," if label else " "

    return emoji.replace_emoji(text, replace=name)
