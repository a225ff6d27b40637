"""What the benchmark measures and how often: its texts, `BenchConfig`, and the command line
that fills it (server options pass through untouched)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

TEXTS = {
    "short": "Turned on the kitchen lights.",
    "medium": "The living room is at twenty one degrees and the humidity is forty percent. "
              "I switched on the fan in the bedroom, so it should feel cooler in a few minutes.",
    "long": "Tomorrow morning will start cool and cloudy across the valley, with light winds "
            "from the north and a chance of drizzle before nine o'clock. By noon the clouds "
            "should break up and temperatures will climb to around twenty four degrees. The "
            "evening stays dry and clear, so it is a good night to leave the bedroom windows "
            "open all night.",
}
MODES = ("synthesize", "stream")


@dataclass
class BenchConfig:
    """What to measure and how often; `--quick` shrinks every count for smoke use."""

    runs: int = 3
    quick: bool = False
    texts: dict[str, str] = field(default_factory=lambda: dict(TEXTS))
    words_per_second: float = 10.0
    clients: list[int] = field(default_factory=lambda: [1, 2, 4])
    per_client: int = 2
    load_name: str = "medium"
    load_text: str = TEXTS["medium"]
    rss_requests: int = 30
    idle_describes: int = 20
    describe_interval: float = 0.05
    timeout_s: float = 120.0
    start_timeout_s: float = 180.0
    model_timing: bool = True
    same_address: bool = False  # load clients all from one address (as Home Assistant is)
    http: str | None = None  # HTTP API base URL ("auto": the started server gets --http)
    cpus: set[int] | None = None  # pin the started server to these cores
    hog: int = 0  # busy processes beside the server for the whole run

    @property
    def modes(self) -> tuple[str, ...]:
        return MODES + (("http",) if self.http else ())



# -- command line ---------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"need positive integers, got {text!r}")
    return values


def _int_list_zero(text: str) -> set[int]:
    try:
        values = {int(v) for v in text.split(",") if v.strip()}
    except ValueError:
        values = set()
    if not values or min(values) < 0 or not values <= os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(f"need cores of this machine, got {text!r}")
    return values


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_bench_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", allow_abbrev=False,  # never eat server options
        description="Benchmark a wyoming-kokoro server over Wyoming (loopback only). Server "
                    "options (--model, --data-dir, --no-download, --threads, ...) pass through "
                    "to the server it starts and to the in-process model timing.")
    p.add_argument("--uri", help="use this running loopback server instead of starting one")
    p.add_argument("--server-pid", type=int, help="its process id, for RSS (with --uri)")
    p.add_argument("--runs", type=int, help="repetitions per measurement (default 3, quick 1)")
    p.add_argument("--quick", action="store_true", help="smoke mode: short text, few requests")
    p.add_argument("--json", type=Path, help="also write the results here as JSON")
    p.add_argument("--texts", help="which of short,medium,long (default all; quick: short)")
    for name in TEXTS:
        p.add_argument(f"--{name}", dest=f"text_{name}", metavar="TEXT",
                       help=f"replace the {name} text")
    p.add_argument("--words-per-second", type=_positive_float, default=10.0,
                   help="streaming text rate, like an LLM (default %(default)s)")
    p.add_argument("--clients", type=_int_list, help="concurrency levels (default 1,2,4)")
    p.add_argument("--per-client", type=int, help="requests per client per round (default 2)")
    p.add_argument("--load-text", choices=list(TEXTS), help="text for the load test "
                   "(default medium; quick: short)")
    p.add_argument("--rss-requests", type=int,
                   help="requests for the RSS growth check (default 30; quick 3)")
    p.add_argument("--timeout", type=_positive_float,
                   help="seconds per request (default 120)")
    p.add_argument("--start-timeout", type=_positive_float, default=180.0,
                   help="seconds for the server to answer describe (default %(default)s)")
    p.add_argument("--same-address", action="store_true",
                   help="load-test clients all connect from one address, as Home Assistant "
                        "does (subject to --max-client-concurrent); default: 127.0.0.2, .3, …")
    p.add_argument("--http", nargs="?", const="auto", metavar="URL",
                   help="also time the OpenAI-compatible HTTP API: the started server gets "
                        "--http on a free loopback port (or give the URL of a running one, "
                        "e.g. http://127.0.0.1:8880); load clients alternate Wyoming / HTTP")
    p.add_argument("--cpus", type=_int_list_zero, metavar="LIST",
                   help="pin the started server to these cores (e.g. 0), like taskset: a "
                        "slower machine on any machine; pair with --threads 1")
    p.add_argument("--hog", type=int, default=0, metavar="N",
                   help="run N busy processes beside the server (on its --cpus) throughout")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--no-model", action="store_true",
                   help="skip the in-process model timing (saves loading a second engine)")
    return p


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    quick = args.quick
    texts = {name: getattr(args, f"text_{name}") or text for name, text in TEXTS.items()}
    wanted = (args.texts or ("short" if quick else ",".join(TEXTS))).split(",")
    unknown = [w for w in wanted if w not in texts]
    if unknown:
        raise SystemExit(f"--texts: unknown {unknown}; choose from {list(TEXTS)}")

    def pick(value: object, normal: object, smoke: object) -> object:
        return value if value is not None else smoke if quick else normal

    return BenchConfig(
        runs=max(1, pick(args.runs, 3, 1)), quick=quick,
        texts={w: texts[w] for w in wanted}, words_per_second=args.words_per_second,
        clients=pick(args.clients, [1, 2, 4], [1, 2]),
        per_client=max(1, pick(args.per_client, 2, 1)),
        load_name=(load := pick(args.load_text, "medium", "short")), load_text=texts[load],
        rss_requests=max(0, pick(args.rss_requests, 30, 3)),
        idle_describes=10 if quick else 20, timeout_s=pick(args.timeout, 120.0, 60.0),
        start_timeout_s=args.start_timeout, model_timing=not args.no_model,
        same_address=args.same_address, http=args.http, cpus=args.cpus, hog=args.hog,
    )
