"""The package reads as the data path: imports flow one way, from higher layers to lower.

Layers, lowest first (a module may import its own layer or lower, never higher):
  base      languages, voices, audio: vocabulary every layer shares
  text      what people, LLMs and SSML write → sentences of spans
  phonemes  spans → phoneme strings → tokens
  model     the ONNX graph: assets, session, contract, split decoder, precision
  synth     text → PCM for every request, one worker pool
  assembly  loader: a typed config → a ready engine; service: what both doors share
  doors     wyoming/ and speech_api/: the two ways in
  app       settings, config, __main__, speak, health: what a user runs
The benchmark and the quality judges live outside the package, in bench/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wyoming_kokoro"
LAYERS = ["base", "text", "phonemes", "model", "synth", "assembly", "doors", "app"]
PLACES = {
    "": "base", "languages": "base", "voices": "base", "audio": "base",
    "text": "text", "phonemes": "phonemes", "model": "model", "synth": "synth",
    "loader": "assembly", "service": "assembly",  # service: what both doors share
    "wyoming": "doors", "speech_api": "doors",
    "settings": "app", "config": "app", "__main__": "app", "speak": "app", "health": "app",
}
MAX_LINES = 300
LONG_REASON = "Long because"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module this file imports, lazy and type-only imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the package uses absolute ones"
            base = node.module or ""
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    assert top in PLACES, f"{module}: give it a layer in tests/test_layout.py"
    return PLACES[top]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_no_upward_import() -> None:
    upward = [f"{m} ({_layer(m)}) imports {d} ({_layer(d)})"
              for m, deps in _graph().items() for d in deps
              if d != "wyoming_kokoro"  # the package's __version__
              and LAYERS.index(_layer(d)) > LAYERS.index(_layer(m))]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep):], dep]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_long_modules_say_why() -> None:
    long = []
    for name, path in _modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_LINES and LONG_REASON not in (ast.get_docstring(
                ast.parse(text)) or ""):
            long.append(f"{name}: {text.count(chr(10))} lines")
    assert not long, (f"modules over {MAX_LINES} lines need a '{LONG_REASON} …' line in their "
                      "docstring, or a split:\n" + "\n".join(long))
