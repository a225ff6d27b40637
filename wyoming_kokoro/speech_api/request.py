"""The OpenAI speech request: its body checked field by field, voices mapped to Kokoro's,
errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiohttp import web

from wyoming_kokoro.languages import LANGUAGES
from wyoming_kokoro.speech_api import encoders
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.voices import Voice, VoiceError

# OpenAI's voices → Kokoro v1.0 packs of a similar character (a pack named like the OpenAI
# voice where Kokoro has one). A custom voice named like an OpenAI voice (--blend alloy=…)
# wins; a pack missing from the voices file falls back to the default voice.
OPENAI_VOICES = {
    "alloy": "af_alloy", "ash": "am_michael", "ballad": "bm_george", "coral": "af_heart",
    "echo": "am_echo", "fable": "bm_fable", "nova": "af_nova", "onyx": "am_onyx",
    "sage": "af_sarah", "shimmer": "af_bella", "verse": "am_puck",
}
MIN_SPEED, MAX_SPEED = 0.25, 4.0


class ApiError(Exception):
    """An OpenAI-shaped error response."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.kind = status, param, code, kind

    def response(self) -> web.Response:
        body = {"error": {"message": str(self), "type": self.kind, "param": self.param,
                          "code": self.code}}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        if self.status in (429, 503):
            headers = {"Retry-After": "1"}
        return web.json_response(body, status=self.status, headers=headers)


@dataclass
class SpeechRequest:
    """A validated `POST /v1/audio/speech` body."""

    text: str
    voice: Voice
    response_format: str
    speed: float


def clip(value: object, limit: int = 80) -> str:
    """A client value, bounded, for an error message."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def parse_speech(body: dict, engine: Engine, max_text_length: int) -> SpeechRequest:
    """A `POST /v1/audio/speech` body, checked field by field like OpenAI's own API."""
    text = body.get("input")
    if not isinstance(text, str):
        raise ApiError(400, "'input' must be a string", "input", "invalid_type")
    if len(text) > max_text_length:
        raise ApiError(413, f"'input' is {len(text)} characters; the limit is "
                       f"{max_text_length} (--max-text-length)", "input",
                       "string_above_max_length")
    if not text.strip():
        raise ApiError(400, "'input' is empty: nothing to speak", "input", "empty_input")
    for key in ("model", "instructions"):  # accepted; the engine has one model
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ApiError(400, f"'{key}' must be a string", key, "invalid_type")
    if body.get("stream_format", "audio") != "audio":
        raise ApiError(400, "only stream_format 'audio' is supported", "stream_format",
                       "invalid_value")
    response_format = body.get("response_format") or "mp3"
    if not isinstance(response_format, str) or response_format.lower() not in \
            encoders.FORMATS:
        raise ApiError(400, f"'response_format' must be one of {', '.join(encoders.FORMATS)}"
                       f", got {clip(response_format)}", "response_format",
                       "invalid_value")
    speed = body.get("speed", 1.0)
    if speed is None:
        speed = 1.0
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not math.isfinite(
            speed) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise ApiError(400, f"'speed' must be a number from {MIN_SPEED} to {MAX_SPEED}, got "
                       f"{clip(speed)}", "speed", "invalid_value")
    return SpeechRequest(text, pick_voice(engine, body.get("voice")), response_format.lower(),
                         float(speed))

def pick_voice(engine: Engine, name: object) -> Voice:
    """A Kokoro voice or blend by name, or an OpenAI voice mapped to a Kokoro one."""
    library = engine.voices
    default = library.voices[engine.default_voice]
    if name is None or name == "":
        voice = default
    elif not isinstance(name, str):
        raise ApiError(400, "'voice' must be a string", "voice", "invalid_type")
    elif name.strip() in library.voices:
        voice = library.voices[name.strip()]
    elif name.strip().lower() in OPENAI_VOICES:
        voice = library.voices.get(OPENAI_VOICES[name.strip().lower()], default)
    elif any(mark in name for mark in "+@:"):
        try:
            voice = library.build(name)
        except VoiceError as err:
            raise ApiError(400, str(err), "voice", "invalid_voice") from None
    else:
        raise ApiError(400, f"unknown voice {clip(name)}; GET /v1/audio/voices lists them",
                       "voice", "invalid_voice")
    if not engine.g2p.available(voice.language):
        raise ApiError(400, f"voice {voice.name!r} speaks {LANGUAGES[voice.language].name}, "
                       "whose G2P is not installed", "voice", "invalid_voice")
    return voice
