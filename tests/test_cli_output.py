"""What the command-line tools print: speak's help names itself and --voice, --voice picks
the voice, --data-dir's metavar, and jieba's log lines appear once and only when asked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .hardening_support import PYTHON, ROOT, cli_env, fast_assets

JIEBA_LINE = "Building prefix dict"
LOG_JIEBA = """
import logging, sys
logging.basicConfig(level=getattr(logging, sys.argv[1]),
                    format="%(levelname)s %(name)s: %(message)s")
from wyoming_kokoro.phonemes.g2p import G2PRegistry
print(G2PRegistry().phonemize("你好，世界。", "z"))
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, *args], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=120, check=False)


def test_speak_help_names_the_module_and_lists_voice() -> None:
    result = run("-m", "wyoming_kokoro.speak", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m wyoming_kokoro.speak ")
    assert "speak.py" not in result.stdout
    assert "--voice VOICE" in result.stdout


def test_speak_voice_is_used(tmp_path: Path) -> None:
    model, voices = fast_assets()
    out = tmp_path / "out.wav"
    result = run("-m", "wyoming_kokoro.speak", "Hello there.", "-o", str(out), "--voice",
                 "bf_emma", "--model", str(model), "--voices", str(voices), "--no-download",
                 "--threads", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("(bf_emma)") and out.stat().st_size > 44


def test_data_dir_metavar() -> None:
    result = run("-m", "wyoming_kokoro", "--help")
    assert "--data-dir DATA_DIR " in result.stdout and "DATA_DIRS" not in result.stdout


@pytest.mark.parametrize(("level", "expected"), [("INFO", 0), ("DEBUG", 1)])
def test_jieba_logs_once_through_our_logging(level: str, expected: int) -> None:
    """jieba had its own stderr handler: each line raw, then again as `DEBUG jieba:`."""
    result = run("-c", LOG_JIEBA, level)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if JIEBA_LINE in line]
    assert len(lines) == expected, result.stderr
    assert all(line.startswith("DEBUG jieba: ") for line in lines)
