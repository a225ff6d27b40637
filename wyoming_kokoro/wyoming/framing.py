"""Rendered PCM → Wyoming audio events: one audio-start, fixed-size audio-chunks, audio-stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event

from wyoming_kokoro import audio


class AudioSender:
    """One audio group in one constant format; every chunk but the last is full-size."""

    def __init__(self, write_event: Callable[[Event], Awaitable[None]],
                 samples_per_chunk: int) -> None:
        self.write_event = write_event
        self.samples_per_chunk = samples_per_chunk
        self.started = False
        self.stopped = False
        self.samples = 0
        self._pending = b""  # under one chunk, held so every chunk but the last is full-size

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.write_event(AudioStart(
                rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS
            ).event())

    async def send(self, pcm_stream: AsyncIterator[bytes]) -> None:
        chunk_bytes = self.samples_per_chunk * audio.SAMPLE_WIDTH
        try:
            async for pcm in pcm_stream:
                await self.start()
                data = self._pending + pcm
                whole = len(data) - len(data) % chunk_bytes
                self._pending = data[whole:]
                for piece in audio.chunks(data[:whole], self.samples_per_chunk):
                    await self._write(piece)
        finally:
            # A failed write leaves the generator suspended at `yield`, its producer still
            # rendering; close it now rather than whenever the garbage collector gets to it.
            if (aclose := getattr(pcm_stream, "aclose", None)) is not None:
                await aclose()

    async def _write(self, piece: bytes) -> None:
        await self.write_event(AudioChunk(
            rate=audio.SAMPLE_RATE, width=audio.SAMPLE_WIDTH, channels=audio.CHANNELS,
            audio=piece,
        ).event())
        self.samples += len(piece) // audio.SAMPLE_WIDTH

    async def stop(self) -> None:
        await self.start()
        if self._pending:
            await self._write(self._pending)
            self._pending = b""
        self.stopped = True
        await self.write_event(AudioStop().event())
