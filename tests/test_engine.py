"""The real offline int8 model: every language speaks, English is intelligible, blends, pauses."""

from __future__ import annotations

import numpy as np
import pytest

from wyoming_kokoro.synth.pipeline import Engine

from .support import transcribe, word_error_rate
from .test_g2p import SENTENCES

SAMPLE_RATE = 24000
ENGLISH = [
    "The weather is nice today, so we are going to the park.",
    "Please remember to turn off the lights before you leave the house.",
    "My brother bought a new car last week and drove it to the coast.",
    "The meeting has been moved to Thursday afternoon.",
]


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2))) if len(audio) else 0.0


@pytest.mark.parametrize("code", list(SENTENCES))
def test_every_language_gives_plausible_speech(engine: Engine, code: str) -> None:
    voice = engine.voices.for_language(code)
    assert voice is not None and voice.language == code
    audio = engine.synthesize(SENTENCES[code], voice)
    seconds = len(audio) / SAMPLE_RATE
    assert 1.0 < seconds < 12.0, seconds
    assert rms(audio) > 0.02 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.5


def test_default_voice_speaks_english_intelligibly(engine: Engine) -> None:
    errors, words = 0.0, 0
    for sentence in ENGLISH:
        heard = transcribe(engine.synthesize(sentence))
        n = len(sentence.split())
        errors += word_error_rate(sentence, heard) * n
        words += n
        assert word_error_rate(sentence, heard) <= 0.25, (sentence, heard)
    assert errors / words <= 0.10


def test_trimmed_output_has_no_long_pad_silence(engine: Engine) -> None:
    audio = engine.synthesize("Hello there.")
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    assert loud[0] < 0.18 * SAMPLE_RATE  # the model's ~0.26 s start pad is gone
    assert len(audio) - loud[-1] < 0.25 * SAMPLE_RATE  # and its ~0.6 s tail


def test_blend_differs_from_both_parents(engine: Engine) -> None:
    text = "Good morning."
    blend = engine.voices.voices["af_mix"]
    assert blend.blend is not None
    a = engine.synthesize(text, engine.voices.build("jf_alpha@en-us"))
    b = engine.synthesize(text, engine.voices.build("jf_nezumi@en-us"))
    mix = engine.synthesize(text, blend)
    expected = (2 * engine.voices.packs["jf_alpha"] + engine.voices.packs["jf_nezumi"]) / 3
    assert np.allclose(blend.pack, expected, atol=1e-6)
    for parent in (a, b):
        n = min(len(parent), len(mix))
        assert len(parent) != len(mix) or not np.allclose(parent[:n], mix[:n], atol=1e-3)


def test_pause_tag_inserts_exact_silence(engine: Engine) -> None:
    voice = engine.voices.voices[engine.default_voice]
    pieces = list(engine.render_text("Hello. [pause:1.5s] Goodbye.", voice))
    silent = [p for p in pieces if len(p) and not np.any(p)]
    assert [len(p) for p in silent] == [int(1.5 * SAMPLE_RATE)]


def test_long_text_is_split_to_capacity_and_never_nan(engine: Engine) -> None:
    text = " ".join(ENGLISH * 4)  # > 510 tokens: must be split into several model calls
    audio = engine.synthesize(text)
    assert np.isfinite(audio).all() and len(audio) / SAMPLE_RATE > 15


def test_speed_changes_duration(engine: Engine) -> None:
    voice = engine.voices.voices[engine.default_voice]
    phonemes = engine.phonemize(ENGLISH[0], "a")
    normal = engine.render_phonemes(phonemes, voice, 1.0)
    fast = engine.render_phonemes(phonemes, voice, 1.5)
    assert len(fast) < 0.85 * len(normal)


def test_pauses_are_capped_per_request(engine: Engine) -> None:
    voice = engine.voices.voices[engine.default_voice]
    pieces = list(engine.render_text("Hi. " + "[pause:10s] " * 20 + "Bye.", voice))
    silent = sum(len(p) for p in pieces if len(p) and not np.any(p))
    assert silent <= engine.options.max_total_pause * SAMPLE_RATE + 2 * SAMPLE_RATE
    assert silent >= engine.options.max_total_pause * SAMPLE_RATE  # each tag up to the cap
