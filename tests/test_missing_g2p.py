"""A language whose G2P packages are missing (a plain `pip install wyoming-kokoro` without
`[ja]`): never advertised, a request for it gets an `error` event, the server keeps serving,
and the CLI and `speak` name the pip command instead of dying with a traceback. The missing
package is simulated the standard way: `sys.modules[name] = None` makes it unimportable."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wyoming.info import Describe
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from wyoming_kokoro.loader import speakable_default
from wyoming_kokoro.model.kokoro import KokoroModel
from wyoming_kokoro.phonemes.g2p import G2PRegistry, G2PUnavailableError
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.voices import VoiceLibrary, load_packs

from .hardening_support import PYTHON, ROOT, cli_env, codes, fast_assets, serving
from .support import ServerThread, exchange

PIP_JA = "pip install 'wyoming-kokoro[ja]'"
# Runs the module named by argv[1] with pyopenjtalk unimportable, as on a pip install without [ja]
WITHOUT_JA = ("import runpy, sys; sys.modules['pyopenjtalk'] = None; module = sys.argv.pop(1); "
              "sys.argv[0] = module; runpy.run_module(module, run_name='__main__')")


def registry_without_japanese(monkeypatch: pytest.MonkeyPatch) -> G2PRegistry:
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "pyopenjtalk", None)
        return G2PRegistry()


def test_registry_names_the_pip_command(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="wyoming_kokoro.phonemes.g2p"):
        registry = registry_without_japanese(monkeypatch)
    assert not registry.available("j") and registry.available("a") and registry.available("z")
    assert f"Japanese (ja_JP) speech is not installed (missing pyopenjtalk): {PIP_JA}" in (
        caplog.text)
    with pytest.raises(G2PUnavailableError, match=r"wyoming-kokoro\[ja\]"):
        registry.phonemize("こんにちは", "j")


def test_default_voice_without_its_g2p(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = registry_without_japanese(monkeypatch)
    library = VoiceLibrary(load_packs(fast_assets()[1]))
    with pytest.raises(G2PUnavailableError, match=r"voice jf_alpha cannot speak.*\[ja\]"):
        speakable_default(library, "jf_alpha", registry, "jf_alpha")
    assert speakable_default(library, "af_heart", registry, "jf_alpha") == "af_heart"
    # our own fallback (nothing asked for) moves on to a voice that can speak
    assert registry.available(library.voices[speakable_default(library, "jf_alpha", registry,
                                                               None)].language)


@pytest.fixture(scope="module")
def no_japanese() -> Iterator[ServerThread]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "pyopenjtalk", None)
        registry = G2PRegistry()
    model_path, voices_path = fast_assets()
    engine = Engine(KokoroModel.load(model_path, "cpu", threads=1),
                    VoiceLibrary(load_packs(voices_path)), "af_heart", registry)
    with serving(engine) as thread:
        yield thread
    engine.close()


def _error(reply_events: list, code: str = "language-unavailable") -> str:
    (error,) = [e for e in reply_events if e.type == "error"]
    assert error.data["code"] == code
    return error.data["text"]


async def test_describe_leaves_out_the_language(no_japanese: ServerThread) -> None:
    reply = await exchange(no_japanese.uri, [Describe().event()], until="info")
    (program,) = reply.events[-1].data["tts"]
    names = {v["name"] for v in program["voices"]}
    languages = {lang for v in program["voices"] for lang in v["languages"]}
    assert "jf_alpha" not in names and "ja_JP" not in languages
    assert {"af_heart", "zf_xiaobei", "ef_dora"} <= names


@pytest.mark.parametrize("voice", [SynthesizeVoice(name="jf_alpha"),
                                   SynthesizeVoice(language="ja"),
                                   SynthesizeVoice(name="af_heart@ja")])
async def test_request_for_the_language_gets_an_error(no_japanese: ServerThread,
                                                      voice: SynthesizeVoice) -> None:
    reply = await exchange(no_japanese.uri, [Synthesize(text="こんにちは。", voice=voice).event()],
                           until="error")
    assert "audio-start" not in reply.types
    assert PIP_JA in _error(reply.events)


async def test_streaming_request_gets_an_error_then_stopped(no_japanese: ServerThread) -> None:
    reply = await exchange(no_japanese.uri, [
        SynthesizeStart(voice=SynthesizeVoice(name="jf_alpha")).event(),
        SynthesizeChunk(text="こんにちは。今日は").event(),
        SynthesizeChunk(text="いい天気です。").event(),
        SynthesizeStop().event(),
    ])
    assert reply.types[-1] == "synthesize-stopped" and "audio-start" not in reply.types
    assert PIP_JA in _error(reply.events)


async def test_server_keeps_serving_other_languages(no_japanese: ServerThread) -> None:
    await exchange(no_japanese.uri, [Synthesize(
        text="x", voice=SynthesizeVoice(name="jf_alpha")).event()], until="error")
    reply = await asyncio.wait_for(exchange(no_japanese.uri, [Synthesize(
        text="Hello there.", voice=SynthesizeVoice(name="af_heart")).event()],
        until="audio-stop"), 60)
    assert codes(reply) == [] and len(reply.audio) > 0


def _run_without_japanese(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    model, voices = fast_assets()
    return subprocess.run(
        [PYTHON, "-c", WITHOUT_JA, module, *args, "--model", str(model), "--voices",
         str(voices), "--no-download", "--threads", "1"],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120, check=False)


def test_server_with_a_japanese_default_voice_exits_with_the_pip_command() -> None:
    result = _run_without_japanese("wyoming_kokoro", "--voice", "jf_alpha",
                                   "--uri", "tcp://127.0.0.1:0")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "voice jf_alpha cannot speak: Japanese (ja_JP) speech is not installed" in (
        result.stderr) and PIP_JA in result.stderr


@pytest.mark.parametrize("args", [["--voice", "jf_alpha"], ["--language", "ja"]])
def test_speak_names_the_pip_command(args: list[str], tmp_path: Path) -> None:
    result = _run_without_japanese("wyoming_kokoro.speak", "こんにちは", "-o",
                                   str(tmp_path / "out.wav"), *args)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and last.endswith(PIP_JA)
    assert not (tmp_path / "out.wav").exists()
