"""Fixed-bucket models: a request's first words go to the small first-audio bucket (b32)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wyoming_kokoro.config import engine_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.settings import Settings

from .synthetic import build_bucket_model, data_dir_with


def spy(model, calls: list[tuple[int, int]]) -> None:
    original = model.run

    def run(ids, style, speed=1.0):
        calls.append((model.contract.bucket, len(ids)))
        return original(ids, style, speed)

    model.run = run


@pytest.mark.parametrize("first", ["auto", "b32"])
def test_first_words_on_the_small_bucket(tmp_path: Path, first: str) -> None:
    settings = Settings(data_dirs=[data_dir_with(tmp_path, [32, 64])], model="b64",
                        allow_download=False, threads=1, first_model=first)
    engine = load_engine(engine_config(settings), warm_up=False)
    assert engine.first_model is not None and engine.first_model.contract.bucket == 32
    calls: list[tuple[int, int]] = []
    spy(engine.model, calls)
    spy(engine.first_model, calls)
    text = ("Turned on the kitchen lights and the hallway lights for you. "
            "The living room is warm.")
    list(engine.render_text(text, engine.voices.voices["af_heart"]))
    assert calls[0][0] == 32 and calls[0][1] <= 30  # first words: small, cheap call
    assert all(bucket == 64 for bucket, _ in calls[1:]) and len(calls) >= 3
    engine.close()


def test_off_or_missing_small_bucket(tmp_path: Path) -> None:
    data = data_dir_with(tmp_path, [64])
    engine = load_engine(engine_config(Settings(data_dirs=[data], model="b64",
                                                allow_download=False, threads=1)), warm_up=False)
    assert engine.first_model is None  # b32 not there and no download: main model only
    engine.close()
    build_bucket_model(data / "onnx" / "kokoro-82m-streaming-b32-fp16.onnx", bucket=32)
    engine = load_engine(engine_config(Settings(data_dirs=[data], model="b64",
                                                allow_download=False, threads=1,
                                                first_model="off")), warm_up=False)
    assert engine.first_model is None
    engine.close()
