"""What comes in over the wire: bounded event reading (wyoming's reader trusts lengths and JSON
shapes blindly), parsing into typed requests, and the two kinds of bad input, a broken event
(ProtocolError) and a refused request (RequestError). After `parse`, every field has the type
the handler expects: an exception past that point is a bug of ours, not the client's."""

from __future__ import annotations

import asyncio
import json

from wyoming.event import Event
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

MAX_PAYLOAD_BYTES = 1024 * 1024  # a TTS server receives no audio; allow small payloads only

Request = Describe | Synthesize | SynthesizeStart | SynthesizeChunk | SynthesizeStop
_REQUESTS: dict[str, type[Request]] = {
    "describe": Describe, "synthesize": Synthesize, "synthesize-start": SynthesizeStart,
    "synthesize-chunk": SynthesizeChunk, "synthesize-stop": SynthesizeStop,
}


class ProtocolError(ValueError):
    """The peer sent something that is not a well-formed Wyoming event."""


class RequestError(ValueError):
    """A well-formed event asking for something refused: reported to the client as an `error`
    event with this code."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def clip(value: object, limit: int = 200) -> str:
    """A request value fit for a log line or an error text: bounded, printable, UTF-8 safe."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def check_text(text: object, limit: int, total: int = 0) -> str:
    """Request text (`total`: characters a stream already received) within `limit`."""
    if not isinstance(text, str):
        raise RequestError("bad-request", "text must be a string")
    if total + len(text) > limit:
        raise RequestError("text-too-long", f"text longer than {limit} characters "
                           "(--max-text-length)")
    return text


def _positive_length(header: dict, key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{key} must be a non-negative integer, got {repr(value)[:40]}")
    if value > limit:
        raise ProtocolError(f"{key} {value} exceeds the limit of {limit} bytes")
    return value


async def read_event(reader: asyncio.StreamReader, max_data: int,
                     max_payload: int = MAX_PAYLOAD_BYTES) -> Event | None:
    """Next event, None at end of stream; ProtocolError for malformed or oversized input."""
    try:
        line = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError) as err:
        raise ProtocolError("event header line too long") from err
    if not line:
        return None
    if not line.endswith(b"\n"):
        return None  # connection closed mid-header
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(f"header is not JSON: {err}") from err
    except RecursionError as err:  # `[[[[…` nested deeper than the parser's recursion limit
        raise ProtocolError("header JSON is nested too deeply") from err
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("header must be a JSON object with a string 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("'data' must be a JSON object")
    data_length = _positive_length(header, "data_length", max_data)
    payload_length = _positive_length(header, "payload_length", max_payload)
    try:
        if data_length:
            extra = json.loads(await reader.readexactly(data_length))
            if not isinstance(extra, dict):
                raise ProtocolError("additional data must be a JSON object")
            data = {**data, **extra}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(f"additional data is not JSON: {err}") from err
    except RecursionError as err:
        raise ProtocolError("additional data JSON is nested too deeply") from err
    return Event(type=header["type"], data=data, payload=payload)


def parse(event: Event) -> Request | None:
    """The typed request for an event this server answers (None: any other event, ignored).
    RequestError `bad-request` when its data has the wrong shape."""
    kind = _REQUESTS.get(event.type)
    if kind is None:
        return None
    data = event.data
    if kind in (Synthesize, SynthesizeChunk) and not isinstance(data.get("text"), str):
        raise _malformed(event.type, "'text' must be a string")
    if "voice" in data and not isinstance(data["voice"], dict):
        raise _malformed(event.type, "'voice' must be an object")
    try:
        request = kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise _malformed(event.type, clip(err)) from err
    voice = getattr(request, "voice", None)
    if voice is not None and not isinstance(voice.language, str | None):
        raise _malformed(event.type, "'voice.language' must be a string")
    if not isinstance(getattr(request, "text_format", None), str | None):
        raise _malformed(event.type, "'text_format' must be a string")
    return request


def _malformed(event_type: str, why: str) -> RequestError:
    return RequestError("bad-request", f"malformed {event_type} event: {why}")
