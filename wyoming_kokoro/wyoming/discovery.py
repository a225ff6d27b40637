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


def detect_host() -> str:
    """The address other hosts reach us at. UDP connect() only picks a route: no packet is
    sent. wyoming's own detection returns 0.0.0.0 when the multicast route has no source."""
    for target in ("224.0.0.251", "192.0.2.1"):  # the mDNS group, then the default route
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = probe.getsockname()[0]
        except OSError:
            continue
        if not ipaddress.ip_address(address).is_unspecified:
            return address
    _LOGGER.warning("No routed address found; announcing 127.0.0.1 (set --zeroconf-host)")
    return "127.0.0.1"


class Announcer:
    """Keeps the HomeAssistantZeroconf object alive for the server's life."""

    def __init__(self, port: int, name: str, host: str | None,
                 interfaces: list[str] | None = None) -> None:
        from wyoming.zeroconf import HomeAssistantZeroconf
        from zeroconf.asyncio import AsyncZeroconf

        self._zc = HomeAssistantZeroconf(port=port, name=name, host=host or detect_host())
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
