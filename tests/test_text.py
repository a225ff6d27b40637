"""Cleanup, pause tags, sentence streaming and capacity splitting (pure functions)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wyoming_kokoro.phonemes.strings import split_phonemes
from wyoming_kokoro.text.sentences import (
    Pause,
    SentenceStreamer,
    cleanup,
    is_speakable,
    split_pauses,
    split_sentences,
)


def test_pause_tags_become_exact_clamped_silence() -> None:
    parts = split_pauses("Hi [pause:1.5s] there [PAUSE: 300ms] x [pause:999s] [pause:0s] y",
                         max_pause=10)
    assert parts == ["Hi", Pause(1.5), "there", Pause(0.3), "x", Pause(10.0), "y"]


def test_sentences_latin_cjk_and_devanagari() -> None:
    assert split_sentences("It is late. Go home! Now?") == ["It is late.", "Go home!", "Now?"]
    japanese = ["今日は晴れです。", "明日は雨です。"]
    assert split_sentences("".join(japanese)) == japanese
    assert split_sentences("यह अच्छा है। वह भी।") == ["यह अच्छा है।", "वह भी।"]


def test_streamer_releases_a_sentence_as_soon_as_it_ends() -> None:
    streamer = SentenceStreamer()
    released = []
    for word in "Turned on the kitchen lights. The rest".split(" "):
        released.append(streamer.add(word + " "))
    assert released[4] == ["Turned on the kitchen lights."]  # not waiting for "The"
    assert streamer.finish() == ["The rest"]


def test_streamer_holds_abbreviations() -> None:
    streamer = SentenceStreamer()
    assert streamer.add("Dr. ") == []
    assert streamer.add("Smith is here. ") == ["Dr. Smith is here."]


def test_cleanup_drops_control_chars_and_bad_surrogates() -> None:
    assert cleanup("a\x00b\ud800c  \t d\n\n e") == "a bc d\n\ne"
    assert not is_speakable("?!… 🙂") and is_speakable("42") and is_speakable("日本")


def test_split_prefers_sentence_then_clause_then_space() -> None:
    assert split_phonemes("ab cd. ef gh", 8) == ["ab cd.", "ef gh"]
    assert split_phonemes("abcd, ef gh ij", 10) == ["abcd,", "ef gh ij"]
    assert split_phonemes("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]  # one over-long word


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet="abcdɹˈə,.", min_size=1, max_size=12), min_size=1,
                      max_size=40), capacity=st.integers(min_value=4, max_value=60))
def test_split_never_exceeds_capacity_and_keeps_every_symbol(words: list[str],
                                                             capacity: int) -> None:
    phonemes = " ".join(words)
    pieces = split_phonemes(phonemes, capacity)
    assert all(0 < len(p) <= capacity for p in pieces)
    assert "".join(pieces).replace(" ", "") == phonemes.replace(" ", "")
    if all(len(w) <= capacity for w in words):  # words are only cut when longer than a bucket
        assert sorted(w for p in pieces for w in p.split()) == sorted(words)
