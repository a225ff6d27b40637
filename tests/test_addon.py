"""The Home Assistant add-on, the Docker images and the discovery files, without Docker or HA.

No Docker engine or Supervisor runs in CI, so this checks what they would check; the
manifests and options with the Supervisor's own validation code (tests/supervisor_schema.py,
copied from Supervisor 2026.08.0's supervisor/apps/validate.py and options.py by
tools/vendor_supervisor.py, since the Supervisor is not on PyPI):
- the manifests (config.yaml, build.yaml, repository.yaml, translations) — the Supervisor
  drops unknown keys and bad options silently, so a typo would only show on a user's box;
- the s6 service scripts, executed with a bashio test double (tests/bashio_double) whose
  "Supervisor" is a pair of JSON files; the server is replaced by a stub that records its
  argv, which must then parse with the real wyoming_kokoro.settings parser;
- the Dockerfiles and compose files: the same install command as README and CI, every
  copied path present, every WYOMING_KOKORO_* variable a real option.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml

from wyoming_kokoro import __version__
from wyoming_kokoro.settings import ENV_PREFIX, Settings, build_parser, parse_settings

from . import supervisor_schema as supervisor

ROOT = Path(__file__).resolve().parent.parent
S6 = ROOT / "addon" / "etc" / "s6-overlay" / "s6-rc.d"
RUN_SCRIPT = S6 / "kokoro" / "run"
FINISH_SCRIPT = S6 / "kokoro" / "finish"
DISCOVERY_SCRIPT = S6 / "discovery" / "run"
BASHIO = Path(__file__).resolve().parent / "bashio_double"
DOCKERFILES = {
    "addon": ROOT / "Dockerfile",
    "standalone": ROOT / "docker" / "Dockerfile",
    "gpu": ROOT / "docker" / "Dockerfile.gpu",
}
COMPOSE_FILES = {
    "standalone": ROOT / "docker" / "docker-compose.yml",
    "gpu": ROOT / "docker" / "docker-compose.gpu.yml",
}

def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load(ROOT / "config.yaml")


@pytest.fixture(autouse=True)
def _no_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser reads WYOMING_KOKORO_* as defaults; none may leak in from the shell."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


# ---- the Supervisor's own validation (tests/supervisor_schema.py, pinned copy) ----------

class SupervisorAdvisory(AssertionError):
    """The Supervisor logged a warning: a deprecated, ignored or dropped entry."""


@contextmanager
def no_advisories() -> Iterator[None]:
    """Fail on any warning the Supervisor's validation logs (it logs instead of refusing)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = supervisor._LOGGER
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if records:
        raise SupervisorAdvisory("; ".join(r.getMessage() for r in records))


def supervisor_config(config: dict[str, Any]) -> dict[str, Any]:
    """config.yaml as the Supervisor stores it (unknown keys dropped, defaults filled)."""
    with no_advisories():
        return supervisor.SCHEMA_APP_CONFIG(copy.deepcopy(config))


