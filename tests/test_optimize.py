"""The CPU graph optimiser: rewrites that happen (counted), output unchanged (≥ 100 dB SNR
against the unoptimised graph, whole and split), cached once, used by the server."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from wyoming.tts import Synthesize

from wyoming_kokoro.config import engine_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.model import dequantize
from wyoming_kokoro.model.assets import bundle_assets
from wyoming_kokoro.model.kokoro import KokoroModel, _optimized
from wyoming_kokoro.model.optimize import (
    METADATA_KEY,
    optimize_file,
    optimize_model,
    optimized_file,
)
from wyoming_kokoro.model.session import create_session
from wyoming_kokoro.model.split import find_boundary, split_graph
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine

from .support import ServerThread, exchange, snr_db

SENTENCES = [
    "Turn on the kitchen lights.",
    "The front door is locked and the alarm is set for the night.",
    "Good morning! It is seven degrees outside, with light rain until noon, so take an "
    "umbrella.",
]
CPU = ["CPUExecutionProvider"]


def ops(model: onnx.ModelProto) -> collections.Counter[str]:
    return collections.Counter(n.op_type for n in model.graph.node)


@pytest.fixture(scope="module")
def int8_path(engine: Engine) -> Path:
    return engine.model.path


@pytest.fixture(scope="module")
def fp32_path(int8_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The float graph rebuilt from the bundle's int8 one (the `fp32` precision)."""
    target = tmp_path_factory.mktemp("fp32") / "kokoro-fp32.onnx"
    assert dequantize.main([str(int8_path), "--out", str(target)]) == 0
    return target


@pytest.fixture(scope="module", params=["int8", "fp32"])
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, Path, collections.Counter[str]]:
    """(unoptimised file, optimised file, rewrite counts) per precision."""
    source = request.getfixturevalue(f"{request.param}_path")
    target = tmp_path_factory.mktemp("optimized") / f"{request.param}.onnx"
    return source, target, optimize_file(source, target)


@pytest.fixture(scope="module")
def all_feeds(engine: Engine) -> list[dict[str, np.ndarray]]:
    voice = engine.voices.voices[engine.default_voice]
    feeds = []
    for text in SENTENCES:
        ids = engine.vocab.encode(engine.phonemize(text, "a"))
        feeds.append(engine.model.feeds(ids, voice.style(len(ids)), 1.0))
    return feeds


def test_rewrites_happen(variant: tuple[Path, Path, collections.Counter]) -> None:
    source, target, counts = variant
    before, after = onnx.load(str(source)), onnx.load(str(target))
    was, now = ops(before), ops(after)
    assert counts["Pow→Mul"] == was["Pow"] - now["Pow"] >= 48  # every Snake's sin²
    stamp = {p.key: p.value for p in after.metadata_props}[METADATA_KEY]
    assert json.loads(stamp)["Pow→Mul"] == counts["Pow→Mul"]
    if "DynamicQuantizeLinear" in was:  # int8: only the bit-exact rewrites
        assert counts["InstanceNormalization"] == 0
        return
    assert counts["InstanceNormalization"] >= 50  # the decoder's AdaIN norms
    assert now["InstanceNormalization"] == counts["InstanceNormalization"]
    assert was["ReduceMean"] - now["ReduceMean"] == 2 * counts["InstanceNormalization"]
    assert was["Sqrt"] - now["Sqrt"] == counts["InstanceNormalization"]
    assert counts["Conv1d→2d"] >= 60
    conv_ranks = {len(w.dims) for w in after.graph.initializer
                  if any(n.op_type == "Conv" and n.input[1] == w.name for n in after.graph.node)}
    assert 4 in conv_ranks
    assert len(after.graph.node) < len(before.graph.node)


def test_output_is_unchanged(variant: tuple[Path, Path, collections.Counter],
                             all_feeds: list[dict[str, np.ndarray]]) -> None:
    plain, fast = create_session(variant[0], CPU, 2), create_session(variant[1], CPU, 2)
    for feeds in all_feeds:
        reference, output = plain.run(None, feeds)[0], fast.run(None, feeds)[0]
        assert snr_db(reference, output) >= 100


