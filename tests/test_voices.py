"""Voice packs, languages, descriptions, blends and fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wyoming_kokoro.voices import VoiceError, VoiceLibrary, load_packs, parse_blend

from .synthetic import write_voices


@pytest.fixture
def library(tmp_path: Path) -> VoiceLibrary:
    path = write_voices(tmp_path / "voices.npz", ["bf_emma", "af_heart", "af_sky", "qx_odd"])
    (tmp_path / "voices.txt").write_text("0=af_heart\n1=af_sky\n2=bf_emma\n")
    return VoiceLibrary(load_packs(path, tmp_path / "voices.txt"))


def test_order_languages_and_descriptions(library: VoiceLibrary) -> None:
    assert list(library.voices) == ["af_heart", "af_sky", "bf_emma"]  # voices.txt order
    assert library.voices["af_heart"].description == "Heart — American English, female"
    assert library.voices["bf_emma"].language == "b"
    assert "qx_odd" in library.packs and "qx_odd" not in library.voices


def test_blend_weights_are_normalised() -> None:
    parts, language = parse_blend("af_bella:2+af_sky:1@en-gb")
    assert [(n, round(w, 3)) for n, w in parts] == [("af_bella", 0.667), ("af_sky", 0.333)]
    assert language == "b"
    with pytest.raises(VoiceError):
        parse_blend("af_bella:-1")
    with pytest.raises(VoiceError):
        parse_blend("af_bella@klingon")


def test_custom_voice_mixes_packs_and_may_change_language(library: VoiceLibrary) -> None:
    mix = library.add_custom("af_mix=af_heart:3+af_sky:1")
    expected = 0.75 * library.packs["af_heart"] + 0.25 * library.packs["af_sky"]
    assert np.allclose(mix.pack, expected) and mix.language == "a"
    spanish = library.add_custom("ef_heart=af_heart@es")
    assert spanish.language == "e" and "Spanish" in spanish.description
    assert library.voices["ef_heart"] is spanish
    with pytest.raises(VoiceError):
        library.add_custom("../evil=af_heart")
    with pytest.raises(VoiceError):
        library.add_custom("x=af_nobody")


def test_style_row_is_token_count_minus_one(library: VoiceLibrary) -> None:
    voice = library.voices["af_heart"]
    assert voice.style(1)[0, 0] == pytest.approx(0.001 + 0.1)  # row 0 of voice index 1
    assert voice.style(600).shape == (1, 256)  # clamped to the last row


def test_select_falls_back_and_picks_by_language(library: VoiceLibrary) -> None:
    voice, warning = library.select("nobody", None, "af_heart")
    assert voice.name == "af_heart" and "nobody" in warning
    assert library.select(None, "b", "af_heart")[0].name == "bf_emma"
    assert library.select(None, "a", "af_sky")[0].name == "af_sky"  # default already matches
    assert library.select("af_heart:1+af_sky:1", None, "af_heart")[0].blend is not None
