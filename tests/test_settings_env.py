"""WYOMING_KOKORO_* variables go through the same checks as the flags (Docker and the add-on
configure through them), with the flag's own message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wyoming_kokoro.settings import ENV_PREFIX, build_parser, env_name, parse_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        parse_settings(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(("flag", "value"), [
    ("--speed", "100"), ("--speed", "abc"), ("--volume", "-5"), ("--volume", "0"),
    ("--emoji", "bogus"), ("--streaming-decoder", "maybe"), ("--threads", "x"),
    ("--samples-per-chunk", "0"), ("--max-concurrent", "-1"), ("--idle-timeout", "nan?"),
    ("--sentence-silence", "6"), ("--max-client-concurrent", "0"),
])
def test_bad_environment_value_is_refused_like_the_flag(
        flag: str, value: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    flag_message = _error(capsys, [f"{flag}={value}"])
    monkeypatch.setenv(env_name(flag), value)
    assert _error(capsys, []) == f"{flag_message} (from {env_name(flag)})"


def test_environment_values_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SPEED": "1.5", "THREADS": "3", "MAX_CLIENT_CONCURRENT": "2",
                        "EMOJI": "name", "STREAMING_DECODER": "off", "DEBUG": "on",
                        "NO_DOWNLOAD": "false", "ZEROCONF": "kitchen", "VOLUME": "0.5"}.items():
        monkeypatch.setenv(ENV_PREFIX + name, value)
    s = parse_settings([])
    assert (s.speed, s.threads, s.max_client_concurrent, s.emoji) == (1.5, 3, 2, "name")
    assert (s.streaming_decoder, s.debug, s.allow_download, s.zeroconf) == (
        False, True, True, "kitchen")
    assert s.volume == 0.5


def test_flag_wins_over_a_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PREFIX + "SPEED", "abc")
    assert parse_settings(["--speed", "2"]).speed == 2.0
    assert parse_settings(["--speed=0.5"]).speed == 0.5


def test_boolean_variables_are_checked(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ENV_PREFIX + "DEBUG", "maybe")
    assert "WYOMING_KOKORO_DEBUG: expected true or false, got 'maybe'" in _error(capsys, [])
    monkeypatch.setenv(ENV_PREFIX + "DEBUG", "0")
    assert parse_settings([]).debug is False


def test_every_option_has_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each option of the parser is reachable as WYOMING_KOKORO_<OPTION> (a new option
    added without it would be invisible to Docker and add-on users)."""
    samples = {int: "3", float: "0.5"}
    for action in build_parser()._actions:
        flag = next((s for s in action.option_strings if s.startswith("--")), None)
        if flag in (None, "--help", "--version"):
            continue
        kind = getattr(action.type, "__name__", "")
        value = (action.choices[-1] if action.choices else "true" if action.nargs == 0
                 else "127.0.0.1:8880" if flag == "--http"
                 else samples.get({"int": int, "float": float}.get(kind, str), "/x/value"))
        monkeypatch.setenv(env_name(flag), str(value))
        expected = parse_settings([flag] if action.nargs == 0 else [f"{flag}={value}"])
        assert parse_settings([]) == expected, flag
        monkeypatch.delenv(env_name(flag))


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_survives_a_bad_variable(argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(WYOMING_KOKORO_SPEED="abc", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "wyoming_kokoro", *argv], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.strip()


def test_server_refuses_a_bad_variable_without_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(WYOMING_KOKORO_VOLUME="-5", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "wyoming_kokoro"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(
        "argument --volume: must be > 0.0 and ≤ 10.0, got -5 (from WYOMING_KOKORO_VOLUME)")
