"""CLI entry point: settings → engine → Wyoming server (+ HTTP API, zeroconf), clean stop on
signals."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from urllib.parse import urlparse

from wyoming.server import AsyncServer, AsyncTcpServer

from wyoming_kokoro import __version__
from wyoming_kokoro.config import engine_config, service_config, wyoming_config
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.model.assets import AssetError
from wyoming_kokoro.model.session import ModelError
from wyoming_kokoro.phonemes.g2p import G2PUnavailableError
from wyoming_kokoro.service import KokoroService
from wyoming_kokoro.settings import Settings, parse_settings
from wyoming_kokoro.voices import VoiceError
from wyoming_kokoro.wyoming.discovery import Announcer, announce_host, default_name
from wyoming_kokoro.wyoming.handler import KokoroEventHandler
from wyoming_kokoro.wyoming.server import WyomingDoor

_LOGGER = logging.getLogger("wyoming_kokoro")


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    engine = await asyncio.to_thread(load_engine, engine_config(settings))
    service = KokoroService(engine, service_config(settings))
    door = WyomingDoor(service, wyoming_config(settings))
    server = AsyncServer.from_uri(settings.uri)
    announcer = None
    if settings.zeroconf is not None:
        if not isinstance(server, AsyncTcpServer):
            raise SystemExit("--zeroconf needs a tcp:// URI")
        uri = urlparse(settings.uri)
        announcer = Announcer(uri.port or 10200, settings.zeroconf or default_name(),
                              announce_host(uri.hostname or "", settings.zeroconf_host))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    await server.start(functools.partial(KokoroEventHandler, door))
    http_api = None
    if settings.http is not None:
        from wyoming_kokoro.speech_api.server import start_http

        http_api = await start_http(service, settings.http, settings.http_api_key)
    elif settings.http_api_key:
        _LOGGER.warning("--http-api-key without --http: the HTTP API is off")
    if announcer is not None:
        await announcer.start()
    _LOGGER.info("Ready: wyoming-kokoro %s on %s", __version__, settings.uri)
    if ready is not None:
        ready.set()
    try:
        await stopping.wait()
    finally:
        _LOGGER.info("Stopping")
        if announcer is not None:
            with contextlib.suppress(Exception):
                await announcer.stop()
        if http_api is not None:
            await http_api.stop()
        listener = getattr(server, "_server", None)
        if listener is not None:
            listener.close()  # no new connections
        if door.connections:  # in-flight requests get a moment to finish, then are closed
            _, unfinished = await asyncio.wait(list(door.connections), timeout=5)
            for task in unfinished:  # closing a transport that is still written to never
                task.cancel()  # ends: a slow reader kept the process alive for minutes
            if unfinished:
                await asyncio.wait(unfinished, timeout=5)
        await server.stop()
        engine.close()


def run() -> None:
    settings = parse_settings()
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO,
                        format=settings.log_format)
    try:
        asyncio.run(serve(settings))
    except (AssetError, ModelError, VoiceError, G2PUnavailableError) as err:
        _LOGGER.error("%s", err)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    run()
