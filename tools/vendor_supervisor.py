"""Copy the Home Assistant Supervisor's own add-on ("app") validation into
tests/supervisor_schema.py, so tests/test_addon.py checks config.yaml, build.yaml, the
translations and the options with the Supervisor's code rather than a restatement of it.

The Supervisor is not on PyPI and imports its whole core (coresys, D-Bus, Docker), so the
definitions the validation needs are copied verbatim from a checkout at a release tag, with
every name they use from the same files, in source order. Two edits, both mechanical:
`except A, B:` (Python 3.14 syntax) becomes `except (A, B):`, and the few names from the
Supervisor's core (hardware lookups for `device` options, `!secret` lookups) get the
stand-ins in STAND_INS, which this project's schema never reaches.

Usage (from the repository root, a Supervisor clone at the tag checked out or not):
    python tools/vendor_supervisor.py /path/to/supervisor 2026.08.0
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import textwrap
from pathlib import Path

# In import order: a file uses names only from files above it.
FILES = [
    "supervisor/const.py",
    "supervisor/apps/const.py",
    "supervisor/docker/const.py",
    "supervisor/docker/utils.py",
    "supervisor/validate.py",
    "supervisor/apps/options.py",
    "supervisor/apps/validate.py",
]
SEEDS = ["SCHEMA_APP_CONFIG", "SCHEMA_BUILD_CONFIG", "SCHEMA_APP_TRANSLATIONS", "AppOptions",
         "RE_VOLUME"]
# Names defined differently in several of FILES: the file the validation imports them from.
OWNER = {"_LOGGER": "supervisor/apps/validate.py"}
STAND_INS = '''
# -- stand-ins for the Supervisor's core (not its code; never reached by this project) --
CoreSys = object


class CoreSysAttributes:
    """The Supervisor's accessors; only `!secret` and `device` options would use them."""


class HardwareNotFound(Exception):
    """Raised by the Supervisor's hardware lookup for `device` options."""


Device = object


def _create_device_filter(str_filter: str) -> dict[str, Any]:
    raise NotImplementedError("device options need the Supervisor's hardware manager")
'''
STAND_IN_NAMES = {"CoreSys", "CoreSysAttributes", "HardwareNotFound", "Device",
                  "_create_device_filter"}
HEADER = '''"""The Home Assistant Supervisor's add-on ("app") validation, copied by
tools/vendor_supervisor.py from home-assistant/supervisor {tag}
(commit {commit}), Apache License 2.0 like this project; from
{files}.

Do not edit: run the tool again for another Supervisor release. Longer than this project's
modules because it is the Supervisor's code, kept whole (the schemas and everything they use).
"""
# ruff: noqa

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path, PurePath
from typing import Any, NotRequired, Self, TypedDict
import hashlib
import logging
import re
import secrets
import signal
import uuid

from awesomeversion import AwesomeVersion
import voluptuous as vol
'''


def _source(repo: Path, tag: str, path: str) -> str:
    text = subprocess.run(["git", "-C", str(repo), "show", f"{tag}:{path}"], check=True,
                          capture_output=True, text=True).stdout
    return re.sub(r"^(\s*)except ([\w.]+(?:, [\w.]+)+):", r"\1except (\2):", text,
                  flags=re.MULTILINE)


def _defines(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, ast.AnnAssign) else [])
    return [t.id for t in targets if isinstance(t, ast.Name)]


def collect(repo: Path, tag: str) -> tuple[list[str], list[str]]:
    """The source segments SEEDS need, in file and line order, and the files they came from."""
    where: dict[str, tuple[int, ast.stmt, str]] = {}
    for index, path in enumerate(FILES):
        text = _source(repo, tag, path)
        for node in ast.parse(text).body:
            for name in _defines(node):
                if name in where and OWNER.get(name) != path:
                    if OWNER.get(name) is None and ast.dump(where[name][1]) != ast.dump(node):
                        raise SystemExit(f"{name} differs in {FILES[where[name][0]]} and "
                                         f"{path}: say which in OWNER")
                    continue  # the same definition twice: the first one
                where[name] = (index, node, text)
    wanted: set[str] = set()
    todo = list(SEEDS)
    while todo:
        name = todo.pop()
        if name in wanted or name in STAND_IN_NAMES:
            continue
        if name not in where:
            continue  # a builtin or an imported module
        wanted.add(name)
        _, node, _ = where[name]
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    nodes = {id(where[n][1]): where[n] for n in wanted}
    ordered = sorted(nodes.values(), key=lambda item: (item[0], item[1].lineno))
    segments = [ast.get_source_segment(text, node, padded=False) or "" for _, node, text in
                ordered]
    used = sorted({FILES[index] for index, _, _ in ordered}, key=FILES.index)
    return segments, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a clone of home-assistant/supervisor")
    parser.add_argument("tag", help="the release to copy, e.g. 2026.08.0")
    parser.add_argument("--out", type=Path, default=Path("tests/supervisor_schema.py"))
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(args.repo), "rev-list", "-n1", args.tag],
                            check=True, capture_output=True, text=True).stdout.strip()
    segments, used = collect(args.repo, args.tag)
    files = textwrap.fill(", ".join(used), 96)
    text = HEADER.format(tag=args.tag, commit=commit, files=files)
    text += STAND_INS + "\n\n" + "\n\n\n".join(segments) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(segments)} definitions from {len(used)} files of {args.tag}")


if __name__ == "__main__":
    main()