def check_options(options: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """What the Supervisor does before writing /data/options.json; ValueError where it would
    refuse, and where it would drop an option (it only logs that)."""
    try:
        with no_advisories():
            return supervisor.AppOptions(None, schema, "Kokoro TTS", "kokoro").validate(
                copy.deepcopy(options))
    except (vol.Invalid, SupervisorAdvisory) as err:
        raise ValueError(str(err)) from err


def check_value(element: str, value: Any) -> None:
    """ValueError where the Supervisor would refuse `value` for a schema element."""
    check_options({"option": value}, {"option": element})


def test_the_copy_is_the_supervisors_validation() -> None:
    """The pinned copy refuses what the Supervisor refuses (spot checks of its rules), so a
    broken copy cannot pass config.yaml by accepting everything."""
    good = {"name": "x", "version": "1.0.0", "slug": "x", "description": "d", "arch": ["amd64"]}
    supervisor_config(good)
    for key, bad in (("slug", "a b"), ("arch", ["sparc"]), ("timeout", 5), ("startup", "x"),
                     ("image", "ghcr.io/o/i:1.0"), ("ports", {"10200/xyz": None}),
                     ("schema", {"k": "float(a,b)"})):
        with pytest.raises(vol.Invalid):
            supervisor_config({**good, key: bad})
    with pytest.raises(SupervisorAdvisory, match="legacy map type"):
        supervisor_config({**good, "map": ["addon_config:rw"]})
    assert "bogus" not in supervisor_config({**good, "bogus": 1})  # dropped silently
    with pytest.raises(ValueError, match="does not exist"):
        check_options({"other": 1}, {"known": "int?"})  # the Supervisor only logs this
    for element, bad in (("int(1,8)", 9), ("float(0.5,2)", 0.1), ("bool", "maybe"),
                         ("list(a|b)", "c"), ("match(^x+$)", "y"), ("str(2,)", "a")):
        with pytest.raises(ValueError):
            check_value(element, bad)


# ---- manifests ---------------------------------------------------------------------------

def test_config_passes_the_supervisors_schema(config: dict[str, Any]) -> None:
    """The Supervisor's SCHEMA_APP_CONFIG accepts config.yaml without an advisory, and keeps
    every key (it drops unknown ones silently, so a typo would only show on a user's box)."""
    stored = supervisor_config(config)
    assert set(config) <= set(stored), f"keys the Supervisor ignores: {set(config) - set(stored)}"
    assert config["url"].startswith("https://")
    assert config["arch"] == ["amd64", "aarch64"]
    assert stored["init"] is False, "the base image's s6-overlay is PID 1"
    assert re.fullmatch(r"20\d\d\.\d{1,2}\.\d+", str(config["homeassistant"])), \
        "a minimum Home Assistant version (a release, so the store can compare it)"


def test_image_is_the_published_one(config: dict[str, Any]) -> None:
    """The Supervisor pulls `image` (per arch, tag = version) instead of building on the
    device; it must be what .github/workflows/builder.yaml pushes, under the repository's
    owner (repository.yaml url)."""
    image = supervisor_config(config)["image"]  # the Supervisor's docker_image: no tag
    assert "{arch}" in image
    owner = load(ROOT / "repository.yaml")["url"].rstrip("/").split("/")[-2]
    assert image == f"ghcr.io/{owner}/{{arch}}-addon-kokoro"


def test_version_is_the_package_version(config: dict[str, Any]) -> None:
    assert config["version"] == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert first is not None and first.group(1) == __version__, "CHANGELOG.md's newest entry"


def test_ports_discovery_map_and_backups(config: dict[str, Any]) -> None:
    assert config["ports"] == {"10200/tcp": None, "8880/tcp": None}, \
        "reached over the internal network only"
    stored = supervisor_config(config)  # ports, map entries (no legacy ones), backup_exclude
    assert set(config["ports_description"]) == set(config["ports"])
    assert config["discovery"] == ["wyoming"]
    assert config["map"] == ["app_config:rw"], "the add-on's public folder, as /config"
    assert stored["map"] == [{"type": "app_config", "read_only": False}]
    assert {"*.onnx", "*.npz", "*.bin"} <= set(config["backup_exclude"])


def test_schema_elements_and_defaults(config: dict[str, Any]) -> None:
    schema, options = config["schema"], config["options"]
    assert supervisor_config(config)["schema"] == schema  # every element one it knows
    for key, element in schema.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
        if isinstance(element, list):
            assert len(element) == 1 and isinstance(element[0], str), key
    assert check_options(options, schema) == options
    model = supervisor.RE_SCHEMA_ELEMENT.match(schema["model"])
    assert model is not None and "custom" in model.group("list").split("|")


def test_schema_rejects_what_the_server_would() -> None:
    """The schema's ranges stop bad values in the UI instead of a failed start. (A bool
    takes what voluptuous's Boolean takes: "yes"/"on"/1 are stored as true.)"""
    schema = load(ROOT / "config.yaml")["schema"]
    for key, bad in (("speed", 5.0), ("speed", 0.1), ("volume", 0.0), ("sentence_silence", 6.0),
                     ("model", "b20"), ("threads", 0), ("streaming", "sometimes"),
                     ("max_hold", -1.0), ("max_hold", 61.0), ("precision", "fp64")):
        with pytest.raises(ValueError):
            check_value(schema[key], bad)
    for blend in ("no_equals_sign", "=af_bella", "bad name=af_bella", "af_x="):
        with pytest.raises(ValueError):
            check_value(schema["blends"][0], blend)


def test_build_yaml(config: dict[str, Any]) -> None:
    build = load(ROOT / "build.yaml")
    stored = supervisor.SCHEMA_BUILD_CONFIG(copy.deepcopy(build))
    assert set(build) <= set(stored), "keys the Supervisor ignores"
    assert set(build["build_from"]) == set(config["arch"])
    for arch, image in build["build_from"].items():
        # Python 3.11: misaki does not support 3.13 (trixie), bookworm ships 3.11.
        assert image == f"ghcr.io/home-assistant/{arch}-base-debian:bookworm"
    assert all(isinstance(v, str) for v in build.get("args", {}).values())


def test_repository_yaml(config: dict[str, Any]) -> None:
    repository = load(ROOT / "repository.yaml")
    assert set(repository) <= {"name", "url", "maintainer"}
    assert isinstance(repository["name"], str) and repository["name"]
    assert repository["url"] == config["url"]


def test_translations_explain_every_option(config: dict[str, Any]) -> None:
    english = load(ROOT / "translations" / "en.yaml")
    assert supervisor.SCHEMA_APP_TRANSLATIONS(copy.deepcopy(english)) == english
    assert set(english["configuration"]) == set(config["schema"])
    for key, text in english["configuration"].items():
        assert set(text) <= {"name", "description"}, key
        assert text["name"].strip() and len(text["description"]) > 40, key
    assert set(english["network"]) == set(config["ports"])


def test_docs_walk_through_install_and_every_option(config: dict[str, Any]) -> None:
    docs = (ROOT / "DOCS.md").read_text(encoding="utf-8")
    assert config["url"] in docs, "the repository URL users paste"
    position = 0
    for step in ("**Add the repository.**", "Repositories", "**Install.**", "**Start.**",
                 "Ready", "**Add the integration.**", "Discovered", "Wyoming Protocol",
                 "**Pick the voice in a pipeline.**", "Voice assistants", "Text-to-speech",
                 "**Voice**"):
        found = docs.find(step, position)
        assert found >= 0, f"DOCS.md: {step!r} missing or out of order"
        position = found
    for key in config["schema"]:
        assert f"`{key}`" in docs, f"DOCS.md does not explain {key}"


# The store page (README.md): what a Home Assistant user needs, in this order, before any
# developer material. Every other section (internals, benchmarks, APIs) comes after DEV_START.
USER_SECTIONS = ["Home Assistant add-on / Docker", "pip", "Add it to Home Assistant", "Voices",
                 "Options", "What it reads and how", "Troubleshooting"]
DEV_START = "Development quick start"


def test_readme_puts_the_home_assistant_user_first() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    dev = headings.index(DEV_START)
    assert headings[:dev] == USER_SECTIONS, "user sections, in order, before developer ones"
    assert {"How first audio gets fast", "Performance"} <= set(headings[dev + 1:])
    first_section = readme.index("\n## ")
    assert "(DOCS.md)" in readme[:first_section], "the add-on docs linked before any section"
    developer = readme[readme.index(f"## {DEV_START}"):]
    for command in ("script/setup && script/run", "script/test"):
        assert command in developer and command not in readme[:readme.index(f"## {DEV_START}")]
    for anchor in re.findall(r"\]\(#([a-z0-9-]+)\)", readme):
        assert anchor in {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                          for h in re.findall(r"^#+ (.+)$", readme, re.MULTILINE)}, anchor


def test_no_other_addon_manifest() -> None:
    """The Supervisor parses every config.(yaml|yml|json) outside dot folders as an add-on."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    manifests = [p for p in listed.splitlines()
                 if re.fullmatch(r"config\.(yaml|yml|json)", Path(p).name)
                 and not any(part.startswith(".") for part in Path(p).parts)]
    assert manifests == ["config.yaml"]


def test_store_files_next_to_config() -> None:
    for name in ("DOCS.md", "CHANGELOG.md", "README.md", "icon.png", "logo.png",
                 "translations/en.yaml", "repository.yaml", "build.yaml", "Dockerfile"):
        assert (ROOT / name).is_file(), name


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, after checking every chunk's CRC and the pixel data."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path.name}: bad {kind!r} CRC"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None and kind == b"IEND"
    width, height, depth, color, *_ = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    return width, height


def test_icon_and_logo_sizes() -> None:
    assert png_size(ROOT / "icon.png") == (128, 128)
    assert png_size(ROOT / "logo.png") == (250, 100)


# ---- the service scripts, run with the bashio double -------------------------------------

@dataclass
class Run:
    returncode: int
    argv: list[str] | None  # what the server was started with; None: never started
    stderr: str
    calls: list[dict[str, Any]]  # Supervisor API calls, in order
    stored: dict[str, Any]  # the Supervisor's stored options afterwards


def run_service(tmp_path: Path, script: Path, options: dict[str, Any],
                stored: dict[str, Any] | None = None, api_fail: str = "",
                args: tuple[str, ...] = ()) -> Run:
    """Run an s6 script like `bashio SCRIPT`, with stubs for the server and friends."""
    assert shutil.which("bash") and shutil.which("jq"), "bashio needs bash and jq (apt jq)"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    argv_file = tmp_path / "argv"
    stub = bin_dir / "wyoming-kokoro"
    stub.write_text('#!/bin/sh\nprintf "%s\\0" "$@" > "$KOKORO_ARGV_FILE"\n')
    stub.chmod(0o755)
    (tmp_path / "options.json").write_text(json.dumps(options))
    (tmp_path / "stored.json").write_text(json.dumps(options if stored is None else stored))
    calls = tmp_path / "calls.jsonl"
    calls.write_text("")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "BASHIO_DOUBLE_OPTIONS": str(tmp_path / "options.json"),
        "BASHIO_DOUBLE_STORED": str(tmp_path / "stored.json"),
        "BASHIO_DOUBLE_CALLS": str(calls),
        "BASHIO_DOUBLE_API_FAIL": api_fail,
        "KOKORO_ARGV_FILE": str(argv_file),
        "KOKORO_STUB_DIR": str(tmp_path),
    }
    result = subprocess.run([str(BASHIO), str(script), *args], env=env, capture_output=True,
                            text=True, timeout=60)
    argv = argv_file.read_bytes().decode().split("\0")[:-1] if argv_file.exists() else None
    return Run(result.returncode, argv, result.stderr,
               [json.loads(line) for line in calls.read_text().splitlines()],
               json.loads((tmp_path / "stored.json").read_text()))


def settings_from(argv: list[str]) -> Settings:
    """The real parser must take the add-on's command line as it is."""
    _, unknown = build_parser().parse_known_args(argv)
    assert unknown == [], f"flags the server does not know: {unknown}"
    return parse_settings(argv)


# A value other than the default for every option, and what the server must then get.
NON_DEFAULT: dict[str, tuple[Any, str, Any]] = {
    "voice": ("bf_emma", "voice", "bf_emma"),
    "model": ("b48", "model", "b48"),
    "custom_model": ("models/my-kokoro.onnx", "model", "/config/models/my-kokoro.onnx"),
    "voices_file": ("/share/kokoro/voices.npz", "voices", "/share/kokoro/voices.npz"),
    "speed": (1.25, "speed", 1.25),
    "volume": (0.8, "volume", 0.8),
    "sentence_silence": (0.0, "sentence_silence", 0.0),
    "blends": (["af_mix=af_bella:2+af_sky:1", "jf_es=jf_alpha@es"], "blends",
               ["af_mix=af_bella:2+af_sky:1", "jf_es=jf_alpha@es"]),
    "streaming": (False, "streaming", False),
    "threads": (2, "threads", 2),
    "precision": ("bf16", "precision", "bf16"),
    "max_hold": (30.0, "max_hold", 30.0),
    "allow_download": (False, "allow_download", False),
    "http_api": (True, "http", "0.0.0.0:8880"),
    "http_api_key": ("s3cret key", "http_api_key", "s3cret key"),
    "debug_logging": (True, "debug", True),
}


def test_non_default_table_covers_the_schema(config: dict[str, Any]) -> None:
    assert set(NON_DEFAULT) == set(config["schema"])
    for key, (value, _, _) in NON_DEFAULT.items():
        element = config["schema"][key]
        for item in value if isinstance(element, list) else [value]:
            check_value(element[0] if isinstance(element, list) else element, item)
        assert value != config["options"].get(key), key


def test_run_script_knows_the_schema(config: dict[str, Any]) -> None:
    text = RUN_SCRIPT.read_text(encoding="utf-8")
    known = re.search(r"readonly KNOWN_OPTIONS=\(([^)]*)\)", text)
    assert known is not None
    assert sorted(known.group(1).split()) == sorted(config["schema"])


def test_default_options(tmp_path: Path, config: dict[str, Any]) -> None:
    run = run_service(tmp_path, RUN_SCRIPT, config["options"])
    assert run.returncode == 0, run.stderr
    assert run.argv is not None
    settings = settings_from(run.argv)
    options = config["options"]
    assert settings.uri == "tcp://0.0.0.0:10200"
    assert settings.data_dirs == [Path("/config"), Path("/data")]
    assert settings.download_dir == Path("/data")
    assert settings.model == options["model"] == "b64"
    assert settings.voice == options["voice"]
    assert (settings.speed, settings.volume, settings.sentence_silence) == (
        options["speed"], options["volume"], options["sentence_silence"])
    assert settings.blends == [] and settings.voices is None and settings.threads is None
    assert settings.streaming and settings.allow_download and not settings.debug
    assert settings.zeroconf is None, "the add-on is announced by Supervisor discovery"
    assert settings.http is None and settings.http_api_key is None, "the HTTP API is opt-in"
    assert [c["call"] for c in run.calls] == ["addon.options"], "nothing to migrate"


@pytest.fixture(scope="module")
def default_argv(tmp_path_factory: pytest.TempPathFactory, config: dict[str, Any]) -> list[str]:
    run = run_service(tmp_path_factory.mktemp("defaults"), RUN_SCRIPT, config["options"])
    assert run.returncode == 0 and run.argv is not None, run.stderr
    return run.argv


@pytest.mark.parametrize("key", sorted(NON_DEFAULT))
def test_each_option_reaches_its_flag(tmp_path: Path, config: dict[str, Any],
                                      default_argv: list[str], key: str) -> None:
    value, field, expected = NON_DEFAULT[key]
    options = {**config["options"], key: value}
    if key == "custom_model":
        options["model"] = "custom"
    run = run_service(tmp_path, RUN_SCRIPT, options)
    assert run.returncode == 0, run.stderr
    assert run.argv is not None and run.argv != default_argv
    settings = settings_from(run.argv)
    assert getattr(settings, field) == expected
    baseline = settings_from(default_argv)
    changed = {f for f in vars(settings) if getattr(settings, f) != getattr(baseline, f)}
    assert changed == {field}, f"{key} changed {changed}"


def test_all_options_at_once(tmp_path: Path, config: dict[str, Any]) -> None:
    options = {key: value for key, (value, _, _) in NON_DEFAULT.items()}
    options.update(model="custom", voices_file="voices/mine.npz")
    check_options(options, config["schema"])
    run = run_service(tmp_path, RUN_SCRIPT, options)
    assert run.returncode == 0, run.stderr
    settings = settings_from(run.argv or [])
    assert settings.model == "/config/models/my-kokoro.onnx"
    assert settings.voices == "/config/voices/mine.npz"
    assert settings.blends == NON_DEFAULT["blends"][0]
    assert (settings.voice, settings.speed, settings.volume, settings.sentence_silence,
            settings.threads) == ("bf_emma", 1.25, 0.8, 0.0, 2)
    assert not settings.streaming and not settings.allow_download and settings.debug
    assert (settings.http, settings.http_api_key) == ("0.0.0.0:8880", "s3cret key")
    assert "s3cret" not in run.stderr, "the API key is not logged"


def test_custom_model_needs_a_file(tmp_path: Path, config: dict[str, Any]) -> None:
    run = run_service(tmp_path, RUN_SCRIPT, {**config["options"], "model": "custom"})
    assert run.returncode != 0 and run.argv is None
    assert "[FATAL]" in run.stderr and "custom_model" in run.stderr


def test_custom_model_ignored_for_other_models(tmp_path: Path, config: dict[str, Any]) -> None:
    run = run_service(tmp_path, RUN_SCRIPT, {**config["options"], "custom_model": "x.onnx"})
    assert run.returncode == 0 and settings_from(run.argv or []).model == "b64"
    assert "[WARNING]" in run.stderr


def test_obsolete_option_is_removed(tmp_path: Path, config: dict[str, Any],
                                    default_argv: list[str]) -> None:
    """A key an older version had: options.json lacks it, the stored options still have it."""
    stored = {**config["options"], "length_scale": 1.1}
    run = run_service(tmp_path, RUN_SCRIPT, config["options"], stored=stored)
    assert run.returncode == 0, run.stderr
    assert {"call": "addon.option", "key": "length_scale", "value": ""} in run.calls
    assert run.stored == config["options"]
    check_options(run.stored, config["schema"])
    assert "length_scale" in run.stderr and "[WARNING]" in run.stderr
    assert run.argv == default_argv


def with_renames(tmp_path: Path, renames: dict[str, str]) -> Path:
    """The run script with entries in its rename table (it ships with none yet)."""
    text = RUN_SCRIPT.read_text(encoding="utf-8")
    table = "declare -A RENAMED_OPTIONS=()"
    assert text.count(table) == 1
    entries = " ".join(f"[{old}]={new}" for old, new in renames.items())
    script = tmp_path / "run"
    script.write_text(text.replace(table, f"declare -A RENAMED_OPTIONS=({entries})"))
    return script


def test_renamed_option_moves_its_value(tmp_path: Path, config: dict[str, Any]) -> None:
    script = with_renames(tmp_path, {"speaking_rate": "speed", "extra_voices": "blends"})
    stored = {**config["options"], "speaking_rate": 1.4, "extra_voices": ["af_x=af_bella+af_sky"]}
    run = run_service(tmp_path, script, config["options"], stored=stored)
    assert run.returncode == 0, run.stderr
    settings = settings_from(run.argv or [])
    assert settings.speed == 1.4, "the old value applies at once, not after another restart"
    assert settings.blends == ["af_x=af_bella+af_sky"]
    assert run.stored == {**config["options"], "speed": 1.4, "blends": ["af_x=af_bella+af_sky"]}
    check_options(run.stored, config["schema"])
    sets = [c for c in run.calls if c["call"] == "addon.option" and c["value"]]
    assert {c["key"]: c["value"] for c in sets} == {
        "speed": "^1.4", "blends": '^["af_x=af_bella+af_sky"]'}


def test_migration_when_the_supervisor_does_not_answer(tmp_path: Path,
                                                       config: dict[str, Any]) -> None:
    script = with_renames(tmp_path, {"speaking_rate": "speed"})
    stored = {**config["options"], "speaking_rate": 0.9}
    run = run_service(tmp_path / "write", script, config["options"], stored=stored,
                      api_fail="write")
    assert run.returncode == 0, run.stderr
    assert settings_from(run.argv or []).speed == 0.9
    assert "this start only" in run.stderr
    run = run_service(tmp_path / "all", script, config["options"], stored=stored, api_fail="all")
    assert run.returncode == 0, run.stderr
    assert settings_from(run.argv or []).speed == config["options"]["speed"]


def test_discovery_waits_for_describe_then_announces(tmp_path: Path) -> None:
    """Stub python3 (the health check) fails twice, then answers; stub sleep is instant."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(
        '#!/bin/sh\necho "$*" >> "$KOKORO_STUB_DIR/health"\n'
        '[ "$(wc -l < "$KOKORO_STUB_DIR/health")" -ge 3 ]\n')
    (bin_dir / "sleep").write_text('#!/bin/sh\necho "$1" >> "$KOKORO_STUB_DIR/slept"\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    run = run_service(tmp_path, DISCOVERY_SCRIPT, {})
    assert run.returncode == 0, run.stderr
    checks = (tmp_path / "health").read_text().splitlines()
    assert len(checks) == 3 and len((tmp_path / "slept").read_text().splitlines()) == 2
    health = shlex.split(checks[0])
    assert health[:2] == ["-m", "wyoming_kokoro.health"]
    assert health[health.index("--uri") + 1] == "tcp://127.0.0.1:10200"
    host = subprocess.run(["hostname"], capture_output=True, text=True, check=True).stdout.strip()
    assert run.calls == [{"call": "discovery", "service": "wyoming",
                          "config": {"uri": f"tcp://{host}:10200"}}]


@pytest.mark.parametrize(("code", "signal", "recorded", "halted"), [
    (0, 0, "0", False),  # clean exit: s6 restarts the server
    (2, 0, "2", True),  # no model: the add-on fails visibly
    (256, 15, "143", True),  # SIGTERM: the container is stopping
    (256, 9, "137", False),  # killed otherwise: s6 restarts it
])
def test_finish_script(tmp_path: Path, code: int, signal: int, recorded: str,
                       halted: bool) -> None:
    result_file, halt = tmp_path / "exitcode", tmp_path / "halt"
    result_file.write_text("0")
    halt.write_text(f'#!/bin/sh\ntouch "{tmp_path}/halted"\n')
    halt.chmod(0o755)
    text = FINISH_SCRIPT.read_text(encoding="utf-8")
    for real, fake in (("/run/s6-linux-init-container-results/exitcode", result_file),
                       ("/run/s6/basedir/bin/halt", halt)):
        assert real in text
        text = text.replace(real, str(fake))
    script = tmp_path / "finish"
    script.write_text(text)
    run = run_service(tmp_path, script, {}, args=(str(code), str(signal)))
    assert run.returncode == 0, run.stderr
    assert result_file.read_text().strip() == recorded
    assert (tmp_path / "halted").exists() == halted


def test_finish_keeps_an_earlier_failure(tmp_path: Path) -> None:
    result_file = tmp_path / "exitcode"
    result_file.write_text("3")
    text = FINISH_SCRIPT.read_text(encoding="utf-8").replace(
        "/run/s6-linux-init-container-results/exitcode", str(result_file)).replace(
        "/run/s6/basedir/bin/halt", "true")
    (tmp_path / "finish").write_text(text)
    run_service(tmp_path, tmp_path / "finish", {}, args=("2", "0"))
    assert result_file.read_text().strip() == "3"


def test_s6_service_layout() -> None:
    assert (S6 / "kokoro" / "type").read_text().strip() == "longrun"
    assert (S6 / "kokoro" / "dependencies.d" / "base").is_file()
    assert (S6 / "discovery" / "type").read_text().strip() == "oneshot"
    assert (S6 / "discovery" / "dependencies.d" / "kokoro").is_file()
    up = (S6 / "discovery" / "up").read_text().strip()
    assert ROOT / "addon" / up.lstrip("/") == DISCOVERY_SCRIPT, "the image copies addon/ to /"
    assert sorted(p.name for p in (S6 / "user" / "contents.d").iterdir()) == [
        "discovery", "kokoro"]
    for script in (RUN_SCRIPT, FINISH_SCRIPT, DISCOVERY_SCRIPT, BASHIO):
        assert os.access(script, os.X_OK), f"{script} must be executable"
        subprocess.run(["bash", "-n", str(script)], check=True)
    for script in (RUN_SCRIPT, FINISH_SCRIPT, DISCOVERY_SCRIPT):
        assert script.read_text().startswith("#!/command/with-contenv bashio\n")
    assert re.search(r"^exec wyoming-kokoro \"\$\{args\[@\]\}\"$", RUN_SCRIPT.read_text(),
                     re.MULTILINE), "exec, so s6 supervises the server itself"


# ---- Dockerfiles and compose files -----------------------------------------------------

def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in dockerfile.read_text(encoding="utf-8").splitlines()
             if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "")
            for line in joined.splitlines() if (parts := line.strip().split(None, 1))]


def dockerignore_patterns() -> list[str]:
    return [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    path = path.rstrip("/")
    return any(fnmatch(path, p) or fnmatch(path, p + "/*") or fnmatch(path, p.replace("**/", ""))
               for p in patterns)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_installs_with_script_setup(name: str) -> None:
    """One install command for README, CI and every image, so they cannot drift apart;
    images install normally (--image), and run the installed package, not the source."""
    runs = [args for op, args in instructions(DOCKERFILES[name]) if op == "RUN"]
    assert not any(re.search(r"\bpip3? install|\buv pip\b|\bpoetry\b", r) for r in runs)
    setups = [re.search(r"(?:^|&&\s*)(script/setup(?: --[a-z]+)*)", r) for r in runs]
    commands = [m.group(1) for m in setups if m]
    assert commands == ["script/setup --gpu --image" if name == "gpu" else "script/setup --image"]
    (install,) = [r for r in runs if "script/setup" in r]
    steps = [step.strip() for step in install.split("&&")]
    removed = next(i for i, step in enumerate(steps) if step.startswith("rm -rf wyoming_kokoro"))
    verified = next(i for i, step in enumerate(steps) if "verify_install.py" in step)
    assert removed < verified, "verify the installed package, with the source tree gone"
    # a CPU image carries OpenVINO's plugin (script/setup --image): its build proves it loads
    assert ("--bf16" in steps[verified]) == (name != "gpu"), steps[verified]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "script/setup" in readme and "script/setup" in (ROOT / ".ci" / "run").read_text()
    assert "requirements/nodeps.txt" in (ROOT / "script" / "setup").read_text()


def setup_pip_calls(tmp_path: Path, *args: str) -> list[list[str]]:
    """script/setup's pip commands, run against a stand-in .venv whose pip records them."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "script", checkout / "script")
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text("#!/bin/sh\necho 3.11\n")  # the version query
    log = tmp_path / "pip.log"
    (venv_bin / "pip").write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" >> "{log}"\n'
                                  f'printf "\\n" >> "{log}"\necho PIP\n')
    for tool in venv_bin.iterdir():
        tool.chmod(0o755)
    result = subprocess.run(["bash", str(checkout / "script" / "setup"), *args],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # one line saying what happens before every pip run (minutes of silence otherwise)
    lines = result.stdout.splitlines()
    assert all(i > 0 and lines[i - 1].startswith("script/setup: ")
               for i, line in enumerate(lines) if line == "PIP"), result.stdout
    return [line.split("\0")[:-1] for line in log.read_text().splitlines()]


@pytest.mark.parametrize(("args", "editable", "extras"), [
    ((), True, "cpu"),
    (("--test",), True, "cpu,test"),
    (("--image",), False, "cpu,openvino"),
    (("--gpu", "--image"), False, "gpu"),
])
def test_setup_installs_editable_only_for_developers(tmp_path: Path, args: tuple[str, ...],
                                                     editable: bool, extras: str) -> None:
    calls = setup_pip_calls(tmp_path, *args)
    (install,) = [call for call in calls if f".[{extras}]" in call]
    assert ("-e" in install) == editable, install
    assert any("requirements/nodeps.txt" in call and "--no-deps" in call for call in calls)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_copies_exist(name: str) -> None:
    patterns = dockerignore_patterns()
    copied: list[str] = []
    for op, args in instructions(DOCKERFILES[name]):
        if op not in ("COPY", "ADD") or args.startswith("--from"):
            continue
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), f"{name}: COPY {source} does not exist"
            assert not ignored(source, patterns), f"{name}: {source} is in .dockerignore"
            copied.append(source.rstrip("/"))
    # what script/setup needs to install the package
    needed = {"pyproject.toml", "README.md", "requirements", "script", "wyoming_kokoro",
              "docker/verify_install.py"}
    assert needed <= set(copied), needed - set(copied)
    if name == "addon":
        assert "addon" in copied, "the s6 services"


