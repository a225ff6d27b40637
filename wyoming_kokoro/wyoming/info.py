"""What the server tells Home Assistant (describe → info) and how a request picks its voice."""

from __future__ import annotations

import logging

from wyoming.info import Attribution, Info, TtsProgram, TtsVoice
from wyoming.tts import SynthesizeVoice

from wyoming_kokoro import __version__
from wyoming_kokoro.languages import LANGUAGES, resolve_language
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.voices import Voice
from wyoming_kokoro.wyoming.wire import RequestError, clip

_LOGGER = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="hexgrad (Kokoro-82M)", url="https://huggingface.co/hexgrad/Kokoro-82M")


def build_info(engine: Engine, streaming: bool) -> Info:
    """Every voice that can speak, with its locale; streaming only when enabled."""
    voices = [
        TtsVoice(name=v.name, description=v.description, attribution=ATTRIBUTION,
                 installed=True, version=None, languages=[LANGUAGES[v.language].locale])
        for v in engine.spoken_voices()
    ]
    return Info(tts=[TtsProgram(
        name="kokoro", description="Kokoro-82M neural text to speech (ONNX Runtime)",
        attribution=ATTRIBUTION, installed=True, version=__version__, voices=voices,
        supports_synthesize_streaming=streaming,
    )])


def resolve_voice(engine: Engine, voice: SynthesizeVoice | None) -> tuple[Voice, str | None]:
    """The voice and the language to speak for a request's `voice` field. A name wins over a
    language; an unknown name or language falls back to the default voice with a warning.
    A voice whose language's G2P is missing is refused: it would speak silence."""
    name = voice.name if voice else None
    requested_language = voice.language if voice else None
    language = resolve_language(requested_language)
    if requested_language and language is None:
        _LOGGER.warning("Unknown language %s; using the default voice",
                        clip(repr(requested_language), 80))
    if name is not None and not isinstance(name, str):
        raise RequestError("bad-voice", "voice name must be a string")
    selected, warning = engine.select_voice(name, language)
    if warning:
        _LOGGER.warning("%s", clip(warning, 300))
    speak_language = language if language and not name else selected.language
    for code in dict.fromkeys((selected.language, speak_language)):
        if not engine.g2p.available(code):
            raise RequestError("language-unavailable", engine.g2p.unavailable_text(code))
    return selected, speak_language
