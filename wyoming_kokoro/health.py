"""Container health check: a real describe → info round trip (exit 0 when the server answers)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from wyoming.client import AsyncClient
from wyoming.info import Describe, Info


async def check(uri: str, timeout: float) -> bool:
    async with asyncio.timeout(timeout):
        async with AsyncClient.from_uri(uri) as client:
            await client.write_event(Describe().event())
            while (event := await client.read_event()) is not None:
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    return any(p.installed and p.voices for p in info.tts)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", default="tcp://127.0.0.1:10200")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    try:
        ok = asyncio.run(check(args.uri, args.timeout))
    except (OSError, TimeoutError) as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        sys.exit(1)
    print("healthy" if ok else "unhealthy: no installed TTS voices")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
