"""Settings → each layer's typed config: every default written once, every value handed on."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wyoming_kokoro.config import engine_config, service_config, wyoming_config
from wyoming_kokoro.loader import EngineConfig
from wyoming_kokoro.service import ServiceConfig
from wyoming_kokoro.settings import ENV_PREFIX, Settings, parse_settings
from wyoming_kokoro.wyoming.server import WyomingConfig

BUILDERS = [(EngineConfig, engine_config), (ServiceConfig, service_config),
            (WyomingConfig, wyoming_config)]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def test_the_command_line_defaults_are_the_settings_defaults(clean_environment: None) -> None:
    """The flags take their defaults from Settings: a drifted one shows up here."""
    assert parse_settings([]) == Settings()


@pytest.mark.parametrize(("config_type", "build"), BUILDERS,
                         ids=[c.__name__ for c, _ in BUILDERS])
def test_layer_configs_have_no_defaults_of_their_own(config_type: type,
                                                     build: Callable[[Settings], object]) -> None:
    for field in dataclasses.fields(config_type):
        assert field.default is dataclasses.MISSING, field.name
        assert field.default_factory is dataclasses.MISSING, field.name


@pytest.mark.parametrize(("config_type", "build"), BUILDERS,
                         ids=[c.__name__ for c, _ in BUILDERS])
def test_each_layer_gets_the_settings_values(config_type: type,
                                             build: Callable[[Settings], object]) -> None:
    settings = parse_settings([
        "--model", "b48", "--data-dir", "/d1", "--download-dir", "/dl", "--voice", "bf_emma",
        "--speed", "1.3", "--samples-per-chunk", "333", "--max-text-length", "77",
        "--max-concurrent", "3", "--max-client-concurrent", "2", "--idle-timeout", "9",
        "--write-timeout", "8", "--no-streaming", "--precision", "fp16", "--first-model", "off",
        "--blend", "x=af_bella:1+af_sky:1", "--threads", "5", "--workers", "2"])
    config: Any = build(settings)
    assert isinstance(config, config_type)
    for field in dataclasses.fields(config_type):
        assert getattr(config, field.name) == getattr(settings, field.name), field.name
    if config_type is EngineConfig:
        assert config.target_dir == Path("/dl") and config.precision == "fp16"
        assert (config.model, config.voice, config.threads) == ("b48", "bf_emma", 5)
    elif config_type is ServiceConfig:
        assert (config.max_text_length, config.client_concurrent) == (77, 2)
    else:
        assert (config.samples_per_chunk, config.streaming) == (333, False)