def test_addon_dockerfile_runs_on_the_supervisor_base() -> None:
    ops = instructions(DOCKERFILES["addon"])
    assert ops[0] == ("ARG", "BUILD_FROM=ghcr.io/home-assistant/amd64-base-debian:bookworm")
    froms = [args for op, args in ops if op == "FROM"]
    assert froms and all(f.split()[0] == "${BUILD_FROM}" for f in froms)
    assert ("COPY", "addon/ /") in ops
    env = " ".join(args for op, args in ops if op == "ENV")
    assert 'PATH="/app/.venv/bin:${PATH}"' in env, "s6 scripts call wyoming-kokoro and python3"
    assert not any(op in ("ENTRYPOINT", "CMD") for op, _ in ops), "the base image's s6 /init"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_healthcheck_is_a_describe(name: str) -> None:
    checks = [args for op, args in instructions(DOCKERFILES[name]) if op == "HEALTHCHECK"]
    assert len(checks) == 1
    command = shlex.split(checks[0].split(" CMD ", 1)[1])
    assert command[:3] == ["python3", "-m", "wyoming_kokoro.health"]
    assert command[command.index("--uri") + 1] == "tcp://127.0.0.1:10200"
    assert "--start-period=" in checks[0], "the first start downloads the model"
    usage = subprocess.run([sys.executable, "-m", "wyoming_kokoro.health", "--help"],
                           capture_output=True, text=True, cwd=ROOT, check=True).stdout
    flags = [a for a in command[3:] if a.startswith("--")]
    assert all(flag in usage for flag in flags)


