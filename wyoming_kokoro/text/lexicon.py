"""Pronunciation control: `[word](/phonemes/)` in text, and the user lexicon files.

Lexicon files live in one directory (default `DATA_DIR/lexicon`), one per language, named
by any code the server accepts: `en.txt` (both Englishes), `en-gb.txt`, `fr.txt`, `ja.txt`…
A more specific file wins over `en.txt`. One entry per line:

    # comment
    Kokoro        /kˈOkəɹO/          phonemes: Kokoro symbols or IPA, between slashes
    Nguyen        = win               a respelling, read like any other text
    Home Assistant /hˈOm əsˈɪstᵊnt/   several words are one entry

Matching ignores case and respects word edges (not in unspaced CJK). Files are re-read
when they change, so a fix takes effect on the next sentence without a restart.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from wyoming_kokoro.languages import ENGLISH, resolve_language
from wyoming_kokoro.text.spans import Span

_LOGGER = logging.getLogger(__name__)

OVERRIDE_RE = re.compile(r"\[([^\[\]]+)\]\(/([^/()]+)/\)")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_RECHECK_SECONDS = 2.0


def split_overrides(text: str) -> list[Span]:
    """'Say [Kokoro](/kˈOkəɹO/) now' → text, phoneme span, text."""
    spans: list[Span] = []
    last = 0
    for m in OVERRIDE_RE.finditer(text):
        if m.start() > last:
            spans.append(Span(text=text[last:m.start()]))
        spans.append(Span(text=m.group(1), phonemes=m.group(2)))
        last = m.end()
    if last < len(text):
        spans.append(Span(text=text[last:]))
    return spans


@dataclass(frozen=True)
class Entry:
    key: str
    phonemes: str | None = None
    alias: str | None = None


def parse_lexicon(text: str, source: str = "lexicon") -> dict[str, Entry]:
    """Lines of `word /phonemes/` or `word = respelling` → entries by lower-cased word."""
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := re.fullmatch(r"(.+?)\s*/([^/]+)/", line):
            entry = Entry(m.group(1).strip(), phonemes=m.group(2).strip())
        elif "=" in line:
            key, _, alias = line.partition("=")
            entry = Entry(key.strip(), alias=alias.strip())
        else:
            _LOGGER.warning("%s line %d: expected 'word /phonemes/' or 'word = respelling'",
                            source, number)
            continue
        if entry.key and (entry.phonemes or entry.alias):
            entries[entry.key.casefold()] = entry
    return entries


_Table = tuple[dict[str, Entry], re.Pattern[str] | None]


def _languages_of(stem: str) -> tuple[str, ...]:
    if stem.lower() in ("en", "english"):
        return ENGLISH
    code = resolve_language(stem)
    return (code,) if code else ()


class Lexicon:
    """The user's lexicon directory, per language, re-read when a file changes."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature: tuple = ()
        self._tables: dict[str, _Table] = {}

    def apply(self, text: str, language: str) -> list[Span]:
        """Text → text spans (respellings substituted) and phoneme spans for entries."""
        self._refresh()
        table, pattern = self._tables.get(language, ({}, None))
        if pattern is None:
            return [Span(text=text)]
        spans: list[Span] = []
        pending = ""
        last = 0
        for m in pattern.finditer(text):
            entry = table.get(m.group(0).casefold())
            pending += text[last:m.start()]
            if entry is None:
                pending += m.group(0)
            elif entry.alias is not None:
                pending += entry.alias
            else:
                if pending:
                    spans.append(Span(text=pending))
                pending = ""
                spans.append(Span(text=m.group(0), phonemes=entry.phonemes))
            last = m.end()
        pending += text[last:]
        if pending:
            spans.append(Span(text=pending))
        return spans

    # -- loading ---------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix == ".txt" and p.is_file())

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < _RECHECK_SECONDS:
            return
        with self._lock:
            if now - self._checked < _RECHECK_SECONDS:
                return
            self._checked = now
            try:
                files = self._files()
                signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
            except OSError as err:
                _LOGGER.warning("Cannot read lexicon directory %s: %s", self.directory, err)
                return
            if signature != self._signature:
                self._signature = signature
                self._tables = self._load(files)

    def _load(self, files: list[Path]) -> dict[str, _Table]:
        merged: dict[str, dict[str, Entry]] = {}
        # broad files (en.txt → a and b) first, so that en-gb.txt can override them
        for path in sorted(files, key=lambda p: len(_languages_of(p.stem)), reverse=True):
            languages = _languages_of(path.stem)
            if not languages:
                _LOGGER.warning("Lexicon %s: unknown language %r in the file name", path,
                                path.stem)
                continue
            try:
                entries = parse_lexicon(path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError) as err:
                _LOGGER.warning("Cannot read lexicon %s: %s", path, err)
                continue
            for code in languages:
                merged.setdefault(code, {}).update(entries)
            _LOGGER.info("Lexicon %s: %d entries for %s", path.name, len(entries),
                         "/".join(languages))
        return {code: (table, _compile(table)) for code, table in merged.items()}


def _compile(table: dict[str, Entry]) -> re.Pattern[str] | None:
    if not table:
        return None
    parts = []
    for key in sorted(table, key=len, reverse=True):
        word = re.escape(table[key].key)
        if _CJK_RE.search(key):
            parts.append(word)
        else:
            parts.append(rf"(?<!\w){word}(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE)
