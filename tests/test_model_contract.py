"""The fixed-bucket contract, proven on a synthetic graph whose outputs depend on its inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from wyoming_kokoro.model.kokoro import (
    DurationOverflowError,
    KokoroModel,
    ModelError,
    ModelOutputError,
    detect_contract,
)
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.voices import VoiceLibrary, load_packs

from .synthetic import build_bucket_model, expected_frames, write_voices


@pytest.fixture(scope="module")
def b16(tmp_path_factory: pytest.TempPathFactory) -> KokoroModel:
    path = build_bucket_model(tmp_path_factory.mktemp("m") / "b16.onnx", bucket=16)
    return KokoroModel.load(path, "cpu", threads=1)


def style(amplitude: float) -> np.ndarray:
    s = np.full((1, 256), 0.01, np.float32)
    s[0, 0] = amplitude
    return s


def test_contract_detected_from_graph_and_metadata(b16: KokoroModel) -> None:
    c = b16.contract
    assert (c.token_input, c.bucket, c.has_lengths, c.has_mask) == ("input_ids", 16, True, False)
    assert (c.align_frames, c.samples_per_frame, c.tail_margin) == (40, 480, 3120)
    assert c.fixed_samples == 40 * 480 + 3120
    assert c.capacity == 14 and c.duration_output == "duration"


def test_contract_without_metadata_uses_output_shape(tmp_path: Path) -> None:
    path = build_bucket_model(tmp_path / "b24.onnx", bucket=24, margin=4000, metadata=False)
    c = detect_contract(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    assert c.align_frames == 56 and c.fixed_samples == 56 * 480 + 4000 and c.tail_margin == 4000


def test_inputs_padded_and_lengths_count_both_pads(b16: KokoroModel) -> None:
    feeds = b16.feeds([10, 20, 30], style(0.5), 1.0)
    assert feeds["input_ids"].tolist() == [[0, 10, 20, 30] + [0] * 12]
    assert feeds["input_lengths"].tolist() == [5]
    with pytest.raises(ValueError):
        b16.feeds(list(range(1, 16)), style(0.5), 1.0)


def test_output_cut_to_rendered_length(b16: KokoroModel) -> None:
    ids = [10, 21, 33]
    audio = b16.run(ids, style(0.5), 1.0)
    frames = expected_frames(ids)
    assert len(audio) == frames * 480 + 3120  # zeroed tail removed, margin kept
    assert np.abs(audio).max() == pytest.approx(0.5, rel=1e-3)
    audio2 = b16.run(ids, style(0.5), 2.0)
    assert np.abs(audio2).max() == pytest.approx(1.0, rel=1e-3)  # speed reaches the graph


def test_overflow_raises_with_frames(b16: KokoroModel) -> None:
    ids = [4] * 14  # 5 frames each + 2 pads = 72 > 40-frame window
    with pytest.raises(DurationOverflowError) as info:
        b16.run(ids, style(0.5), 1.0)
    assert info.value.frames == expected_frames(ids) and info.value.limit == 40


def test_nan_output_is_detected(b16: KokoroModel) -> None:
    with pytest.raises(ModelOutputError):
        b16.run([10], style(float("nan")), 1.0)


def test_not_a_kokoro_graph_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "x.onnx")
    with pytest.raises(ModelError, match="not a Kokoro model"):
        KokoroModel.load(tmp_path / "x.onnx", "cpu")


@pytest.fixture(scope="module")
def synthetic_engine(b16: KokoroModel, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    voices = write_voices(tmp_path_factory.mktemp("v") / "voices.npz", ["af_one", "af_two"])
    library = VoiceLibrary(load_packs(voices))
    return Engine(b16, library, "af_one")


def test_style_row_is_token_count_minus_one(synthetic_engine: Engine) -> None:
    voice = synthetic_engine.voices.voices["af_one"]
    for n in (1, 5, 14):
        audio = synthetic_engine.model.run([1] * n, voice.style(n), 1.0)
        assert np.abs(audio).max() == pytest.approx(n / 1000, rel=1e-2)  # row n−1 → (n)/1000


def test_engine_resplits_overflowing_segment(synthetic_engine: Engine) -> None:
    voice = synthetic_engine.voices.voices["af_one"]
    # 14 symbols: 'ˈ' is id 156 → 2 frames; 'a' 43 → 4 frames; overflow for the whole segment
    phonemes = "aaaa aaaa aaaa"
    ids = synthetic_engine.vocab.encode(phonemes)
    assert expected_frames(ids) > 40
    audio = synthetic_engine.render_phonemes(phonemes, voice)
    assert len(audio) > 0  # rendered in several calls instead of truncating


def test_engine_splits_text_to_bucket_capacity(synthetic_engine: Engine) -> None:
    calls: list[int] = []
    model = synthetic_engine.model
    original = model.run

    def spy(ids, style, speed=1.0):
        calls.append(len(ids))
        return original(ids, style, speed)

    model.run = spy  # type: ignore[method-assign]
    try:
        phonemes = "mrw mrw mrw mrw mrw mrw mrw mrw mrw"  # 1-frame symbols, 35 > capacity 14
        voice = synthetic_engine.voices.voices["af_two"]
        from wyoming_kokoro.phonemes.strings import split_phonemes

        pieces = split_phonemes(phonemes, model.capacity)
        for piece in pieces:
            synthetic_engine.render_phonemes(piece, voice)
    finally:
        model.run = original  # type: ignore[method-assign]
    assert len(calls) == len(pieces) >= 3 and all(n <= 14 for n in calls)