def test_standalone_images() -> None:
    standalone = instructions(DOCKERFILES["standalone"])
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in standalone
    gpu = instructions(DOCKERFILES["gpu"])
    assert any(op == "ARG" and a.startswith("CUDA_IMAGE=nvidia/cuda:") for op, a in gpu)
    gpu_text = DOCKERFILES["gpu"].read_text()
    assert "--provider CUDAExecutionProvider" in gpu_text
    assert "--provider TensorrtExecutionProvider" in gpu_text
    for ops in (standalone, gpu):
        assert ("ENTRYPOINT", '["wyoming-kokoro"]') in ops
        assert any(op == "VOLUME" and "/data" in a for op, a in ops)
    assert any(op == "VOLUME" and "/trt-cache" in a for op, a in gpu)


def image_environment() -> dict[str, str]:
    """Every WYOMING_KOKORO_* the images and compose files set."""
    found: dict[str, str] = {}
    for dockerfile in DOCKERFILES.values():
        for op, args in instructions(dockerfile):
            if op == "ENV":
                found.update(dict(re.findall(rf"({ENV_PREFIX}\w+)=(\S+)", args)))
    for compose in COMPOSE_FILES.values():
        for service in load(compose)["services"].values():
            found.update({k: str(v) for k, v in service.get("environment", {}).items()})
    return found


