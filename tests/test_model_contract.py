"""The fixed-bucket contract, proven on a synthetic graph whose outputs depend on its inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from wyoming_kokoro.model.contract import detect_contract
from wyoming_kokoro.model.kokoro import (
    DurationOverflowError,
    KokoroModel,
    ModelError,
    ModelOutputError,
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


class RunSpy:
    """Wraps `model.run` for one test: every call's ids and what it did (output length, or
    the overflow it raised), so a test sees the engine's real calls, not its own guess."""

    def __init__(self, model: KokoroModel) -> None:
        self.model, self.original = model, model.run
        self.calls: list[tuple[list[int], int | DurationOverflowError]] = []

    def __enter__(self) -> RunSpy:
        def run(ids, style, speed=1.0):
            try:
                audio = self.original(ids, style, speed)
            except DurationOverflowError as err:
                self.calls.append((list(ids), err))
                raise
            self.calls.append((list(ids), len(audio)))
            return audio

        self.model.run = run  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.model.run = self.original  # type: ignore[method-assign]

    def rendered(self) -> list[tuple[list[int], int]]:
        return [(ids, out) for ids, out in self.calls if isinstance(out, int)]


def without(ids: list[int], token: int) -> list[int]:
    return [i for i in ids if i != token]


def test_engine_resplits_overflowing_segment(synthetic_engine: Engine) -> None:
    """A segment that fits the bucket's tokens but not its alignment window is split and
    rendered again: every token is rendered exactly once, in order, and no call's audio was
    cut at the window (each is exactly as long as its own durations say)."""
    voice = synthetic_engine.voices.voices["af_one"]
    # 14 symbols, 'a' (id 43) lasts 4 frames: 2 + 12·4 + 2·(space) frames > the 40 of b16
    phonemes = "aaaa aaaa aaaa"
    ids = synthetic_engine.vocab.encode(phonemes)
    assert len(ids) <= synthetic_engine.model.capacity < len(ids) + 1
    assert expected_frames(ids) > 40
    space = synthetic_engine.vocab.encode(" ")[0]
    with RunSpy(synthetic_engine.model) as spy:
        audio = synthetic_engine.render_phonemes(phonemes, voice)
    first_ids, first = spy.calls[0]
    assert first_ids == ids and isinstance(first, DurationOverflowError)
    rendered = spy.rendered()
    assert len(rendered) >= 2
    assert without([t for part, _ in rendered for t in part], space) == without(ids, space)
    for part, length in rendered:  # not truncated at the 40-frame window
        assert expected_frames(part) <= 40 and length == expected_frames(part) * 480 + 3120
    assert len(audio) >= sum(length for _, length in rendered) - 2 * 480  # all of it kept


def test_engine_splits_text_to_bucket_capacity(synthetic_engine: Engine) -> None:
    """Text longer than the bucket goes through the engine's own path (front end, G2P,
    `Engine._pieces`): each model call fits the 14-token capacity, the calls together carry
    the sentence's phonemes exactly once and in order, and all their audio is returned."""
    text = "Please turn off every light in the kitchen and lock the back door now."
    voice = synthetic_engine.voices.voices["af_two"]
    phonemes = synthetic_engine.phonemize(text, voice.language)
    space = synthetic_engine.vocab.encode(" ")[0]
    want = without(synthetic_engine.vocab.encode(phonemes), space)
    assert len(want) > 3 * synthetic_engine.model.capacity
    with RunSpy(synthetic_engine.model) as spy:
        audio = synthetic_engine.synthesize(text, voice)
    rendered = spy.rendered()
    assert len(rendered) >= 4
    assert all(len(part) <= synthetic_engine.model.capacity for part, _ in spy.calls)
    assert without([t for part, _ in rendered for t in part], space) == want
    assert len(audio) >= sum(length for _, length in rendered)  # every call's audio (+ gaps)
