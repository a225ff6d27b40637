"""Settings → the typed config each layer takes.

Every option's default, flag and validation live once, in settings.py. Each layer declares the
fields it needs as a frozen dataclass (loader.EngineConfig, service.ServiceConfig,
wyoming.server.WyomingConfig) named as in Settings, and is handed exactly those: nothing is
copied by hand, and a layer never sees options it does not use.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from wyoming_kokoro.loader import EngineConfig
from wyoming_kokoro.service import ServiceConfig
from wyoming_kokoro.settings import Settings
from wyoming_kokoro.wyoming.server import WyomingConfig

_Config = TypeVar("_Config")


def _take(config_type: type[_Config], settings: Settings) -> _Config:
    """The config with each field taken from the Settings attribute of the same name."""
    values: dict[str, Any] = {field.name: getattr(settings, field.name)
                              for field in dataclasses.fields(config_type)}  # type: ignore[arg-type]
    return config_type(**values)


def engine_config(settings: Settings) -> EngineConfig:
    return _take(EngineConfig, settings)


def service_config(settings: Settings) -> ServiceConfig:
    return _take(ServiceConfig, settings)


def wyoming_config(settings: Settings) -> WyomingConfig:
    return _take(WyomingConfig, settings)
