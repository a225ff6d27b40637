"""Zeroconf (mDNS) announcement for Home Assistant, for standalone (non add-on) runs."""

from __future__ import annotations

import ipaddress
import logging
import socket

_LOGGER = logging.getLogger(__name__)


def default_name() -> str:
    """Unique per host: HA's unique id is `<zeroconf name>_<program name>`."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"kokoro-{host}"


def announce_host(bind_host: str, zeroconf_host: str | None) -> str | None:
    """The address to announce; None lets the helper detect the routed one (never 0.0.0.0)."""
    if zeroconf_host:
        return zeroconf_host
    try:
        if ipaddress.ip_address(bind_host).is_unspecified:
            return None
    except ValueError:
        return None  # a host name: let the helper detect the address
    return bind_host


class Announcer:
    """Keeps the HomeAssistantZeroconf object alive for the server's life."""

    def __init__(self, port: int, name: str, host: str | None,
                 interfaces: list[str] | None = None) -> None:
        from wyoming.zeroconf import HomeAssistantZeroconf
        from zeroconf.asyncio import AsyncZeroconf

        self._zc = HomeAssistantZeroconf(port=port, name=name, host=host)
        if interfaces is not None:  # tests: keep mDNS on loopback
            self._zc._aiozc = AsyncZeroconf(interfaces=interfaces)
        self.name = name
        self.host = self._zc.host

    async def start(self) -> None:
        await self._zc.register_server()
        _LOGGER.info("Zeroconf: announced %s._wyoming._tcp.local. at %s:%d", self.name,
                     self.host, self._zc.port)

    async def stop(self) -> None:
        aiozc = self._zc._aiozc
        await aiozc.async_unregister_all_services()
        await aiozc.async_close()
