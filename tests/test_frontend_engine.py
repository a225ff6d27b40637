"""The front end inside the engine and the server: phonemes per language, one model call per
sentence despite overrides, voice/rate/break switches, and what a listener hears (ASR)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from num2words import num2words
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.audio import SAMPLE_RATE as RATE
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.plan import FrontEnd, FrontendOptions, Utterance
from wyoming_kokoro.text.prepare import prepare_text
from wyoming_kokoro.text.spans import Sentence

from .support import ServerThread, exchange, transcribe, word_error_rate


def plan(engine: Engine, text: str, voice: str = "af_alpha", fmt: str | None = None,
         frontend: FrontEnd | None = None) -> list[list[Utterance]]:
    """Per sentence, the model calls the engine would make."""
    fe = frontend or engine.frontend
    v = engine.voices.voices[voice]
    return [fe.plan(b, v, v.language, engine.voices, engine.g2p.available)
            for b in fe.read(prepare_text(text, fmt)) if isinstance(b, Sentence)]


def phonemes(engine: Engine, text: str, voice: str = "af_alpha", fmt: str | None = None) -> str:
    calls = [c for sentence in plan(engine, text, voice, fmt) for c in sentence]
    return " | ".join(engine.phonemize(c.spans, engine.voices.voices[voice].language)
                      for c in calls)


# (voice, text, the words the normaliser must produce, what the G2P says without it). The
# expected phonemes are the G2P's own reading of those words; the unwanted ones are taken from
# its reading of the raw text, and the test checks they are there, so both halves can fail.
PHONEMES = [
    ("af_alpha", "It is 21.5 °C.", "21.5 degrees Celsius", "sˈi"),  # C read as a letter
    ("af_alpha", "Timer set for 1:30.", "one thirty", ":"),
    ("af_alpha", "It takes 5-10 minutes.", "5 to 10", "fˈIvtˌɛn"),  # "fiveten"
    ("af_alpha", "It costs ¥500.", "500 yen", "jˈɛn fˈIv"),  # "yen five hundred"
    ("bf_alpha", "It is 100 m away.", "100 metres", "ˈɛm"),  # the letter m
    ("ef_alpha", "Hace 21,5 °C a las 14:30.", "coma cinco grados", ","),  # "21, 5"
    ("ef_alpha", "Hace -5 grados.", "menos cinco", "ˈaθe θˈinko"),  # espeak drops the minus
    ("ff_alpha", "Il est 14h30, il fait -3 degrés.", "quatorze heures trente", "ˈaʃ"),  # h
    ("ff_alpha", "Il est 14h30, il fait -3 degrés.", "moins trois", "fˈɛ tʁwˈa"),
    ("if_alpha", "Costa 42,50 €.", "cinquanta centesimi", "ʧinkwˈanta ˈɛʊro"),  # 50 euros
    ("pf_alpha", "São 14:30.", "e trinta", ":"),
    ("hf_alpha", "तापमान -5 °C है।", "माइनस 5 डिग्री सेल्सियस", "pˈa\u0303c sˈiː"),  # "5 C", no minus
    ("jf_alpha", "気温は21.5°Cです。", "21点5度", "ʨi ɡo"),  # "21 5", the point dropped
    ("zf_alpha", "现在14:30。", "14点30分", ":"),
]


@pytest.mark.parametrize(("voice", "text", "words", "unwanted"), PHONEMES,
                         ids=[f"{p[0]}-{p[1][:16]}" for p in PHONEMES])
def test_normalised_phonemes_per_language(engine: Engine, voice: str, text: str, words: str,
                                          unwanted: str) -> None:
    language = engine.voices.voices[voice].language
    out = phonemes(engine, text, voice)
    assert engine.phonemize(words, language) in out, out
    assert unwanted in engine.phonemize(text, language)  # what a broken normaliser gives
    assert unwanted not in out, out


def test_override_stays_inside_one_model_call(engine: Engine) -> None:
    (calls,) = plan(engine, "Say [Kokoro](/kˈOkəɹO/) to the [tomato](/təmˈɑːtoʊ/) now.")
    assert len(calls) == 1  # one sentence, one voice, one rate: one model call
    out = engine.phonemize(calls[0].spans, "a")
    assert out.startswith("sˈA kˈOkəɹO") and "təmˈɑtO" in out and out.endswith("nˈW.")


def test_override_in_every_language(engine: Engine) -> None:
    for voice, text, expected in [("ef_alpha", "Dice [Kokoro](/kokˈoɾo/) hoy.", "kokˈoɾo"),
                                  ("jf_alpha", "[東京](/toːkʲoː/)へ行く。", "toːkʲoː"),
                                  ("zf_alpha", "我爱[北京](/pei↓ʨiŋ→/)。", "pei↓ʨiŋ→")]:
        (calls,) = plan(engine, text, voice)
        assert len(calls) == 1 and expected in engine.phonemize(calls[0].spans, voice[0])


def test_user_lexicon_reaches_the_phonemes(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "en.txt").write_text("Mittens /mˈɪʔnz/\nHASS = home assistant\n", "utf-8")
    (tmp_path / "fr.txt").write_text("Lyon = lion\n", "utf-8")
    fe = FrontEnd(FrontendOptions(lexicon_dir=tmp_path))
    (calls,) = plan(engine, "Feed Mittens, then restart HASS.", frontend=fe)
    out = engine.phonemize(calls[0].spans, "a")
    assert "mˈɪtnz" in out and "əsˈɪstᵊnt" in out, out  # ʔ → t, as misaki writes it
    (calls,) = plan(engine, "Je vais à Lyon.", "ff_alpha", frontend=fe)
    assert "ljˈɔ̃" in engine.phonemize(calls[0].spans, "f")


def test_ssml_switches_language_voice_and_rate(engine: Engine) -> None:
    sentences = plan(engine, '<speak>The word <lang xml:lang="es">hola</lang> means hi. '
                             '<lang xml:lang="fr">Bonjour à tous.</lang> '
                             '<voice name="ef_alpha">Son las 14:30.</voice> '
                             '<prosody rate="slow">Slowly.</prosody></speak>', fmt="ssml")
    inline, french, spanish, slow = sentences
    assert len(inline) == 1 and inline[0].voice.name == "af_alpha"  # G2P switch only
    assert "ˈola" in engine.phonemize(inline[0].spans, "a")
    assert [c.voice.language for c in french] == ["f"]  # a whole sentence: a French voice
    assert spanish[0].voice.name == "ef_alpha"
    assert "katˈoɾθe i tɾˈAnta" in engine.phonemize(spanish[0].spans, "a")
    assert slow[0].rate == pytest.approx(0.8)


def test_ssml_break_and_rate_reach_the_audio(engine: Engine) -> None:
    voice = engine.voices.voices["af_alpha"]
    pieces = list(engine.render_text(prepare_text(
        '<speak>Hello.<break time="700ms"/>Hello.</speak>', "ssml"), voice))
    silent = [len(p) for p in pieces if len(p) and not np.any(p)]
    assert int(0.7 * RATE) in silent
    normal = sum(len(p) for p in pieces if np.any(p)) / 2
    slow = engine.synthesize(prepare_text(
        '<speak><prosody rate="x-slow">Hello.</prosody></speak>', "ssml"))
    assert len(slow) > 1.3 * normal


_UNITS = {"°c": " degrees celsius", "°f": " degrees fahrenheit", "%": " percent",
          "km/h": " kilometers per hour", "kwh": " kilowatt hours", " km ": " kilometers "}


def canon(text: str) -> str:
    """Both sides of an ASR comparison in words: Whisper writes '2:30 p.m.' and '21°C'."""
    text = text.lower().replace("–", " to ").replace("-", " ")
    for unit, words in _UNITS.items():
        text = text.replace(unit, words)
    text = re.sub(r"\b(\d{1,2})[:.](\d\d)\s*([ap])\.?\s?m\b\.?", lambda m: " ".join(
        [num2words(int(m.group(1))), num2words(int(m.group(2))), m.group(3), "m"]), text)
    text = re.sub(r"\d+(?:\.\d+)?", lambda m: " " + num2words(float(m.group(0))
                  if "." in m.group(0) else int(m.group(0))) + " ", text)
    return " ".join(re.sub(r"[^a-z' ]", " ", text.replace("-", " ")).split())


LISTENER = [  # what the server is given → what a listener must hear
    ("It's 21 °C.", "it's twenty one degrees celsius"),
    ("The alarm is set for 14:30.", "the alarm is set for two thirty p m"),
    ("Wind at 50 km/h for 5-10 minutes.",
     "wind at fifty kilometers per hour for five to ten minutes"),
    ("- **3 lights** are on 👍\n- Blinds are down", "three lights are on blinds are down"),
    ("See https://www.example.com/page.", "see example dot com"),
]


def test_listener_hears_normalised_english(engine: Engine) -> None:
    """One synthesis of all the cases (one ASR pass keeps this fast); every reading that the
    normaliser produced must be heard, and the whole must match closely."""
    text = "\n".join(t for t, _ in LISTENER)
    heard = canon(transcribe(engine.synthesize(text)))
    expected = " ".join(words for _, words in LISTENER)
    assert word_error_rate(expected, heard) <= 0.15, heard
    for phrase in ("degrees celsius", "two thirty", "per hour", "lights are on", "example",
                   "five to ten"):
        assert phrase in heard, (phrase, heard)


async def test_server_speaks_ssml_with_breaks(server: ServerThread) -> None:
    ssml = ('<speak><s>Turned on <say-as interpret-as="cardinal">3</say-as> lights.</s>'
            '<break time="800ms"/><s><sub alias="Home Assistant">HA</sub> is ready.</s></speak>')
    reply = await exchange(server.uri, [Synthesize(text=ssml, text_format="ssml").event()],
                           until="audio-stop")
    assert reply.types[0] == "audio-start" and reply.types[-1] == "audio-stop"
    quiet = np.abs(reply.audio) < 1e-4
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], quiet, [0]]).astype(int))))[::2]
    assert runs.max() >= 0.8 * RATE * 0.95  # the break is there, exact
    heard = canon(transcribe(reply.audio))
    assert "home" in heard.split(), heard  # the alias was read, not the letters "H A"
    assert word_error_rate("turned on three lights home assistant is ready", heard) <= 0.4


async def test_server_streamed_ssml_and_malformed_ssml(server: ServerThread) -> None:
    pieces = ['<speak>Hello <prosody rate="fast">from', ' the</prosody> kitchen.</speak>']
    events = [SynthesizeStart(text_format="ssml").event(),
              *(SynthesizeChunk(text=p).event() for p in pieces),
              Synthesize(text="".join(pieces), text_format="ssml").event(),
              SynthesizeStop().event()]
    reply = await exchange(server.uri, events)
    assert reply.types[-1] == "synthesize-stopped" and "error" not in reply.types
    assert reply.types.count("audio-start") == 1 and 0.6 < len(reply.audio) / RATE < 6.0
    broken = await exchange(server.uri, [Synthesize(
        text="<speak>Good morning, the coffee is <b>ready now.</speak>",
        text_format="ssml").event()], until="audio-stop")
    assert "error" not in broken.types
    heard = canon(transcribe(broken.audio))
    assert word_error_rate("good morning the coffee is ready now", heard) <= 0.25, heard


def test_nothing_speakable_makes_no_model_call(engine: Engine) -> None:
    assert plan(engine, "😀 👍 ?!…") == [[]]
    assert list(engine.render_text("🙂 [pause:0.2s] !!!", engine.voices.voices["af_alpha"])
                ) == [pytest.approx(np.zeros(int(0.2 * RATE)))]
