"""Each language's words and rules, one module per language, and `speller(code)`: the one
way the text layer gets them (by Kokoro language code)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from wyoming_kokoro.text.lang.base import Speller
from wyoming_kokoro.text.lang.en import English
from wyoming_kokoro.text.lang.es import Spanish
from wyoming_kokoro.text.lang.fr import French
from wyoming_kokoro.text.lang.hi import Hindi
from wyoming_kokoro.text.lang.it import Italian
from wyoming_kokoro.text.lang.ja import Japanese
from wyoming_kokoro.text.lang.pt import Portuguese
from wyoming_kokoro.text.lang.zh import Mandarin

__all__ = ["SPELLERS", "Speller", "speller"]

SPELLERS: dict[str, Callable[[], Speller]] = {
    "a": English, "b": lambda: English(british=True), "e": Spanish, "f": French, "h": Hindi,
    "i": Italian, "j": Japanese, "p": Portuguese, "z": Mandarin,
}


@cache
def speller(code: str) -> Speller:
    """The speller for a Kokoro language code (a b e f h i j p z); KeyError for others."""
    return SPELLERS[code]()
