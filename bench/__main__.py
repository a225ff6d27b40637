"""`python -m bench` (from the repository root): parse, run, print the table, write JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import psutil

from bench import client
from bench.config import build_bench_parser, config_from_args
from bench.report import render
from bench.run import run_bench
from bench.server import check_loopback
from wyoming_kokoro.settings import build_parser


def main(argv: list[str] | None = None) -> None:
    args, server_args = build_bench_parser().parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    build_parser().parse_args(server_args)  # reject unknown options with the server's message
    cfg = config_from_args(args)
    if args.uri:
        check_loopback(args.uri)
    try:
        result = asyncio.run(run_bench(cfg, server_args, args.uri, args.server_pid))
    except (client.BenchError, TimeoutError, OSError, psutil.Error) as err:
        print(f"bench failed: {err or type(err).__name__}", file=sys.stderr)
        sys.exit(1)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
