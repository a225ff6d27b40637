"""EngineConfig → a ready Engine: assets, session, voices, blends, default voice, warm-up."""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wyoming_kokoro.model.assets import AssetError, Assets, resolve
from wyoming_kokoro.model.bf16 import NATIVE_FLAGS, native_bf16
from wyoming_kokoro.model.bf16 import unavailable as bf16_unavailable
from wyoming_kokoro.model.kokoro import KokoroModel
from wyoming_kokoro.model.precision import (
    is_dynamic_int8,
    measure_in_background,
    rebuilt_file,
    recorded,
)
from wyoming_kokoro.model.session import ModelError, resolve_providers
from wyoming_kokoro.phonemes.g2p import G2PRegistry, G2PUnavailableError
from wyoming_kokoro.synth.options import SynthOptions
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.cleanup import EmojiMode
from wyoming_kokoro.text.plan import FrontEnd, FrontendOptions
from wyoming_kokoro.voices import VoiceError, VoiceLibrary, load_packs

_LOGGER = logging.getLogger(__name__)

# The offline bundle has Japanese packs only; these make it speak every language, English first.
BUNDLE_VOICES = (
    "af_alpha=jf_alpha@a", "af_gongitsune=jf_gongitsune@a", "af_nezumi=jf_nezumi@a",
    "af_tebukuro=jf_tebukuro@a", "am_kumo=jm_kumo@a", "bf_alpha=jf_alpha@b", "bm_kumo=jm_kumo@b",
    "ef_alpha=jf_alpha@e", "ff_alpha=jf_alpha@f", "hf_alpha=jf_alpha@h", "if_alpha=jf_alpha@i",
    "pf_alpha=jf_alpha@p", "zf_alpha=jf_alpha@z",
)
BUNDLE_DEFAULT_VOICE = "af_alpha"
DEFAULT_VOICE = "af_heart"


@dataclass(frozen=True)
class EngineConfig:
    """What building the engine needs (built from Settings by config.py, where the defaults,
    flags and validation live; each field means what its Settings namesake does)."""

    model: str
    voices: str | None
    data_dirs: list[Path]
    target_dir: Path
    """Where downloads and rebuilt models go."""
    hf_repo: str
    allow_download: bool
    providers: str
    threads: int | None
    trt_cache_dir: Path | None
    workers: int
    streaming_decoder: bool | None
    graph_optimize: bool
    precision: str
    first_model: str
    plan_rtf: float
    max_hold: float
    voice: str | None
    blends: list[str]
    speed: float
    volume: float
    sentence_silence: float
    max_audio_seconds: float
    emoji: str
    lexicon_dir: Path | None


def build_voices(assets: Assets, blends: list[str]) -> VoiceLibrary:
    library = VoiceLibrary(load_packs(assets.voices, assets.voices_order))
    for definition in (BUNDLE_VOICES if assets.bundle else ()):
        library.add_custom(definition)
    for definition in blends:
        try:
            library.add_custom(definition)
        except VoiceError as err:
            raise VoiceError(f"--blend {definition!r}: {err}") from err
    return library


def pick_default_voice(library: VoiceLibrary, wanted: str | None, bundle: bool) -> str:
    fallback = BUNDLE_DEFAULT_VOICE if bundle else DEFAULT_VOICE
    for name in (wanted, fallback):
        if name and name in library.voices:
            return name
        if name and ("+" in name or "@" in name or ":" in name):
            return library.add_custom(f"default={name}").name
    if wanted:
        _LOGGER.warning("Default voice %r not found; using %s", wanted,
                        next(iter(library.voices)))
    return next(iter(library.voices))


def speakable_default(library: VoiceLibrary, default: str, g2p: G2PRegistry,
                      wanted: str | None) -> str:
    """The default voice, if its language's G2P is installed. A voice the user asked for
    that cannot speak is an error naming the pip command; our own fallback moves on to the
    first voice that can speak."""
    language = library.voices[default].language
    if g2p.available(language):
        return default
    if wanted and default in (wanted, "default"):
        raise G2PUnavailableError(f"voice {wanted} cannot speak: {g2p.unavailable_text(language)}")
    speakable = next((v.name for v in library.voices.values() if g2p.available(v.language)),
                     None)
    if speakable is None:
        raise G2PUnavailableError("no voice can speak: " + g2p.unavailable_text(language))
    _LOGGER.warning("Default voice %s cannot speak (%s); using %s", default,
                    g2p.unavailable_text(language), speakable)
    return speakable


FIRST_AUDIO_BUCKET = "b32"  # 30 tokens, ≈4–5 words: the published TensorRT cost is half of b64


