"""LLM output → speakable text: block markdown (streamed), inline noise, emoji modes."""

from __future__ import annotations

import pytest

from wyoming_kokoro.text.cleanup import clean_inline
from wyoming_kokoro.text.markdown import MarkdownLines
from wyoming_kokoro.text.sentences import Pause, SentenceStreamer, split_pauses, split_sentences

LLM_REPLY = """## Status
Here is what I did:
- Turned on **the lights**
* Set the *heating* to 21 °C
1. First step
2) Second step

| Room | Temp |
|------|------|
| Kitchen | 21 |

> Quoted line.
---
```yaml
light: on

more: code. Still code.
```
Done!!! All 3 lights are on."""


def spoken(text: str) -> list[str | Pause]:
    """Sentences as the server streams them, with pause tags resolved."""
    return [p for s in split_sentences(text) for p in split_pauses(s)]


def test_lists_headings_tables_and_code_read_as_a_listener_expects() -> None:
    assert spoken(LLM_REPLY) == [
        "Status.", "Here is what I did:", Pause(0.3), "Turned on the lights.", Pause(0.3),
        "Set the heating to 21 °C.", Pause(0.3), "First step.", Pause(0.3), "Second step.",
        "Room, Temp.", "Kitchen, 21.", "Quoted line.", "Done!!!", "All 3 lights are on."]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_streamed_markdown_matches_whole_text(size: int) -> None:
    whole = MarkdownLines()
    expected = whole.add(LLM_REPLY) + whole.finish()
    lines = MarkdownLines()
    pieces = [lines.add(LLM_REPLY[i:i + size]) for i in range(0, len(LLM_REPLY), size)]
    assert "".join(pieces) + lines.finish() == expected


def test_numbered_item_is_not_cut_at_its_marker_when_streamed() -> None:
    streamer = SentenceStreamer()
    out: list[str] = []
    for piece in ["Steps:\n1", ". Open the", " app\n2. Tap", " Save\n"]:
        out += streamer.add(piece)
    out += streamer.finish()
    assert [p for s in out for p in split_pauses(s) if not isinstance(p, Pause)] == [
        "Steps:", "Open the app.", "Tap Save."]


def test_only_an_undecided_line_start_is_held_back() -> None:
    lines = MarkdownLines()
    assert lines.add("Turned on") == "Turned on"  # a letter: no marker possible, passes at once
    assert lines.add(" 10") == " 10"  # mid-line text is never held
    assert lines.add(" lights\n1") == " lights\n"  # "1" may start "1. ": held
    assert lines.add(". Open") == "[pause:0.3s]Open"
    assert lines.finish() == "."


CLEANUP = [
    ("Turned on **the lights** and _heating_ (see [docs](https://x.io/a)).",
     "Turned on the lights and heating (see docs)."),
    ("Visit https://www.home-assistant.io/integrations/wyoming/ now.",
     "Visit home-assistant dot io now."),
    ("Mail bob.smith@example.com today.", "Mail bob dot smith at example dot com today."),
    ("Run `ha core restart` on `light.living_room`.",
     "Run ha core restart on light living room."),
    ("Done!!! Really??? Ok?! Wait.... great", "Done! Really? Ok? Wait… great"),
    ("Lights -> off | fans => on • heater", "Lights, off, fans, on, heater"),
    ("Temp – 21 °C; range 18 – 21", "Temp, 21 °C; range 18 – 21"),
    ("&lt;b&gt;bold&lt;/b&gt; <br> text", "bold text"),
    ("Say [Kokoro](/kˈOkəɹO/) now", "Say [Kokoro](/kˈOkəɹO/) now"),
    ("![a chart](chart.png) shows it", "a chart shows it"),
    ("snake_case and ~~old~~ new ###", "snake case and old new"),
]


@pytest.mark.parametrize(("text", "expected"), CLEANUP, ids=[c[0][:20] for c in CLEANUP])
def test_inline_cleanup(text: str, expected: str) -> None:
    assert clean_inline(text, "a") == expected


@pytest.mark.parametrize(("language", "mode", "expected"), [
    ("a", "drop", "Done"), ("a", "name", "Done, thumbs up, grinning face"),
    ("e", "name", "Done, pulgar hacia arriba, cara sonriendo"),
    ("j", "name", "Done, サムズアップ, にっこり笑う"),
    ("h", "name", "Done"),  # no Hindi names in the emoji package: dropped
])
def test_emoji_are_dropped_or_named_in_the_language(language: str, mode: str,
                                                     expected: str) -> None:
    assert clean_inline("Done 👍 😀", language, mode) == expected


def test_urls_and_emails_use_the_language_words() -> None:
    assert clean_inline("Escribe a ana@correo.es", "e") == "Escribe a ana arroba correo punto es"
    assert clean_inline("Voir https://exemple.fr/page", "f") == "Voir exemple point fr"
