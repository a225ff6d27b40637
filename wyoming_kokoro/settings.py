"""Every server option once: flag, environment variable, default, validation.

config.py hands each layer its share of the resulting Settings as a typed config.
Long because each option is one block, its flag, default and check side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from wyoming_kokoro import __version__
from wyoming_kokoro.model.assets import DEFAULT_MODEL, DEFAULT_REPO

ENV_PREFIX = "WYOMING_KOKORO_"


@dataclass
class Settings:
    uri: str = "tcp://0.0.0.0:10200"
    data_dirs: list[Path] = field(default_factory=lambda: [Path("data")])
    download_dir: Path | None = None
    model: str = DEFAULT_MODEL
    voices: str | None = None
    hf_repo: str = DEFAULT_REPO
    voice: str | None = None
    speed: float = 1.0
    volume: float = 1.0
    sentence_silence: float = 0.15
    samples_per_chunk: int = 1024
    providers: str = "auto"
    trt_cache_dir: Path | None = None
    threads: int | None = None
    workers: int = 1
    max_concurrent: int = 4
    max_text_length: int = 100_000
    max_audio_seconds: float = 600.0  # audio one request may render; the rest is cut off
    max_connections: int = 64
    max_client_connections: int = 16
    max_client_concurrent: int | None = None  # None: all of max_concurrent
    idle_timeout: float = 300.0
    write_timeout: float = 30.0
    blends: list[str] = field(default_factory=list)
    emoji: str = "drop"  # drop | name (read emoji by their name)
    lexicon_dir: Path | None = None  # None: DATA_DIR/lexicon
    streaming: bool = True
    streaming_decoder: bool | None = None  # None = auto (CPU sessions only)
    plan_rtf: float = 0.0  # the streaming decoder plans for at least this slow a machine
    max_hold: float = 10.0  # most seconds first audio waits so that speech never stalls
    graph_optimize: bool = True  # CPU whole-model sessions run an exactly rewritten graph
    precision: str = "int8"  # int8 models: int8, fp32, fp16, bf16 or auto (measured in background)
    first_model: str = "auto"  # small bucket for a request's first words (bucket models)
    zeroconf: str | None = None
    zeroconf_host: str | None = None
    http: str | None = None  # HOST:PORT of the OpenAI-compatible HTTP API; None: off
    http_api_key: str | None = None
    allow_download: bool = True
    debug: bool = False
    log_format: str = "%(asctime)s %(levelname)s %(name)s: %(message)s"

    @property
    def target_dir(self) -> Path:
        return self.download_dir or self.data_dirs[0]


def _env(name: str, default: object = None) -> str | None:
    value = os.environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else default  # type: ignore[return-value]


def _env_list(name: str) -> list[str]:
    value = _env(name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class _Parser(argparse.ArgumentParser):
    """Names the environment variable behind a refused value (flags and variables share one
    check, so the message is the flag's, plus where the value came from)."""

    from_env: dict[str, str]

    def error(self, message: str) -> NoReturn:
        for flag, name in getattr(self, "from_env", {}).items():
            if message.startswith(f"argument {flag}:"):
                message += f" (from {name})"
                break
        super().error(message)


def env_name(flag: str) -> str:
    """`--max-text-length` → `WYOMING_KOKORO_MAX_TEXT_LENGTH`."""
    return ENV_PREFIX + flag.removeprefix("--").upper().replace("-", "_")


def env_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Each WYOMING_KOKORO_<OPTION> as the flag it stands for, so argparse checks it exactly
    like the flag (type, range, choices). Flags on the command line win; lists (--data-dir,
    --blend) are read comma-separated in parse_settings; --help never fails on a bad one."""
    if any(arg in ("-h", "--help", "--version") for arg in argv):
        return []
    given = {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}
    arguments: list[str] = []
    from_env: dict[str, str] = {}
    for action in parser._actions:
        flag = next((s for s in action.option_strings if s.startswith("--")), None)
        if (flag is None or flag in given or (action.nargs == 0 and action.const is None)
                or isinstance(action, argparse._AppendAction)):
            continue  # no flag, set on the command line, help/version, or a list
        name = env_name(flag)
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if action.nargs == 0:  # store_true
            if value.lower() not in _TRUE + _FALSE:
                parser.error(f"{name}: expected true or false, got {value!r}")
            if value.lower() in _TRUE:
                arguments.append(flag)
        else:
            arguments.append(f"{flag}={value}")
        from_env[flag] = name
    if isinstance(parser, _Parser):
        parser.from_env = from_env
    return arguments


def _positive(kind: type, minimum: float = 0.0, inclusive: bool = False,
              maximum: float | None = None):
    def parse(text: str):
        value = kind(text)
        if value < minimum or (not inclusive and value == minimum) or (
            maximum is not None and value > maximum
        ):
            bound = f"{'≥' if inclusive else '>'} {minimum}" + (
                f" and ≤ {maximum}" if maximum is not None else "")
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _host_port(text: str) -> str:
    """`HOST:PORT` (IPv6 as `[::1]:PORT`; a bare `PORT` or `:PORT` means loopback, so the
    API is never exposed by accident) → `host:port`."""
    text = text.strip()
    host, sep, port_text = ("", ":", text) if text.isdigit() else text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536 or " " in host:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT, e.g. 127.0.0.1:8880, got {text!r}")
    return f"[{host}]:{int(port_text)}" if ":" in host else f"{host}:{int(port_text)}"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="wyoming-kokoro",
        description="Kokoro-82M text to speech over the Wyoming protocol. Every option can "
                    f"also be set as an environment variable {ENV_PREFIX}<OPTION> "
                    "(e.g. WYOMING_KOKORO_VOICE; lists comma-separated).",
    )
    d = Settings()
    p.add_argument("--uri", default=_env("URI", d.uri),
                   help="tcp://HOST:PORT, unix://PATH or stdio:// (default: %(default)s)")
    p.add_argument("--data-dir", action="append", type=Path, dest="data_dirs", metavar="DATA_DIR",
                   help="directory with models/voices; repeatable (default: ./data)")
    p.add_argument("--download-dir", type=Path, default=_env("DOWNLOAD_DIR"),
                   help="where downloads go (default: the first data dir)")
    p.add_argument("--model", default=_env("MODEL", d.model),
                   help="bucket b16/b24/b32/b48/b64/b96/b128 (b48 = lowest latency), "
                        "fp32/fp16/int8 (dynamic kokoro-onnx), bundle, or a .onnx path "
                        "(default: %(default)s)")
    p.add_argument("--voices", default=_env("VOICES"), help="voices .npz path (default: "
                   "voices.npz next to the model, or downloaded with it)")
    p.add_argument("--hf-repo", default=_env("HF_REPO", d.hf_repo),
                   help="Hugging Face repository for bucket models (default: %(default)s)")
    p.add_argument("--voice", default=_env("VOICE"),
                   help="default voice (default: af_heart, or af_alpha with the offline bundle)")
    p.add_argument("--speed", type=_positive(float, 0.25, True, 4.0),
                   default=d.speed, help="speaking rate (default: 1.0)")
    p.add_argument("--volume", type=_positive(float, 0.0, False, 10.0),
                   default=d.volume, help="output gain (default: 1.0)")
    p.add_argument("--sentence-silence", type=_positive(float, 0.0, True, 5.0),
                   default=d.sentence_silence,
                   help="seconds of silence between sentences (default: %(default)s)")
    p.add_argument("--samples-per-chunk", type=_positive(int, 1, True, 240000),
                   default=d.samples_per_chunk,
                   help="samples per audio-chunk event (default: %(default)s)")
    p.add_argument("--providers", default=_env("PROVIDERS", d.providers),
                   help="auto, or a comma list of tensorrt,cuda,cpu (default: %(default)s)")
    p.add_argument("--trt-cache-dir", type=Path, default=_env("TRT_CACHE_DIR"),
                   help="TensorRT engine + timing cache (default: DATA_DIR/trt-cache)")
    p.add_argument("--threads", type=_positive(int, 1, True),
                   help="ONNX Runtime intra-op threads (default: CPU count)")
    p.add_argument("--workers", type=_positive(int, 1, True),
                   default=d.workers,
                   help="inference worker threads sharing the session (default: %(default)s)")
    p.add_argument("--max-concurrent", type=_positive(int, 1, True),
                   default=d.max_concurrent,
                   help="syntheses running at once; others wait (default: %(default)s)")
    p.add_argument("--max-text-length", type=_positive(int, 1, True),
                   default=d.max_text_length,
                   help="longest request text in characters (default: %(default)s)")
    p.add_argument("--max-audio-seconds", type=_positive(float, 0.0),
                   default=d.max_audio_seconds, metavar="SECONDS",
                   help="audio one request may render; longer speech is cut off there with a "
                        "warning (default: %(default)s)")
    p.add_argument("--max-connections", type=_positive(int, 1, True),
                   default=d.max_connections,
                   help="open connections, all clients together; more are refused "
                        "(default: %(default)s)")
    p.add_argument("--max-client-connections", type=_positive(int, 1, True),
                   default=d.max_client_connections,
                   help="open connections from one client address (default: %(default)s)")
    p.add_argument("--max-client-concurrent", type=_positive(int, 1, True),
                   help="syntheses one client address runs at once, so one client cannot "
                        "hold every slot (default: --max-concurrent; Home Assistant sends "
                        "all its speech from one address)")
    p.add_argument("--idle-timeout", type=_positive(float, 0.0),
                   default=d.idle_timeout,
                   help="seconds a connection may pass with nothing sent either way "
                        "(default: %(default)s)")
    p.add_argument("--write-timeout", type=_positive(float, 0.0),
                   default=d.write_timeout,
                   help="seconds a client may leave audio unread before it is dropped "
                        "(default: %(default)s)")
    p.add_argument("--emoji", choices=("drop", "name"), default=d.emoji,
                   help="emoji in the text: drop them, or read their name (default: %(default)s)")
    p.add_argument("--lexicon-dir", type=Path, default=_env("LEXICON_DIR"),
                   help="user pronunciations, one file per language (en.txt, fr.txt…) "
                        "with 'word /phonemes/' or 'word = respelling' lines "
                        "(default: DATA_DIR/lexicon)")
    p.add_argument("--blend", action="append", dest="blends", metavar="NAME=SPEC",
                   help="extra voice, e.g. af_mix=af_bella:2+af_sky:1 or jf_es=jf_alpha@es; "
                        "repeatable")
    p.add_argument("--no-streaming", action="store_true", default=False,
                   help="do not advertise streaming synthesis")
    p.add_argument("--first-model", default=_env("FIRST_MODEL", d.first_model),
                   help="fixed-bucket models: a small bucket (name or path) that speaks each "
                        "request's first words; auto = b32 when found or downloadable, off")
    p.add_argument("--streaming-decoder", choices=("auto", "on", "off"),
                   default="auto",
                   help="dynamic models: when the listener would wait for a whole sentence, "
                        "decode a short head first, then the exact rest while it plays; "
                        "auto = on for CPU, off for GPU providers (default: %(default)s)")
    p.add_argument("--plan-rtf", type=_positive(float, 0.0, inclusive=True, maximum=10.0),
                   default=d.plan_rtf, metavar="RTF",
                   help="streaming decoder: plan heads for a machine at least this slow (model "
                        "seconds per audio second), e.g. when other work shares the CPU in "
                        "bursts; 0 = as measured (default: %(default)s)")
    p.add_argument("--max-hold", type=_positive(float, 0.0, inclusive=True, maximum=60.0),
                   default=d.max_hold, metavar="SECONDS",
                   help="gap-free first: hold a request's first audio at most this long while "
                        "the rest of its text could not render before the audio ahead of it "
                        "plays out (a slow or busy CPU); 0 = start at once, gaps or not "
                        "(default: %(default)s)")
    p.add_argument("--graph-optimize", choices=("auto", "off"),
                   default="auto",
                   help="CPU whole-model sessions: rewrite the graph once into DATA_DIR/optimized "
                        "(fused norms, 2-D convolutions; same output); off = run the file as "
                        "it is (default: %(default)s)")
    p.add_argument("--precision", choices=("auto", "int8", "fp32", "fp16", "bf16"),
                   default=d.precision,
                   help="int8 models (the offline bundle): run them as int8, or rebuilt in "
                        "fp32/fp16 (once, into DATA_DIR/precision); bf16 = fp32 (or a float "
                        "export) with the decoder in bf16 on OpenVINO (CPUs with "
                        "AMX/AVX512_BF16; needs wyoming-kokoro[openvino]); auto = serve int8 "
                        "at once while a "
                        "background process times int8, fp32 (and bf16 where it can run) "
                        "(once per CPU); later starts run the fastest (default: %(default)s)")
    p.add_argument("--zeroconf", nargs="?", const="", default=_env("ZEROCONF"), metavar="NAME",
                   help="announce over mDNS (tcp only); NAME defaults to kokoro-<hostname>")
    p.add_argument("--zeroconf-host", default=_env("ZEROCONF_HOST"),
                   help="address to announce (default: detected)")
    p.add_argument("--http", type=_host_port, metavar="HOST:PORT",
                   help="also serve an OpenAI-compatible speech API (POST /v1/audio/speech) "
                        "on HOST:PORT, e.g. 127.0.0.1:8880 (default: off)")
    p.add_argument("--http-api-key", metavar="KEY",
                   help="require 'Authorization: Bearer KEY' on the HTTP API's speech requests "
                        "(prefer the environment variable: flags show in ps)")
    p.add_argument("--no-download", action="store_true", default=False,
                   help="never contact Hugging Face")
    p.add_argument("--debug", action="store_true", default=False,
                   help="debug logging")
    p.add_argument("--log-format", default=_env("LOG_FORMAT", d.log_format),
                   help="Python logging format")
    p.add_argument("--version", action="version", version=__version__)
    return p


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(env_arguments(parser, argv) + argv)
    data_dirs = args.data_dirs or [Path(p) for p in _env_list("DATA_DIR")] or Settings().data_dirs
    threads = args.threads
    return Settings(
        uri=args.uri, data_dirs=data_dirs,
        download_dir=Path(args.download_dir) if args.download_dir else None,
        model=args.model, voices=args.voices, hf_repo=args.hf_repo, voice=args.voice,
        speed=args.speed, volume=args.volume, sentence_silence=args.sentence_silence,
        samples_per_chunk=args.samples_per_chunk, providers=args.providers,
        trt_cache_dir=Path(args.trt_cache_dir) if args.trt_cache_dir else None,
        threads=int(threads) if threads else None, workers=args.workers,
        max_concurrent=args.max_concurrent, max_text_length=args.max_text_length,
        max_audio_seconds=args.max_audio_seconds,
        max_connections=args.max_connections, max_client_connections=args.max_client_connections,
        max_client_concurrent=(int(args.max_client_concurrent)
                               if args.max_client_concurrent else None),
        idle_timeout=args.idle_timeout, write_timeout=args.write_timeout,
        blends=(args.blends or []) + ([] if args.blends else _env_list("BLEND")),
        emoji=args.emoji, lexicon_dir=Path(args.lexicon_dir) if args.lexicon_dir else None,
        streaming=not args.no_streaming,
        streaming_decoder={"on": True, "off": False}.get(args.streaming_decoder),
        graph_optimize=args.graph_optimize != "off", precision=args.precision,
        first_model=args.first_model, plan_rtf=args.plan_rtf, max_hold=args.max_hold,
        zeroconf=args.zeroconf,
        zeroconf_host=args.zeroconf_host, allow_download=not args.no_download,
        http=args.http, http_api_key=args.http_api_key or None,
        debug=args.debug, log_format=args.log_format,
    )