def test_image_environment_are_real_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """WYOMING_KOKORO_X=v must mean the same as --x v (a typo would be ignored silently)."""
    environment = image_environment()
    assert {f"{ENV_PREFIX}DATA_DIR", f"{ENV_PREFIX}TRT_CACHE_DIR",
            f"{ENV_PREFIX}PROVIDERS"} <= set(environment)
    for name, value in environment.items():
        flag = "--" + name.removeprefix(ENV_PREFIX).lower().replace("_", "-")
        values = value.split(",") if flag == "--data-dir" else [value]
        expected = settings_from([arg for v in values for arg in (flag, v)])
        monkeypatch.setenv(name, value)
        assert parse_settings([]) == expected, name
        monkeypatch.delenv(name)


@pytest.mark.parametrize("name", sorted(COMPOSE_FILES))
def test_compose_file(name: str) -> None:
    compose = load(COMPOSE_FILES[name])
    (service,) = compose["services"].values()
    build = service["build"]
    context = (COMPOSE_FILES[name].parent / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).resolve() == DOCKERFILES[name]
    settings = settings_from(service["command"])
    assert settings.zeroconf is not None, "standalone runs announce themselves"
    assert service["network_mode"] == "host", "mDNS needs the host network"
    mounts = {v.split(":")[1] for v in service["volumes"]}
    assert "/data" in mounts
    assert set(compose["volumes"]) == {v.split(":")[0] for v in service["volumes"]}
    if name == "gpu":
        assert "/trt-cache" in mounts
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


