"""Voice packs: loading, languages, human descriptions, named blends and fallbacks."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wyoming_kokoro.languages import LANGUAGES, resolve_language

_LOGGER = logging.getLogger(__name__)

PACK_SHAPE = (510, 1, 256)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Kokoro's best-rated pack per language, used when a request names only a language.
PREFERRED = {"a": "af_heart", "b": "bf_emma", "e": "ef_dora", "f": "ff_siwis", "h": "hf_alpha",
             "i": "if_sara", "j": "jf_alpha", "p": "pf_dora", "z": "zf_xiaobei"}


class VoiceError(ValueError):
    """A voice file or blend specification is unusable."""


@dataclass(frozen=True)
class Voice:
    """A speakable voice: a style pack plus the language whose G2P it uses."""

    name: str
    language: str  # Kokoro code
    pack: np.ndarray  # (510, 1, 256) float32
    description: str
    blend: str | None = None  # the spec it was built from, for custom voices

    def style(self, tokens: int) -> np.ndarray:
        """Style row for a segment of `tokens` real phonemes: pack[n−1] (upstream convention)."""
        return self.pack[min(max(tokens - 1, 0), len(self.pack) - 1)].reshape(1, 256)


def _title(pack_name: str) -> str:
    stem = pack_name.split("_", 1)[1] if "_" in pack_name else pack_name
    return stem.replace("_", " ").title()


def describe(name: str, language: str, blend_parts: list[tuple[str, float]] | None = None) -> str:
    """'Heart — American English, female'; blends list their parts and weights."""
    lang_name = LANGUAGES[language].name
    if blend_parts and (len(blend_parts) > 1 or blend_parts[0][0] != name):
        parts = " + ".join(f"{_title(p)} {round(w * 100)}%" if len(blend_parts) > 1 else _title(p)
                           for p, w in blend_parts)
        return f"{_title(name) if '_' in name else name} — {lang_name} ({parts})"
    gender = {"f": "female", "m": "male"}.get(name[1:2], "")
    return f"{_title(name)} — {lang_name}" + (f", {gender}" if gender else "")


def load_packs(path: Path, order_path: Path | None = None) -> dict[str, np.ndarray]:
    """Read voices.npz (or kokoro-onnx voices-v1.0.bin, also an npz); keep voices.txt order."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            packs = {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}
    except Exception as err:
        raise VoiceError(f"cannot read voices file {path}: {err}") from err
    for name, pack in list(packs.items()):
        if pack.size % 256 or pack.ndim < 2:
            _LOGGER.warning("Skipping voice %s: shape %s is not a style pack", name, pack.shape)
            del packs[name]
            continue
        packs[name] = pack.reshape(-1, 1, 256)
    if order_path is not None and order_path.is_file():
        order = [line.split("=", 1)[-1].strip() for line in order_path.read_text().splitlines()]
        ranked = {name: i for i, name in enumerate(n for n in order if n)}
        packs = dict(sorted(packs.items(), key=lambda kv: (ranked.get(kv[0], len(ranked)), kv[0])))
    if not packs:
        raise VoiceError(f"no voices in {path}")
    return packs


def language_of(name: str) -> str | None:
    """Language from a pack name's prefix letter (af_heart → a)."""
    return name[0] if len(name) > 2 and name[0] in LANGUAGES and name[2] == "_" else None


def parse_blend(spec: str) -> tuple[list[tuple[str, float]], str | None]:
    """`af_bella:2+af_sky:1@en-us` → ([(af_bella, .67), (af_sky, .33)], 'a')."""
    spec = spec.strip()
    language = None
    if "@" in spec:
        spec, lang_text = spec.rsplit("@", 1)
        language = resolve_language(lang_text)
        if language is None:
            raise VoiceError(f"unknown language {lang_text!r} in voice spec")
    parts: list[tuple[str, float]] = []
    for part in spec.split("+"):
        name, _, weight_text = part.strip().partition(":")
        if not name:
            raise VoiceError(f"empty voice name in blend {spec!r}")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError as err:
            raise VoiceError(f"bad weight {weight_text!r} in blend {spec!r}") from err
        if not np.isfinite(weight) or weight <= 0:
            raise VoiceError(f"weights must be positive numbers, got {weight_text!r}")
        parts.append((name, weight))
    total = sum(w for _, w in parts)
    return [(n, w / total) for n, w in parts], language


class VoiceLibrary:
    """All voices the server offers: packs from the file plus named custom voices."""

    def __init__(self, packs: dict[str, np.ndarray]) -> None:
        self.packs = packs
        self.voices: dict[str, Voice] = {}
        for name, pack in packs.items():
            language = language_of(name)
            if language is None:
                _LOGGER.warning("Voice %s has no language prefix; it is offered only in blends",
                                name)
                continue
            self.voices[name] = Voice(name, language, pack, describe(name, language))

    def build(self, spec: str, name: str | None = None) -> Voice:
        """A voice from a spec: a pack name, a weighted blend, optional @language."""
        parts, language = parse_blend(spec)
        missing = [p for p, _ in parts if p not in self.packs]
        if missing:
            raise VoiceError(f"voice spec {spec!r} names unknown packs: {', '.join(missing)}")
        language = language or language_of(parts[0][0])
        if language is None:
            raise VoiceError(f"voice spec {spec!r} needs a language, e.g. {spec}@en-us")
        pack = sum(self.packs[p] * np.float32(w) for p, w in parts).astype(np.float32)
        name = name or spec
        return Voice(name, language, pack, describe(name, language, parts), blend=spec)

    def add_custom(self, definition: str) -> Voice:
        """Register `NAME=SPEC` (e.g. `af_mix=af_bella:2+af_sky:1`) as an advertised voice."""
        name, sep, spec = definition.partition("=")
        name = name.strip()
        if not sep or not spec.strip():
            raise VoiceError(f"custom voice must be NAME=SPEC, got {definition!r}")
        if not _NAME_RE.match(name):
            raise VoiceError(f"invalid custom voice name {name!r}")
        voice = self.build(spec, name)
        self.voices[name] = voice
        return voice

    def select(self, name: str | None, language: str | None, default: str) -> tuple[Voice, str]:
        """The voice for a request, and a warning text when a fallback was taken ('' if none)."""
        if name:
            if name in self.voices:
                return self.voices[name], ""
            try:
                if "+" in name or "@" in name or ":" in name:
                    return self.build(name), ""
            except VoiceError as err:
                return self.voices[default], f"{err}; using {default}"
            return self.voices[default], f"unknown voice {name!r}; using {default}"
        if language and self.voices[default].language != language:
            return self.for_language(language) or self.voices[default], ""
        return self.voices[default], ""

    def for_language(self, language: str) -> Voice | None:
        preferred = self.voices.get(PREFERRED.get(language, ""))
        if preferred is not None and preferred.language == language:
            return preferred
        return next((v for v in self.voices.values() if v.language == language), None)
