"""What both front doors share: the engine and the admission limits.

The Wyoming server (wyoming/) and the OpenAI-compatible HTTP API (speech_api/) each take one
`KokoroService`, so a client counts against the same connection and synthesis limits
whichever door it uses. Neither door imports the other; both import this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from wyoming_kokoro.synth.pipeline import Engine

_LOGGER = logging.getLogger(__name__)

MAX_DATA_BYTES = 4 * 1024 * 1024  # a request's JSON (text limit × UTF-8 width)
JSON_BYTES_PER_CHAR = 12  # worst case: an astral character escaped as two \uXXXX


@dataclass(frozen=True)
class ServiceConfig:
    """The limits both doors enforce (built from Settings by config.py, where the defaults
    and the flags live)."""

    max_text_length: int
    """Longest request text, in characters."""
    max_concurrent: int
    """Syntheses running at once, all clients together; others wait for a slot."""
    max_connections: int
    """Open connections, all clients together; more are refused."""
    max_client_connections: int
    """Open connections from one client address."""
    max_client_concurrent: int | None
    """One address's syntheses. None: all slots — Home Assistant sends every satellite's
    speech from one address, so a per-address share would throttle the main client."""
    idle_timeout: float
    """Seconds a connection may pass with no traffic either way before it is dropped."""
    write_timeout: float
    """Seconds a client may leave audio unread before it is dropped."""

    @property
    def client_concurrent(self) -> int:
        if self.max_client_concurrent is not None:
            return max(1, self.max_client_concurrent)
        return self.max_concurrent


def data_limit(max_text_length: int) -> int:
    """Largest request data to accept: a text at the configured limit must reach the text
    check (and get its clear `text-too-long`), however it is escaped."""
    return max(MAX_DATA_BYTES, JSON_BYTES_PER_CHAR * max_text_length + 64 * 1024)


class Client:
    """Everything open from one address: its connection count and its own synthesis limit,
    so one client never holds all the engine's slots."""

    def __init__(self, concurrent: int) -> None:
        self.connections = 0
        self.slots = asyncio.Semaphore(concurrent)
        self.synthesizing = 0  # holding a synthesis slot
        self.waiting = 0  # queued for one


class KokoroService:
    """State shared by all connections of both doors: the engine and the limits."""

    def __init__(self, engine: Engine, config: ServiceConfig) -> None:
        self.engine = engine
        self.config = config
        self.slots = asyncio.Semaphore(config.max_concurrent)
        self.clients: dict[str, Client] = {}
        self.open = 0
        self.refused = 0
        self.synthesizing = 0  # synthesis slots held, all clients together
        self._refusal_logged = -float("inf")
        self.max_data = data_limit(config.max_text_length)

    def admit(self, address: str) -> Client | None:
        """Count a new connection in, or None when a connection limit is reached."""
        client = self.clients.get(address)
        if self.open >= self.config.max_connections or (
            client is not None and client.connections >= self.config.max_client_connections
        ):
            self.refused += 1
            return None
        if client is None:
            client = self.clients[address] = Client(self.config.client_concurrent)
        client.connections += 1
        self.open += 1
        return client

    def release(self, address: str) -> None:
        client = self.clients[address]
        client.connections -= 1
        self.open -= 1
        if client.connections <= 0:
            del self.clients[address]

    def log_refusal(self, address: str) -> None:
        """At most one warning a minute, however fast connections are refused."""
        now = time.monotonic()
        if now - self._refusal_logged >= 60:
            self._refusal_logged = now
            _LOGGER.warning("Connection limit reached (%d open, %d from %s; limits %d and %d per "
                            "client): refusing; %d refused so far", self.open,
                            self.clients[address].connections if address in self.clients else 0,
                            address, self.config.max_connections,
                            self.config.max_client_connections, self.refused)

    @contextlib.asynccontextmanager
    async def synthesis_slot(self, client: Client | None) -> AsyncIterator[None]:
        """The client's own slot first, then a shared one: waiting clients queue fairly."""
        async with contextlib.AsyncExitStack() as stack:
            if client is not None:
                client.waiting += 1
                try:
                    await stack.enter_async_context(client.slots)
                    await stack.enter_async_context(self.slots)
                finally:
                    client.waiting -= 1
            else:
                await stack.enter_async_context(self.slots)
            self.synthesizing += 1
            if client is not None:
                client.synthesizing += 1
            try:
                yield
            finally:
                self.synthesizing -= 1
                if client is not None:
                    client.synthesizing -= 1
