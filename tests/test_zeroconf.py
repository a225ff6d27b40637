"""Zeroconf announcement, seen by a real browser inside a network namespace the test creates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from wyoming_kokoro.wyoming.discovery import announce_host, default_name

SCRIPT = Path(__file__).parent / "scripts" / "zeroconf_in_netns.py"


def test_announce_host_never_wildcard() -> None:
    assert announce_host("0.0.0.0", None) is None  # detect the routed address instead
    assert announce_host("::", None) is None
    assert announce_host("0.0.0.0", "192.0.2.7") == "192.0.2.7"
    assert announce_host("127.0.0.1", None) == "127.0.0.1"
    assert default_name().startswith("kokoro-")


def test_registration_seen_by_browser_in_private_namespace(data_dir: Path) -> None:
    assert shutil.which("unshare") and shutil.which("ip"), "needs util-linux unshare and iproute2"
    done = subprocess.run(["unshare", "--net", sys.executable, str(SCRIPT), str(data_dir)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"], result
    assert result["addresses"] == ["127.0.0.1"]  # the detected address, never 0.0.0.0
    assert result["port"] == 10200 and result["describe"] == "info"
    assert result["removed"] and result["exit_code"] == 0  # unregistered on SIGTERM
