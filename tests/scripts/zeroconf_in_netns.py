"""Run inside a fresh network namespace (only `lo`): start the server with --zeroconf, browse
for it with zeroconf, describe it at the announced address, stop it, see it unregister.
Prints one JSON line. Nothing here can reach a real interface: the namespace has none."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys

from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE = "_wyoming._tcp.local."


def main(data_dir: str) -> None:
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]):
        subprocess.run(cmd, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "wyoming_kokoro", "--uri", "tcp://0.0.0.0:10200", "--zeroconf",
         "kokoro-nstest", "--model", "bundle", "--no-download", "--data-dir", data_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        result = asyncio.run(browse(server))
    finally:
        if server.poll() is None:
            server.kill()
    print(json.dumps(result))


async def browse(server: subprocess.Popen) -> dict:
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    seen: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    added, removed = asyncio.Event(), asyncio.Event()
    name = f"kokoro-nstest.{SERVICE}"

    def changed(zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        seen[name] = state_change.name
        if name == f"kokoro-nstest.{SERVICE}":
            flag = removed if state_change is ServiceStateChange.Removed else added
            loop.call_soon_threadsafe(flag.set)

    browser = AsyncServiceBrowser(zc.zeroconf, SERVICE, handlers=[changed])
    result: dict = {"found": False}
    try:
        await asyncio.wait_for(added.wait(), timeout=60)
    except TimeoutError:
        pass
    if name in seen:
        info = AsyncServiceInfo(SERVICE, name)
        await info.async_request(zc.zeroconf, 3000)
        addresses = [socket.inet_ntoa(a) for a in info.addresses]
        result.update(found=True, addresses=addresses, port=info.port)
        reader, writer = await asyncio.open_connection(addresses[0], info.port)
        writer.write(b'{"type": "describe"}\n')
        await writer.drain()
        header = json.loads(await reader.readline())
        result["describe"] = header["type"]
        writer.close()
        server.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(removed.wait(), timeout=20)
        except TimeoutError:
            pass
        result["removed"] = seen.get(name) == "Removed"
        try:
            result["exit_code"] = server.wait(20)
        except subprocess.TimeoutExpired:
            result["exit_code"] = None
    await browser.async_cancel()
    await zc.async_close()
    return result


if __name__ == "__main__":
    main(sys.argv[1])
