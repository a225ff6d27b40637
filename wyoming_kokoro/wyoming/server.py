"""The Wyoming front door: what its connections share, and the loop each connection runs.

The loop is wyoming's `AsyncEventHandler.run` (read an event, hand it to `handle_event`,
stop when that returns False) with what a server on a home network needs around it: the
service's connection limits, bounded reads, an idle timeout, a write deadline, a clean
error before hanging up, and no exception escaping. What an event means is handler.py's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from wyoming.error import Error
from wyoming.event import Event
from wyoming.server import AsyncEventHandler

from wyoming_kokoro.service import Client, KokoroService
from wyoming_kokoro.wyoming.info import build_info
from wyoming_kokoro.wyoming.wire import ProtocolError, clip, read_event

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class WyomingConfig:
    """What only the Wyoming door needs (built from Settings by config.py)."""

    samples_per_chunk: int
    """Samples in each audio-chunk event."""
    streaming: bool
    """Advertise and honour synthesize-start/chunk/stop."""


class WyomingDoor:
    """State shared by all Wyoming connections: the service, the describe answer, and the
    open connections (so a shutdown can wait for them)."""

    def __init__(self, service: KokoroService, config: WyomingConfig) -> None:
        self.service = service
        self.config = config
        self.info_event = build_info(service.engine, config.streaming).event()
        self.connections: set[asyncio.Task] = set()


def _peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's address (no port): limits apply per address. Unix sockets share one."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "local"


class _IdleTimeout(Exception):
    """No event from the client and nothing sent to it for `idle_timeout` seconds."""


class Connection(AsyncEventHandler):
    """One client connection's life: admitted, events read and handed on, closed cleanly.

    Subclasses implement `handle_event` and may override the hooks `busy` (speaking counts
    as traffic), `hang_up` (last words before closing after a protocol error or an idle
    timeout) and `disconnect` (the connection ended)."""

    def __init__(self, door: WyomingDoor, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.door = door
        self.service = door.service
        self.config = door.config
        self.limits = door.service.config
        self.client: Client | None = None
        self._writing = 0  # writes in progress
        self._last_activity = time.monotonic()

    # -- hooks ----------------------------------------------------------------------------
    def busy(self) -> bool:
        """Work in progress besides writes (the idle timeout waits for it)."""
        return False

    async def hang_up(self, code: str, text: str) -> None:
        """Before closing on the server's initiative: the error."""
        with contextlib.suppress(Exception):
            await self.send_error(code, text)

    # -- for the handler ------------------------------------------------------------------
    async def write_event(self, event: Event) -> None:
        """Writes with a deadline: a client that never reads cannot pin audio in memory.
        (asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
        arrives as the write completes, and a cancelled stream then speaks on.)"""
        self._writing += 1
        try:
            async with asyncio.timeout(self.limits.write_timeout):
                await super().write_event(event)
        finally:
            self._writing -= 1
            self._last_activity = time.monotonic()

    async def send_error(self, code: str, text: str) -> None:
        await self.write_event(Error(text=clip(text, 500), code=code).event())

    def synthesis_slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """This client's share of the engine, then a shared slot."""
        return self.service.synthesis_slot(self.client)

    def drop(self) -> None:
        """Hang up now (a dead reader): the read loop then ends and cleans up."""
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        """Like wyoming's loop, but with bounded reads, connection limits, an idle timeout and
        no exception escaping."""
        address = _peer_address(self.writer)
        self.client = self.service.admit(address)
        if self.client is None:
            await self._refuse(address)
            return
        if (task := asyncio.current_task()) is not None:
            self.door.connections.add(task)
        try:
            while True:
                try:
                    event = await self._next_event()
                except ProtocolError as err:
                    _LOGGER.warning("Closing connection: %s", err)
                    await self.hang_up("protocol-error", str(err))
                    break
                except _IdleTimeout:
                    _LOGGER.debug("Closing idle connection from %s", address)
                    await self.hang_up(
                        "idle-timeout", f"nothing received for {self.limits.idle_timeout:g} s")
                    break
                if event is None or not await self.handle_event(event):
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            _LOGGER.debug("Client went away")
        except Exception:
            _LOGGER.exception("Unexpected error in connection handler")
        finally:
            self.door.connections.discard(asyncio.current_task())
            await self.disconnect()
            await self._linger()
            self.service.release(address)
            with contextlib.suppress(Exception):
                self.writer.close()

    async def _linger(self, seconds: float = 1.0) -> None:
        """Hanging up first (after an error): half-close and discard what the client still
        sends for a moment. Closing with unread input resets the connection, and the reset
        throws away the error the client has not read yet."""
        task = asyncio.current_task()
        if (self.reader.at_eof() or self.writer.transport.is_closing()
                or (task is not None and task.cancelling())):
            return
        with contextlib.suppress(Exception):
            self.writer.write_eof()
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass

    async def _refuse(self, address: str) -> None:
        """Over a connection limit: one short-lived error, then close."""
        self.service.log_refusal(address)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await super().write_event(Error(text="too many connections; try again later",
                                                code="too-many-connections").event())
        with contextlib.suppress(Exception):
            self.writer.close()

    async def _next_event(self) -> Event | None:
        """The next event; _IdleTimeout once nothing has moved either way for idle_timeout.
        One read task per event, so a timeout check never cuts an event in half."""
        timeout = self.limits.idle_timeout
        read = asyncio.ensure_future(read_event(self.reader, max_data=self.service.max_data))
        try:
            while True:
                now = time.monotonic()
                if self._writing > 0 or self.busy():
                    self._last_activity = now  # speaking counts as traffic
                elif now - self._last_activity >= timeout:
                    raise _IdleTimeout
                wait = timeout - (now - self._last_activity)
                done, _ = await asyncio.wait({read}, timeout=max(wait, 0.01))
                if done:
                    self._last_activity = time.monotonic()
                    return read.result()
        finally:
            if not read.done():
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read
