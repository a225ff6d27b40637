"""Audio per request is bounded: a "word" longer than any real one is read in a bounded way
(cleanup), and --max-audio-seconds cuts a request off cleanly (audio-stop and
synthesize-stopped still sent, the server keeps serving). Through a real client over TCP."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.settings import parse_settings
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.cleanup import MAX_WORD_LETTERS, bound_words
from wyoming_kokoro.text.plan import FrontEnd
from wyoming_kokoro.text.ssml import parse_ssml

from .support import ServerThread, exchange

RATE = 24000
LONG_TEXT = " ".join(f"Sentence number {n} is here to make this request long." for n in
                     range(1, 41))


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 5000, "aaa"),
    ("Soooooooo good", "Sooo good"),
    ("Schifffahrt", "Schifffahrt"),  # three letters in a row are real (German)
    ("AAAA batteries", "AAAA batteries"),
    ("abcdefghij" * 500, ("abcdefghij" * 7)[:MAX_WORD_LETTERS]),
    ("Donaudampfschifffahrtsgesellschaftskapitän", "Donaudampfschifffahrtsgesellschaftskapitän"),
])
def test_unbroken_letter_runs_are_bounded(text: str, expected: str) -> None:
    assert bound_words(text) == expected


def test_unspaced_scripts_keep_their_runs() -> None:
    """Japanese and Chinese sentences are long letter runs by nature."""
    japanese = "今日は良い天気ですね" * 20
    assert bound_words(japanese) == japanese


@pytest.mark.parametrize("markup", [False, True])
def test_front_end_bounds_a_run_before_cutting_sentences(markup: bool) -> None:
    """Sentences are cut every 600 characters: bounding each piece would still read 9."""
    word = "abcdefghij" * 500
    text = parse_ssml(f"<speak>{word}</speak>") if markup else word
    spans = [span for block in FrontEnd().read(text) for span in block.spans]
    assert sum(len(span.text) for span in spans) == MAX_WORD_LETTERS


@pytest.mark.slow
@pytest.mark.parametrize("word", ["a" * 5000, "abcdefghij" * 500])
async def test_5000_letter_word_finishes_with_bounded_audio(server: ServerThread,
                                                            word: str) -> None:
    """Was still streaming after 120 s (each letter spelled out)."""
    reply = await exchange(server.uri, [Synthesize(text=word).event()], until="audio-stop",
                           timeout=90)
    assert reply.types[0] == "audio-start" and reply.types[-1] == "audio-stop"
    assert 0 < len(reply.audio) / RATE < 15


@pytest.fixture
def capped(engine: Engine, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[ServerThread]:
    monkeypatch.setattr(engine.options, "max_audio", 1.5)
    thread = ServerThread(engine).start()
    yield thread
    thread.stop()


@pytest.mark.slow
async def test_max_audio_seconds_truncates_a_request(capped: ServerThread,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        reply = await exchange(capped.uri, [Synthesize(text=LONG_TEXT).event()],
                               until="audio-stop", timeout=60)
    assert reply.types[0] == "audio-start" and reply.types[-1] == "audio-stop"
    assert "error" not in reply.types
    assert 1.0 < len(reply.audio) / RATE <= 1.5
    assert "max-audio-seconds" in caplog.text
    info = await exchange(capped.uri, [Describe().event()], until="info")
    assert info.types == ["info"], "the server keeps serving"


@pytest.mark.slow
async def test_max_audio_seconds_truncates_a_stream(capped: ServerThread) -> None:
    chunks = [SynthesizeChunk(text=s + ". ").event() for s in LONG_TEXT.split(". ")]
    events = [SynthesizeStart().event(), *chunks, Synthesize(text=LONG_TEXT).event(),
              SynthesizeStop().event()]
    reply = await exchange(capped.uri, events, until="synthesize-stopped", timeout=60)
    assert reply.types[0] == "audio-start"
    assert reply.types[-2:] == ["audio-stop", "synthesize-stopped"]
    assert "error" not in reply.types
    assert 1.0 < len(reply.audio) / RATE <= 1.5


def test_max_audio_seconds_option(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("WYOMING_KOKORO_MAX_AUDIO_SECONDS", raising=False)
    assert parse_settings([]).max_audio_seconds == 600
    assert parse_settings(["--max-audio-seconds", "30"]).max_audio_seconds == 30
    monkeypatch.setenv("WYOMING_KOKORO_MAX_AUDIO_SECONDS", "45.5")
    assert parse_settings([]).max_audio_seconds == 45.5
    for bad in ("0", "-3", "abc"):
        monkeypatch.setenv("WYOMING_KOKORO_MAX_AUDIO_SECONDS", bad)
        with pytest.raises(SystemExit):
            parse_settings([])
        assert "WYOMING_KOKORO_MAX_AUDIO_SECONDS" in capsys.readouterr().err