# ---- the image workflow (.github/workflows/builder.yaml) ---------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "builder.yaml"
BUILDER_ACTION = re.compile(r"home-assistant/builder/actions/([a-z-]+)@(\d{4}\.\d\d\.\d+)")
RUNNERS = {"amd64": "ubuntu-24.04", "aarch64": "ubuntu-24.04-arm"}
TARGETS = {"addon": ("Dockerfile", {"amd64", "aarch64"}),
           "cpu": ("docker/Dockerfile", {"amd64", "aarch64"}),
           "gpu": ("docker/Dockerfile.gpu", {"amd64"})}


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return load(WORKFLOW)


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).split("@")[0].endswith(action)]


def test_workflow_builds_every_image_with_the_official_actions(
        workflow: dict[Any, Any], config: dict[str, Any]) -> None:
    """No Docker or GitHub here: the file is checked against what it must build."""
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) >= {"release", "pull_request"}
    uses = re.findall(r"uses: (\S+)", WORKFLOW.read_text())
    builder = [u for u in uses if u.startswith("home-assistant/builder")]
    assert builder and all(BUILDER_ACTION.fullmatch(u) for u in builder), builder
    assert len({u.split("@")[1] for u in builder}) == 1, "one builder release throughout"
    jobs = workflow["jobs"]
    build = jobs["build"]
    (step,) = steps_using(build, "build-image")
    matrix = build["strategy"]["matrix"]["include"]
    prefix = workflow["env"]["REGISTRY_PREFIX"]
    build_from = load(ROOT / "build.yaml")["build_from"]
    for target, (dockerfile, arches) in TARGETS.items():
        rows = [row for row in matrix if row["target"] == target]
        assert {row["arch"] for row in rows} == arches and len(rows) == len(arches), target
        for row in rows:
            assert row["file"] == dockerfile and (ROOT / dockerfile).is_file()
            assert row["os"] == RUNNERS[row["arch"]]
            assert row["image"].startswith(prefix + "/" + row["arch"] + "-")
            if target == "addon":
                assert row["image"] == config["image"].replace("{arch}", row["arch"])
                assert row["build-from"] == build_from[row["arch"]]
    assert {row["arch"] for row in matrix if row["target"] == "addon"} == set(config["arch"])
    assert "matrix.build-from" in step["with"]["build-args"]
    assert "matrix.image" in step["with"]["image"] and "matrix.file" in step["with"]["file"]
    assert "needs.init.outputs.version" in step["with"]["image-tags"]
    assert workflow["env"]["PUSH"] == "${{ github.event_name == 'release' }}"
    assert step["with"]["push"] == "${{ env.PUSH }}", "pull requests build without pushing"
    assert "yq -r '.version' config.yaml" in jobs["init"]["steps"][-1]["run"]


def test_workflow_manifests_name_built_images(workflow: dict[Any, Any]) -> None:
    jobs = workflow["jobs"]
    built = {row["image"] for row in jobs["build"]["strategy"]["matrix"]["include"]}
    prefix = workflow["env"]["REGISTRY_PREFIX"]
    manifest = jobs["manifest"]
    (step,) = steps_using(manifest, "publish-multi-arch-manifest")
    assert step["with"]["registry-prefix"] == "${{ env.REGISTRY_PREFIX }}"
    assert "build" in manifest["needs"] and manifest["if"] == "github.event_name == 'release'"
    names = set()
    for row in manifest["strategy"]["matrix"]["include"]:
        for arch in json.loads(row["architectures"]):
            assert f"{prefix}/{arch}-{row['image-name']}" in built, row
        names.add(row["image-name"])
    assert names == {"wyoming-kokoro", "wyoming-kokoro-gpu"}
