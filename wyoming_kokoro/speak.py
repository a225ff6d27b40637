"""Text → WAV file with the same engine as the server, no server needed."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import wave
from pathlib import Path

from wyoming_kokoro import audio
from wyoming_kokoro.config import engine_config
from wyoming_kokoro.languages import resolve_language
from wyoming_kokoro.loader import load_engine
from wyoming_kokoro.model.assets import AssetError
from wyoming_kokoro.model.session import ModelError
from wyoming_kokoro.phonemes.g2p import G2PUnavailableError
from wyoming_kokoro.settings import build_parser, parse_settings
from wyoming_kokoro.voices import VoiceError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_kokoro.speak",
        description="Speak text into a 24 kHz mono WAV file. Server options such as --model, "
                    "--data-dir, --speed, --blend are accepted too.")
    parser.add_argument("text", help="text to speak ('-' reads standard input)")
    parser.add_argument("-o", "--output", type=Path, default=Path("speech.wav"))
    parser.add_argument("--language", help="speak in this language (e.g. en-us, es, ja)")
    parser.add_argument("--voice", help="voice or blend name, e.g. af_heart, bf_emma "
                        "(default: the server's default voice)")
    args, rest = parser.parse_known_args(argv)
    if args.voice is not None:  # a server option too: the engine reads it from Settings
        rest += ["--voice", args.voice]
    build_parser().parse_args(rest)  # reject unknown options with the server's own message
    settings = parse_settings(rest)
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.WARNING,
                        format=settings.log_format)
    language = resolve_language(args.language)
    if args.language and language is None:
        sys.exit(f"error: unknown language {args.language!r}")
    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        engine = load_engine(engine_config(settings), warm_up=False)
    except (AssetError, ModelError, VoiceError, G2PUnavailableError) as err:
        sys.exit(f"error: {err}")
    voice, warning = engine.select_voice(settings.voice, None)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    started = time.monotonic()
    try:
        samples = engine.synthesize(text, voice, language)
    except G2PUnavailableError as err:
        engine.close()
        sys.exit(f"error: {err}")
    elapsed = time.monotonic() - started
    with wave.open(str(args.output), "wb") as wav:
        wav.setnchannels(audio.CHANNELS)
        wav.setsampwidth(audio.SAMPLE_WIDTH)
        wav.setframerate(audio.SAMPLE_RATE)
        wav.writeframes(audio.to_pcm16(samples, settings.volume))
    seconds = len(samples) / audio.SAMPLE_RATE
    print(f"{args.output}: {seconds:.2f} s of audio in {elapsed:.2f} s ({voice.name})")
    engine.close()


if __name__ == "__main__":
    main()
