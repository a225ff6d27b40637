"""Shared fixtures: the offline bundle engine (loaded once) and a live loopback server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never contact Hugging Face

from wyoming_kokoro.config import engine_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.synth.pipeline import Engine

from .support import ServerThread


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(data_dirs=[data_dir], model="bundle", allow_download=False, threads=2,
                    blends=["af_mix=jf_alpha:2+jf_nezumi:1@en-us"])


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = load_engine(engine_config(settings))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def server(engine: Engine) -> Iterator[ServerThread]:
    thread = ServerThread(engine, Settings(max_text_length=5000)).start()
    yield thread
    thread.stop()
