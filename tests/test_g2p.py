"""misaki G2P per language on real sentences, offline, with every symbol in Kokoro's vocab."""

from __future__ import annotations

import pytest

from wyoming_kokoro.languages import LANGUAGES, resolve_language
from wyoming_kokoro.phonemes.g2p import G2PRegistry, Vocab

SENTENCES = {
    "a": "I read the book yesterday, and I will read it again tomorrow.",
    "b": "The colour of the tomato is red, said the lady on the telly.",
    "e": "Hoy hace buen tiempo, vamos a la playa.",
    "f": "Il fait beau aujourd'hui, allons à la plage.",
    "h": "यह एक बहुत अच्छी किताब है।",
    "i": "Oggi è una bella giornata, andiamo al mare.",
    "j": "明日の会議は午後三時からです。",
    "p": "Hoje está um dia bonito, vamos à praia.",
    "z": "今天天气很好，我们去公园散步吧。",
}


@pytest.fixture(scope="module")
def registry() -> G2PRegistry:
    return G2PRegistry()


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_phonemizes_within_vocab(registry: G2PRegistry, code: str) -> None:
    vocab = Vocab.load()
    # a missing G2P package fails here with the pip command that installs it, never a skip
    assert registry.available(code), registry.unavailable_text(code)
    phonemes = registry.phonemize(SENTENCES[code], code)
    assert len(phonemes) > 10
    assert set(phonemes) <= set(vocab.ids), set(phonemes) - set(vocab.ids)


def test_english_heteronyms_follow_the_tagger(registry: G2PRegistry) -> None:
    phonemes = registry.phonemize(SENTENCES["a"], "a")
    assert "ɹˈɛd" in phonemes and "ɹˈid" in phonemes  # past "read" and future "read"


def test_english_numbers_and_punctuation(registry: G2PRegistry) -> None:
    phonemes = registry.phonemize("It costs 42 dollars, really?", "a")
    assert "fˈɔɹTi" in phonemes and "," in phonemes and phonemes.endswith("?")


def test_british_and_american_differ(registry: G2PRegistry) -> None:
    assert registry.phonemize("tomato", "a") != registry.phonemize("tomato", "b")


def test_unknown_english_word_uses_espeak_fallback(registry: G2PRegistry) -> None:
    assert len(registry.phonemize("zorbligated", "a")) > 5


def test_japanese_readings_from_openjtalk(registry: G2PRegistry) -> None:
    assert registry.phonemize("明日", "j").startswith("aɕita")


def test_vocab_drops_unknown_symbols() -> None:
    vocab = Vocab.load()
    assert vocab.encode("a☃b") == [vocab.ids["a"], vocab.ids["b"]]
    assert vocab.clean("a☃b") == "ab"


@pytest.mark.parametrize(("value", "code"), [
    ("a", "a"), ("en", "a"), ("en-us", "a"), ("en_US", "a"), ("EN-GB", "b"), ("es-MX", "e"),
    ("fr_FR", "f"), ("ja", "j"), ("pt-BR", "p"), ("zh-CN", "z"), ("hi_IN", "h"), ("it", "i"),
    ("xx", None), ("", None), (None, None),
])
def test_request_language_aliases(value: str | None, code: str | None) -> None:
    assert resolve_language(value) == code
