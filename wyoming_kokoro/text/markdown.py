"""Block-level markdown → speakable lines, incrementally, before sentences are detected.

Runs on streamed text as it arrives, so that a numbered list marker ("1. ") never looks
like the end of a sentence to the detector, a heading or list item becomes a sentence of
its own (an item with a short pause before it), and a fenced code block is skipped whole
even when it spans many chunks. A line's start is held back only until it is clear whether it
opens with a marker (a few characters); the rest of the line passes straight through.
Inline markup (links, emphasis, code spans, emoji) is left to `cleanup`.
"""

from __future__ import annotations

import re

from wyoming_kokoro.text.punctuation import SENTENCE_END

LIST_PAUSE = "[pause:0.3s]"  # before each list item
_LINE_END = SENTENCE_END + ":;"  # a line ending in these needs no full stop added

_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}(\s+|$)")
_ITEM_RE = re.compile(r"^\s*(?:[-*+•‣◦▪●]|\d{1,3}[.)])\s+")
_QUOTE_RE = re.compile(r"^\s{0,3}(>\s?)+")
_TABLE_RE = re.compile(r"^\s*\|")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# A line start that may still grow into a marker: wait for more text before deciding.
_UNDECIDED_RE = re.compile(r"^\s*(#{0,6}|[-*+•‣◦▪●_~`>|]{0,3}|\d{1,3}[.)]?)$")


class MarkdownLines:
    """Feed chunks with `add`, take what is safe to speak; `finish` flushes the rest."""

    def __init__(self) -> None:
        self._pending = ""  # undecided start of the current line
        self._kind: str | None = None  # set once the current line's start is decided
        self._fence = False  # inside ``` … ```
        self._last = ""  # last non-space character emitted on the current line
        self._row = ""  # a table row is held until its line ends

    def add(self, chunk: str) -> str:
        out: list[str] = []
        text = self._pending + chunk
        self._pending = ""
        while text:
            newline = text.find("\n")
            line, rest = (text, None) if newline < 0 else (text[:newline], text[newline + 1:])
            if self._kind is None:
                if rest is None and _UNDECIDED_RE.match(line):
                    self._pending = line
                    break
                line = self._open(line, out)
            out.append(self._body(line))
            if rest is None:
                break
            out.append(self._close())
            text = rest
        return "".join(out)

    def finish(self) -> str:
        out: list[str] = []
        if self._pending:
            out.append(self._body(self._open(self._pending, out)))
            self._pending = ""
        if self._kind is not None:
            tail = self._close()
            out.append(tail.rstrip("\n"))
        self._fence = False
        return "".join(out)

    # -- one line ------------------------------------------------------------------------
    def _open(self, line: str, out: list[str]) -> str:
        """Decide what the line is; return its text without the marker."""
        self._last = ""
        if _FENCE_RE.match(line):
            self._fence = not self._fence
            self._kind = "fence-mark"
            return ""
        if self._fence:
            self._kind = "code"
            return ""
        if _RULE_RE.match(line) or (_TABLE_RULE_RE.match(line) and "-" in line):
            self._kind = "rule"
            return ""
        if m := _HEADING_RE.match(line):
            self._kind = "heading"
            return line[m.end():].rstrip("# ")
        if m := _ITEM_RE.match(line):
            self._kind = "item"
            out.append(LIST_PAUSE)
            return line[m.end():]
        if m := _QUOTE_RE.match(line):
            line = line[m.end():]
        if _TABLE_RE.match(line):
            self._kind = "table"
            return line
        self._kind = "text"
        return line

    def _body(self, text: str) -> str:
        if self._kind in ("fence-mark", "code", "rule"):
            return ""
        if self._kind == "table":
            self._row += text
            return ""
        if stripped := text.rstrip():
            self._last = stripped[-1]
        return text

    def _close(self) -> str:
        """The line ended: items, headings and table rows end their sentence."""
        kind, self._kind = self._kind, None
        row = ""
        if kind == "table":
            row, self._row = re.sub(r"\s*\|\s*", ", ", self._row).strip(", "), ""
            self._last = row[-1:]
        if kind in ("item", "heading", "table") and self._last:
            end = "" if self._last in _LINE_END else "."
            return row + end + "\n\n"
        if kind in ("fence-mark", "code", "rule"):
            return "" if kind == "code" else "\n\n"
        return "\n"
