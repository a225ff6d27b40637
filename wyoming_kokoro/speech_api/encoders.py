"""Streaming audio encoders for the HTTP API: 24 kHz mono s16le PCM in, a response body out.

`pcm` and `wav` need nothing (a WAV whose header carries the "unknown length" sizes, so it
can be sent before the audio is rendered); `mp3`, `opus` (Ogg), `flac` and `aac` (ADTS) use
PyAV, FFmpeg's libraries as a wheel. Every encoder hands back bytes as soon as the codec
emits them, so compressed formats stream too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from wyoming_kokoro import audio

UNKNOWN_SIZE = 0xFFFFFFFF  # RIFF and data sizes of a WAV whose length is not known yet


class FormatUnavailable(ValueError):
    """A response format this installation cannot produce; the text says what to install."""


class Encoder(Protocol):
    content_type: str
    blocking: bool  # CPU work: run encode/finish in a thread, not on the event loop

    def start(self) -> bytes: ...
    def encode(self, pcm: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class RawEncoder:
    """`pcm`: the samples as rendered, no header (OpenAI's raw 24 kHz 16-bit mono)."""

    content_type = "audio/pcm"
    blocking = False

    def start(self) -> bytes:
        return b""

    def encode(self, pcm: bytes) -> bytes:
        return pcm

    def finish(self) -> bytes:
        return b""


class WavEncoder(RawEncoder):
    """`wav`: a 44-byte header first, sizes 0xFFFFFFFF as streaming WAV writers do."""

    content_type = "audio/wav"

    def start(self) -> bytes:
        rate, width, channels = audio.SAMPLE_RATE, audio.SAMPLE_WIDTH, audio.CHANNELS
        return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", UNKNOWN_SIZE, b"WAVE", b"fmt ", 16,
                           1, channels, rate, rate * width * channels, width * channels,
                           width * 8, b"data", UNKNOWN_SIZE)


@dataclass(frozen=True)
class _Codec:
    container: str  # FFmpeg muxer
    codec: str  # FFmpeg encoder
    content_type: str
    bit_rate: int | None = None
    options: tuple[tuple[str, str], ...] = ()


_CODECS = {
    "mp3": _Codec("mp3", "libmp3lame", "audio/mpeg", 64_000),
    # Ogg collects a second of packets per page unless told otherwise: short pages stream.
    "opus": _Codec("ogg", "libopus", "audio/ogg", 32_000, (("page_duration", "20000"),)),
    "flac": _Codec("flac", "flac", "audio/flac"),
    "aac": _Codec("adts", "aac", "audio/aac", 64_000),
}
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")  # OpenAI's list, default first


class _Sink:
    """A write-only, unseekable file for the muxer: what it writes is taken after each call."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class AvEncoder:
    """A compressed format through PyAV; packets are flushed to the body as they come."""

    blocking = True

    def __init__(self, codec: _Codec) -> None:
        import av

        self.content_type = codec.content_type
        self._av = av
        self._sink = _Sink()
        self._container = av.open(self._sink, mode="w", format=codec.container,
                                  options={"flush_packets": "1", **dict(codec.options)})
        self._stream = self._container.add_stream(codec.codec, rate=audio.SAMPLE_RATE,
                                                  layout="mono")
        if codec.bit_rate:
            self._stream.bit_rate = codec.bit_rate
        self._samples = 0

    def start(self) -> bytes:
        return b""

    def encode(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        if not samples.size:
            return b""
        frame = self._av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = audio.SAMPLE_RATE
        frame.pts = self._samples
        self._samples += samples.shape[1]
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._sink.take()


def _pyav_missing() -> str | None:
    """Why PyAV cannot encode, or None when it can."""
    try:
        import av  # noqa: F401
    except ImportError:
        return "PyAV is not installed"
    return None


def create(response_format: str) -> Encoder:
    """An encoder for one response; FormatUnavailable names what to install."""
    if response_format == "pcm":
        return RawEncoder()
    if response_format == "wav":
        return WavEncoder()
    codec = _CODECS[response_format]
    missing = _pyav_missing()
    if missing is not None:
        raise FormatUnavailable(
            f"response_format {response_format!r} needs PyAV ({missing}): install it with "
            "`pip install av`, or ask for 'wav' or 'pcm'")
    try:
        return AvEncoder(codec)
    except Exception as err:  # a PyAV build without this encoder
        raise FormatUnavailable(
            f"response_format {response_format!r}: this PyAV/FFmpeg build cannot encode it "
            f"({err}); install a PyAV wheel from PyPI (`pip install --force-reinstall av`), "
            "or ask for 'wav' or 'pcm'") from err
