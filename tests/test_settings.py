"""Flags, environment variables and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from wyoming_kokoro.settings import parse_settings


def test_defaults() -> None:
    s = parse_settings([])
    assert s.uri == "tcp://0.0.0.0:10200" and s.model == "b64" and s.streaming
    assert s.data_dirs == [Path("data")] and s.zeroconf is None


def test_flags(tmp_path: Path) -> None:
    s = parse_settings(["--uri", "tcp://127.0.0.1:1", "--data-dir", str(tmp_path), "--data-dir",
                        "/x", "--model", "b48", "--voice", "bf_emma", "--speed", "1.2",
                        "--blend", "a=af_bella:1+af_sky:1", "--blend", "b=jf_alpha@es",
                        "--no-streaming", "--zeroconf", "--threads", "2"])
    assert s.data_dirs == [tmp_path, Path("/x")] and s.target_dir == tmp_path
    assert (s.model, s.voice, s.speed, s.threads) == ("b48", "bf_emma", 1.2, 2)
    assert s.blends == ["a=af_bella:1+af_sky:1", "b=jf_alpha@es"]
    assert not s.streaming and s.zeroconf == ""


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYOMING_KOKORO_VOICE", "af_sky")
    monkeypatch.setenv("WYOMING_KOKORO_SPEED", "0.9")
    monkeypatch.setenv("WYOMING_KOKORO_BLEND", "a=af_bella@en,b=af_sky@es")
    monkeypatch.setenv("WYOMING_KOKORO_NO_STREAMING", "true")
    monkeypatch.setenv("WYOMING_KOKORO_DATA_DIR", "/a,/b")
    s = parse_settings([])
    assert (s.voice, s.speed, s.streaming) == ("af_sky", 0.9, False)
    assert s.blends == ["a=af_bella@en", "b=af_sky@es"] and s.data_dirs == [Path("/a"), Path("/b")]
    assert parse_settings(["--voice", "bf_emma"]).voice == "bf_emma"  # flags win


@pytest.mark.parametrize("argv", [["--speed", "0"], ["--speed", "9"], ["--volume", "-1"],
                                  ["--samples-per-chunk", "0"], ["--threads", "0"]])
def test_invalid_values_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_settings(argv)
