"""SSML → sentences of spans and pauses; IPA → Kokoro symbols; lexicon and overrides."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from wyoming_kokoro.text.ipa import ipa_to_kokoro
from wyoming_kokoro.text.lexicon import Lexicon, parse_lexicon, split_overrides
from wyoming_kokoro.text.prepare import prepare_text
from wyoming_kokoro.text.spans import Markup, Pause, Sentence, Span
from wyoming_kokoro.text.ssml import parse_break, parse_rate, parse_ssml


def structure(markup: Markup) -> list:
    """Blocks as compact tuples: text, (text, attribute=value…) or a pause length."""
    out: list = []
    for block in markup.blocks:
        if isinstance(block, Pause):
            out.append(block.seconds)
            continue
        spans = []
        for s in block.spans:
            extra = {k: v for k, v in (("ph", s.phonemes), ("lang", s.language),
                                       ("voice", s.voice), ("say_as", s.say_as))
                     if v is not None}
            if s.rate != 1.0:
                extra["rate"] = s.rate
            spans.append((s.text, extra) if extra else s.text)
        out.append(spans)
    return out


def test_document_structure() -> None:
    markup = parse_ssml(
        '<speak xmlns="http://www.w3.org/2001/10/synthesis">Hello <break time="300ms"/> '
        'world. <p><s>One.</s><s>Two</s></p><p>Three. Four.</p></speak>')
    assert isinstance(markup, Markup) and str(markup) == "Hello world. One. Two Three. Four."
    assert structure(markup) == [["Hello"], 0.3, ["world."], 0.4, ["One."], ["Two"], 0.4,
                                 ["Three."], ["Four."]]


def test_inline_elements_stay_in_their_sentence() -> None:
    markup = parse_ssml(
        'It is <say-as interpret-as="time" format="hms24">14:30</say-as> for '
        '<phoneme alphabet="ipa" ph="ˈkoʊkəroʊ">Kokoro</phoneme> and '
        '<sub alias="World Wide Web Consortium">W3C</sub>. Next.')
    assert structure(markup) == [
        ["It is", ("14:30", {"say_as": "time"}), "for",
         ("Kokoro", {"ph": "ˈkoʊkəroʊ"}), "and World Wide Web Consortium."], ["Next."]]


def test_language_voice_and_rate_switches() -> None:
    markup = parse_ssml(
        '<speak xml:lang="en-US"><lang xml:lang="fr-FR">Bonjour.</lang> Say '
        '<lang xml:lang="es">hola</lang> now. <voice name="ef_alpha">Hola.</voice> '
        '<prosody rate="slow">Slow <prosody rate="150%">and back.</prosody></prosody></speak>')
    assert structure(markup) == [
        [("Bonjour.", {"lang": "f"})],
        [("Say", {"lang": "a"}), ("hola", {"lang": "e"}), ("now.", {"lang": "a"})],
        [("Hola.", {"lang": "a", "voice": "ef_alpha"})],
        [("Slow", {"lang": "a", "rate": 0.8}), ("and back.", {"lang": "a", "rate": 1.2})]]


@pytest.mark.parametrize(("value", "expected"), [
    ("slow", 0.8), ("x-fast", 1.5), ("80%", 0.8), ("+20%", 1.2), ("-10%", 0.9), ("1.3", 1.3),
    ("500%", 2.0), ("loud", None)])
def test_prosody_rates(value: str, expected: float | None) -> None:
    assert parse_rate(value) == (pytest.approx(expected) if expected else None)


@pytest.mark.parametrize(("attrib", "seconds"), [
    ({"time": "500ms"}, 0.5), ({"time": "1.5s"}, 1.5), ({"strength": "x-strong"}, 1.2),
    ({"strength": "none"}, 0.0), ({}, 0.5)])
def test_break_lengths(attrib: dict[str, str], seconds: float) -> None:
    assert parse_break(attrib) == seconds


@pytest.mark.parametrize("text", [
    "<speak>Broken <b>tag</speak>", "<speak>Unclosed", "<speak>a &unknown; b</speak>",
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><speak>&a;</speak>'])
def test_malformed_ssml_is_spoken_as_text_with_a_warning(
        text: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        result = prepare_text(text, "ssml")
    assert not isinstance(result, Markup) and "<" not in result and result.strip()
    assert "Malformed SSML" in caplog.text


def test_text_format_switch() -> None:
    assert prepare_text("<b>kept</b>", "text") == "<b>kept</b>"
    markup = prepare_text('Hi <break/> <sub alias="there">x</sub>', "SSML")
    assert isinstance(markup, Markup)  # the format name is case-insensitive
    assert markup == "Hi there"  # the words the server's length checks count, no markup
    assert structure(markup) == [["Hi"], 0.5, ["there"]]  # and the structure the engine renders


IPA = [
    ("a", "/ˈkoʊkəroʊ/", "kˈOkəɹO"), ("a", "kˈOkəɹO", "kˈOkəɹO"), ("a", "ˈtʃeɪndʒ", "ʧˈAnʤ"),
    ("a", "ˈbɜːd", "bˈɜɹd"), ("a", "ˈpeɪ.stri", "pˈAstɹi"), ("a", "ˈbʌtɚ", "bˈʌtəɹ"),
    ("a", "ˈbʌɾɚ", "bˈʌTəɹ"),
    ("b", "ˈkəʊkərəʊ", "kˈQkəɹQ"), ("b", "ˈbɜːd", "bˈɜːd"), ("i", "ˈpit.t͡sa", "pˈitʦa"),
    ("e", "ˈt͡ʃiko", "ʧˈiko"), ("f", "bɔ̃ˈʒuʁ", "bɔ̃ʒˈuʁ"),
]


@pytest.mark.parametrize(("language", "ipa", "expected"), IPA, ids=[i[1] for i in IPA])
def test_ipa_to_kokoro(language: str, ipa: str, expected: str) -> None:
    assert ipa_to_kokoro(ipa, language) == expected


def test_inline_overrides_split_text() -> None:
    assert split_overrides("Say [Kokoro](/kˈOkəɹO/) and [x](https://a.b) now") == [
        Span("Say "), Span("Kokoro", phonemes="kˈOkəɹO"), Span(" and [x](https://a.b) now")]


def test_lexicon_format() -> None:
    entries = parse_lexicon("# pets\nKokoro /kˈOkəɹO/\nHome Assistant = home assistant\n"
                            "bad line\n\nNguyen=win\n")
    assert {k: (e.phonemes, e.alias) for k, e in entries.items()} == {
        "kokoro": ("kˈOkəɹO", None), "home assistant": (None, "home assistant"),
        "nguyen": (None, "win")}


def test_lexicon_files_per_language_and_reload(tmp_path: Path) -> None:
    (tmp_path / "en.txt").write_text("Kokoro /kˈOkəɹO/\nBjörn = bee yorn\n", encoding="utf-8")
    (tmp_path / "en-gb.txt").write_text("Kokoro /kˈQkəɹQ/\n", encoding="utf-8")
    (tmp_path / "ja.txt").write_text("東京 /toːkʲoː/\n", encoding="utf-8")
    lexicon = Lexicon(tmp_path)
    assert lexicon.apply("kokoro, says Björn.", "a") == [
        Span("kokoro", phonemes="kˈOkəɹO"), Span(", says bee yorn.")]
    assert lexicon.apply("Kokoro", "b") == [Span("Kokoro", phonemes="kˈQkəɹQ")]
    assert lexicon.apply("Kokoros", "a") == [Span("Kokoros")]  # whole words only
    assert lexicon.apply("東京へ", "j") == [Span("東京", phonemes="toːkʲoː"), Span("へ")]
    assert lexicon.apply("Kokoro", "e") == [Span("Kokoro")]
    (tmp_path / "en.txt").write_text("Kokoro = cocoa row\n", encoding="utf-8")
    stamp = time.time() + 5
    os.utime(tmp_path / "en.txt", (stamp, stamp))
    lexicon._checked = 0.0  # skip the 2 s recheck interval
    assert lexicon.apply("Kokoro", "a") == [Span("cocoa row")]


def test_sentence_text_joins_spans() -> None:
    sentence = Sentence((Span("It is"), Span("two", say_as="time"), Span(".")))
    assert sentence.text == "It is two."


def test_a_lone_surrogate_is_dropped_not_the_document() -> None:
    """JSON may carry half of a UTF-16 pair ("\\ud800"): the XML parser cannot encode it,
    which made the whole document 'malformed' (tags read as text)."""
    markup = parse_ssml('<speak>Hello \ud800<break time="1s"/> world</speak>')
    assert isinstance(markup, Markup) and "\ud800" not in markup
    assert any(isinstance(block, Pause) and block.seconds == 1.0 for block in markup.blocks)
