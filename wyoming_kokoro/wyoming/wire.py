"""Bounded Wyoming event reading: wyoming's reader trusts lengths and JSON shapes blindly."""

from __future__ import annotations

import asyncio
import json

from wyoming.event import Event

MAX_DATA_BYTES = 4 * 1024 * 1024  # a synthesize event's JSON (text limit × UTF-8 width)
JSON_BYTES_PER_CHAR = 12  # worst case: an astral character escaped as two \uXXXX
MAX_PAYLOAD_BYTES = 1024 * 1024  # a TTS server receives no audio; allow small payloads only


class ProtocolError(ValueError):
    """The peer sent something that is not a well-formed Wyoming event."""


def data_limit(max_text_length: int) -> int:
    """Largest event data to accept: a text at the configured limit must reach the text check
    (and get its clear `text-too-long`), however it is escaped."""
    return max(MAX_DATA_BYTES, JSON_BYTES_PER_CHAR * max_text_length + 64 * 1024)


def _positive_length(header: dict, key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{key} must be a non-negative integer, got {repr(value)[:40]}")
    if value > limit:
        raise ProtocolError(f"{key} {value} exceeds the limit of {limit} bytes")
    return value


async def read_event(reader: asyncio.StreamReader, max_data: int = MAX_DATA_BYTES,
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