def test_each_half_of_the_split_is_unchanged(fp32_path: Path,
                                             all_feeds: list[dict[str, np.ndarray]]) -> None:
    """The function works on the streaming decoder's halves: same boundary tensors, same
    decoder output, node scopes kept (the split of an optimised graph finds the same cut)."""
    acoustic, decoder, boundary, source = split_graph(fp32_path)
    fast_acoustic, acoustic_counts = optimize_model(acoustic)
    fast_decoder, counts = optimize_model(decoder)
    # norm chains cut by the harmonic source's boundary stay decomposed (exact either way)
    norms = counts["InstanceNormalization"] + acoustic_counts["InstanceNormalization"]
    assert norms >= 30 and counts["Pow→Mul"] + acoustic_counts["Pow→Mul"] >= 48
    assert counts["Conv1d→2d"] >= 60
    whole, _ = optimize_model(onnx.load(str(fp32_path)))
    assert find_boundary(whole.graph) == boundary
    sessions = [create_session(m.SerializeToString(), CPU, 2)
                for m in (acoustic, fast_acoustic, decoder, fast_decoder)]
    outputs = [*boundary, *source]
    wanted = {i.name for i in decoder.graph.input}
    for feeds in all_feeds[:2]:
        features = sessions[0].run(outputs, feeds)
        for a, b in zip(features, sessions[1].run(outputs, feeds), strict=True):
            assert snr_db(a, b) >= 100
        inputs = {n: v for n, v in zip(outputs, features, strict=True) if n in wanted}
        inputs["style"] = feeds["style"]
        assert snr_db(sessions[2].run(None, inputs)[0], sessions[3].run(None, inputs)[0]) >= 100


def test_cached_once_per_source_file(int8_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    shutil.copyfile(int8_path, source)
    cache = tmp_path / "cache"
    cache.mkdir()
    other = cache / "model--1-2-v1.fp32--3-4-v1.onnx"  # another file's (a rebuild's) copy
    other.write_bytes(b"kept")
    first = optimized_file(source, cache)
    made = first.stat().st_mtime_ns
    assert optimized_file(source, cache) == first and first.stat().st_mtime_ns == made
    os.utime(source, ns=(made, made + 10**9))  # a new model file under the same name
    second = optimized_file(source, cache)
    assert second != first and not first.exists() and second.is_file()
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [second.name, second.with_suffix(".json").name, other.name])


def test_unoptimisable_file_runs_as_it_is(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    assert _optimized(broken, tmp_path / "cache") == broken
    assert not list((tmp_path / "cache").glob("*.onnx"))


def test_float_models_load_the_optimised_graph_int8_runs_as_shipped(
        int8_path: Path, fp32_path: Path, tmp_path: Path) -> None:
    """The rewrites gain nothing on int8 (its activations are re-quantised per call), so the
    bundle runs as shipped and stays bit-exact; a float graph runs its optimised copy."""
    model = KokoroModel.load(fp32_path, "cpu", threads=2, streaming_decoder=False,
                             optimized_dir=tmp_path)
    assert METADATA_KEY in model.session.get_modelmeta().custom_metadata_map
    plain = KokoroModel.load(fp32_path, "cpu", threads=2, streaming_decoder=False)
    assert METADATA_KEY not in plain.session.get_modelmeta().custom_metadata_map
    int8 = KokoroModel.load(int8_path, "cpu", threads=2, streaming_decoder=True,
                            optimized_dir=tmp_path, cache_dir=tmp_path / "streaming")
    assert int8.split is not None
    for session in (int8.split.acoustic_session, int8.split.decoder_session):
        assert METADATA_KEY not in session.get_modelmeta().custom_metadata_map


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the server tests: the fp32 rebuild and its optimised copies, once."""
    path = tmp_path_factory.mktemp("optimise-data")
    bundle_assets(path)
    return path


@pytest.mark.parametrize("split", [False, True], ids=["whole", "streaming-decoder"])
def test_server_speaks_through_the_optimised_graph(bundle_dir: Path, split: bool) -> None:
    """A real client over a real socket: the server on the fp32 rebuild with --graph-optimize
    auto (the whole model, or each half of the streaming decoder) sends the same audio as
    one running the files as they are."""
    replies = {}
    for mode in (True, False):
        settings = Settings(data_dirs=[bundle_dir], model="bundle", precision="fp32",
                            allow_download=False, threads=2, streaming_decoder=split,
                            graph_optimize=mode)
        engine = load_engine(engine_config(settings), warm_up=False)
        model = engine.model
        sessions = ([model.split.acoustic_session, model.split.decoder_session] if split
                    else [model.session])
        assert (model.split is not None) is split
        for session in sessions:
            assert (METADATA_KEY in session.get_modelmeta().custom_metadata_map) is mode
        server = ServerThread(engine).start()
        try:
            replies[mode] = asyncio.run(exchange(server.uri, [Synthesize(SENTENCES[1]).event()],
                                                 until="audio-stop"))
        finally:
            server.stop()
            engine.close()
    fast, plain = replies[True].audio, replies[False].audio
    assert len(plain) > 24000 and snr_db(plain, fast) >= 80  # int16 output: ±1 LSB at most
