"""Zeroconf announcement, seen by a real browser inside a network namespace the test creates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wyoming_kokoro.wyoming.discovery import announce_host, default_name

SCRIPT = Path(__file__).parent / "scripts" / "zeroconf_in_netns.py"
# System tools the namespace test runs, and the Debian/Ubuntu package with each (.ci/run
# installs them). Missing ones fail the test by name, never skip it: CI must run it.
SYSTEM_TOOLS = {"unshare": "util-linux", "ip": "iproute2"}


def require_tools(tools: dict[str, str]) -> None:
    """Fail (no traceback) naming each missing tool and the package to install."""
    missing = {tool: package for tool, package in tools.items() if shutil.which(tool) is None}
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        pytest.fail(f"{' and '.join(missing)} not found on PATH, needed by this test: "
                    f"install with `apt-get install {packages}`", pytrace=False)


def test_a_missing_tool_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no tool is found
    with pytest.raises(pytest.fail.Exception,
                       match=r"^unshare and ip not found .*`apt-get install iproute2 util-linux`$"):
        require_tools(SYSTEM_TOOLS)
    require_tools({})  # nothing needed: passes


def test_announce_host_never_wildcard() -> None:
    assert announce_host("0.0.0.0", None) is None  # detect the routed address instead
    assert announce_host("::", None) is None
    assert announce_host("0.0.0.0", "192.0.2.7") == "192.0.2.7"
    assert announce_host("127.0.0.1", None) == "127.0.0.1"
    assert default_name().startswith("kokoro-")


def test_registration_seen_by_browser_in_private_namespace(data_dir: Path) -> None:
    require_tools(SYSTEM_TOOLS)
    done = subprocess.run(["unshare", "--net", sys.executable, str(SCRIPT), str(data_dir)],
                          capture_output=True, text=True, timeout=180)
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.fail(f"`unshare --net` was refused ({done.stderr.strip()[-300:]}): run the tests "
                    "as root, or in a container started with --cap-add SYS_ADMIN",
                    pytrace=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"], result
    assert result["addresses"] == ["127.0.0.1"]  # the detected address, never 0.0.0.0
    assert result["port"] == 10200 and result["describe"] == "info"
    assert result["removed"] and result["exit_code"] == 0  # unregistered on SIGTERM
