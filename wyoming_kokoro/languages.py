"""Kokoro language codes: voice prefix letters, locales and request aliases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One Kokoro language: its voice-prefix letter and how Home Assistant names it."""

    code: str  # Kokoro's one-letter code, also the first letter of its voice names
    locale: str  # advertised to Home Assistant (en_US style)
    name: str  # human name used in voice descriptions
    espeak: str | None = None  # espeak-ng voice when misaki delegates to espeak


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("a", "en_US", "American English"),
        Language("b", "en_GB", "British English"),
        Language("e", "es_ES", "Spanish", "es"),
        Language("f", "fr_FR", "French", "fr-fr"),
        Language("h", "hi_IN", "Hindi", "hi"),
        Language("i", "it_IT", "Italian", "it"),
        Language("j", "ja_JP", "Japanese"),
        Language("p", "pt_BR", "Brazilian Portuguese", "pt-br"),
        Language("z", "zh_CN", "Mandarin Chinese"),
    )
}

ENGLISH = ("a", "b")  # American and British: one G2P (misaki), one set of words


def is_english(code: str | None) -> bool:
    """True for both Englishes, whose text goes to misaki rather than espeak or a CJK G2P."""
    return code in ENGLISH


_ALIASES: dict[str, str] = {
    "en": "a", "en-us": "a", "american": "a", "en-gb": "b", "en-uk": "b", "british": "b",
    "es": "e", "es-es": "e", "es-mx": "e", "es-419": "e", "spanish": "e",
    "fr": "f", "fr-fr": "f", "fr-ca": "f", "fr-be": "f", "fr-ch": "f", "french": "f",
    "hi": "h", "hi-in": "h", "hindi": "h",
    "it": "i", "it-it": "i", "italian": "i",
    "ja": "j", "ja-jp": "j", "jp": "j", "japanese": "j",
    "pt": "p", "pt-br": "p", "pt-pt": "p", "portuguese": "p",
    "zh": "z", "zh-cn": "z", "zh-hans": "z", "cmn": "z", "zh-tw": "z", "mandarin": "z",
}


def resolve_language(value: str | None) -> str | None:
    """Map a request language (`a`, `en`, `en-us`, `en_US`…) to a Kokoro code, or None."""
    if not value:
        return None
    key = value.strip().lower().replace("_", "-")
    if key in LANGUAGES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    base = key.split("-", 1)[0]
    return _ALIASES.get(base)