def load_first_model(config: EngineConfig, main: KokoroModel, trt_cache: Path
                     ) -> KokoroModel | None:
    """The small bucket that speaks a request's first words (fixed-bucket models only)."""
    choice = (config.first_model or "auto").strip()
    if choice == "off" or main.contract.bucket is None:
        return None
    name = FIRST_AUDIO_BUCKET if choice == "auto" else choice
    if choice == "auto" and main.contract.bucket <= 32:
        return None
    try:
        assets = resolve(name, None, config.data_dirs, config.target_dir, config.hf_repo,
                         allow_download=config.allow_download, bundle_fallback=False)
        first = KokoroModel.load(assets.model, config.providers, config.threads, trt_cache)
    except (AssetError, ModelError) as err:
        _LOGGER.info("No first-audio bucket (%s): every segment uses the main model", err)
        return None
    if first.contract.bucket is None or first.capacity >= main.capacity:
        return None
    _LOGGER.info("First words of each request on %s (capacity %d)", assets.model.name,
                 first.capacity)
    return first


def pick_precision(config: EngineConfig, assets: Assets, library: VoiceLibrary,
                   trt_cache: Path) -> tuple[Path, str]:
    """The file to run (an int8 model itself, or its fp32/fp16 rebuild) and the precision
    it runs in (--precision). bf16 runs the fp32 rebuild of an int8 model, or a float
    export as it is, with the decoder's body cast by OpenVINO (bf16.py)."""
    path = assets.model
    choice = config.precision
    int8 = is_dynamic_int8(path)
    as_exported = "int8" if int8 else "as exported"
    if choice == "bf16":
        why = bf16_unavailable()
        if why is not None:
            _LOGGER.warning("Cannot use bf16 precision (%s); running %s as %s", why,
                            path.name, as_exported)
            return path, as_exported
        if not native_bf16():
            _LOGGER.warning("This CPU has no native bf16 (%s): OpenVINO emulates it, likely "
                            "slower than --precision fp32", "/".join(NATIVE_FLAGS))
        if not int8:
            return path, "bf16"
    if choice == "int8" or not int8:
        if choice not in ("int8", "auto"):
            _LOGGER.warning("--precision %s applies to int8 models only; running %s as "
                            "exported", choice, path.name)
        return path, as_exported
    cache_dir = config.target_dir / "precision"
    try:
        if choice == "auto":
            providers = resolve_providers(config.providers, trt_cache)
            if any((p[0] if isinstance(p, tuple) else p) != "CPUExecutionProvider"
                   for p in providers):
                return path, "int8"  # measured on the CPU only
            optimized = config.graph_optimize
            known = recorded(path, cache_dir, config.threads, optimized)
            if known is None:
                measure_in_background(path, assets.voices, assets.voices_order,
                                      next(iter(library.voices)), cache_dir, config.threads,
                                      optimized)
                _LOGGER.info("Precision auto: not measured on this CPU yet; serving int8 now "
                             "and timing int8 against fp32 in the background (once, niced, "
                             "log in %s); the next start runs the faster", cache_dir)
                return path, "int8"
            choice = known
        rebuilt = rebuilt_file(path, choice, cache_dir)
    except (OSError, subprocess.SubprocessError, ModelError) as err:
        _LOGGER.warning("Cannot use %s precision (%s); running %s as int8", choice, err,
                        path.name)
        return path, "int8"
    if rebuilt != path:
        _LOGGER.info("Precision %s: running %s", choice, rebuilt.name)
    return rebuilt, choice


def load_engine(config: EngineConfig, warm_up: bool = True) -> Engine:
    """Build the engine the server and the CLI share."""
    started = time.monotonic()
    assets = resolve(config.model, config.voices, config.data_dirs, config.target_dir,
                     config.hf_repo, allow_download=config.allow_download)
    _LOGGER.info("Model %s, voices %s (%s)", assets.model, assets.voices, assets.source)
    trt_cache = config.trt_cache_dir or config.target_dir / "trt-cache"
    library = build_voices(assets, config.blends)
    model_path, precision = pick_precision(config, assets, library, trt_cache)
    model = KokoroModel.load(model_path, config.providers, config.threads, trt_cache,
                             streaming_decoder=config.streaming_decoder,
                             cache_dir=config.target_dir / "streaming",
                             optimized_dir=(config.target_dir / "optimized"
                                            if config.graph_optimize
                                            else None),
                             bf16_dir=(config.target_dir / "bf16" if precision == "bf16"
                                       else None))
    if model.split is not None:
        model.split.speed.floor_rtf = config.plan_rtf
    g2p = G2PRegistry()
    default = speakable_default(library, pick_default_voice(library, config.voice,
                                                            assets.bundle), g2p, config.voice)
    options = SynthOptions(speed=config.speed, volume=config.volume,
                           sentence_silence=config.sentence_silence,
                           max_audio=config.max_audio_seconds, max_hold=config.max_hold)
    frontend = FrontEnd(FrontendOptions(
        emoji=EmojiMode(config.emoji),
        lexicon_dir=config.lexicon_dir or config.data_dirs[0] / "lexicon"))
    first = load_first_model(config, model, trt_cache)
    engine = Engine(model, library, default, g2p, options, workers=config.workers,
                    frontend=frontend, first_model=first)
    if warm_up:
        engine.warm_up()
    _LOGGER.info("Engine ready in %.1f s: %d voices, default %s", time.monotonic() - started,
                 len(engine.spoken_voices()), default)
    return engine
