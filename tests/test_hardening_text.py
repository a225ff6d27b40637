"""Hostile or odd text, as LLMs, automations and people send it: each gives speech, silence
or a clear `error` (empty-text, text-too-long), never a failure that escapes, never a hang;
plain requests and streams alike. Texts travel as escaped JSON so lone surrogates arrive."""

from __future__ import annotations

import asyncio
import subprocess
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wyoming_kokoro.phonemes.g2p import split_long_runs
from wyoming_kokoro.phonemes.strings import split_phonemes
from wyoming_kokoro.synth.pipeline import Engine
from wyoming_kokoro.text.sentences import Pause, cleanup, split_pauses

from .hardening_support import (
    FAST_VOICES,
    PYTHON,
    ROOT,
    ask,
    codes,
    describe_ok,
    fast_engine,
    no_work_tasks,
    on_loop,
    raw_event,
    serving,
    settle,
)
from .support import Reply, ServerThread

CLEAR_ERRORS = {"empty-text", "text-too-long"}
TRIED: list[str] = []  # every text sent, for the figures printed at the end


def _digits() -> str:
    """Every decimal digit Unicode knows (every script's 0-9), grouped by script."""
    digits = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Nd"]
    return " ".join("".join(digits[i:i + 10]) for i in range(0, len(digits), 10))


HOSTILE: dict[str, str] = {
    "empty": "",
    "whitespace only": " \t\r\n\u00a0\u2003\u3000\u200b" * 40,
    "newlines only": "\n" * 20_000,
    "punctuation only": "!?.,;:…—–-()[]{}\"'«»¿¡。、・" * 20,
    "full stops only": "." * 10_000,
    "emoji only": "😀🎉👍🏽👨‍👩‍👧‍👦🏳️‍🌈🇯🇵" * 40,
    "symbols only": "𝄞♠♣★☆©®™§¶†‡∞≠≈∑∏√∫" * 30,
    "control characters": "Hello\x00\x01\x07\x08\x1b[31m red\x1b[0m\x7f\x85 world\u200b\u200e.",
    "null bytes only": "\x00" * 1000,
    "invalid surrogates": "Lights \ud800 on \udfff\udc00 in the \ud83d kitchen.",
    "bidi overrides": "Turn \u202eon the\u202c lights \u2066off\u2069 now.",
    "noncharacters and private use": "\ufffe\uffff\U0010ffff\ue000\uf8ff Done.",
    "combining marks (zalgo)": "Z\u0334\u0321\u0327a\u0338\u0300l\u0336g\u0337o\u0335 " * 60
                               + "\u0301" * 3000,
    "5,000-character word": "Supercalifragilistic" * 250,
    "hyphen chain": "a-" * 1500,
    "slash chain": "on/off/" * 400,
    "camel-case blob": "aB" * 1500,
    "one letter under 20,000 accents": "x" + "\u0301" * 20_000,
    "5,000 digits": "7" * 5000,
    "mixed scripts": "Hello 世界, привет мир, γειά σου κόσμε, नमस्ते दुनिया, こんにちは世界, "
                     "안녕하세요 세계, สวัสดีชาวโลก, שלום עולם, مرحبا بالعالم.",
    "right-to-left": "שלום, מה שלומך היום? مرحبا، كيف حالك اليوم؟ سلام دنیا.",
    "every language's digits": _digits(),
    "numbers at the edges": "1e308 -0 NaN inf 3.14159265358979323846 "
                            "99999999999999999999999999999999 ½ ⅞ 10^100 0x1F 1,000,000.00 "
                            "-273.15°C 25% $1,000,000,000,000 12:00:00 2024-02-30.",
    "markdown from an LLM": "# Weather\n\n**Today** will be _sunny_ with ~~rain~~.\n\n"
                            "- High: 25°C\n- Low: 12°C\n\n1. Open [the app](https://x.io/a?b=c)"
                            "\n2. Tap `settings.weather_unit`\n\n> Quote\n\n| a | b |\n|---|---|"
                            "\n| 1 | 2 |\n\n---\n![img](http://x/y.png)",
    "code block from an LLM": "Here is the code:\n\n```python\nimport os\n\ndef f(x):\n"
                              "    return {'a': [1, 2, 3], **x}  # comment\n```\n\nDone.",
    "html and xml": "<script>alert('x')</script><b>bold</b> &amp; &lt;tag&gt; <!-- c --> "
                    "<?xml version='1.0'?><![CDATA[data]]>",
    "json": '{"entity_id": "light.kitchen", "state": null, "attrs": [1, 2.5, true]} ' * 20,
    "urls and e-mails": "Visit https://example.com/a/b?c=d&e=f#g or mail bob.smith@example.co.uk"
                        " or ftp://10.0.0.1:21/x or www.example.org.",
    "latex": r"$\int_0^\infty e^{-x^2} dx = \frac{\sqrt{\pi}}{2}$ and \(a^2+b^2=c^2\).",
    "absurd pauses": "[pause:99999999999999999999s] a [pause:" + "9" * 400 + "] b "
                     "[pause:1e9s] [pause:-5s] [pause:0.00001ms] [pause:NaN] [pause:] "
                     "[PAUSE : 3 MS] [pause:1.5.5s] [pause:12345678901234567890 c",
    "pause tag only": "[pause:1s]",
    "one 60,000-character run-on": "and then " * 6_600,
    "1 MB of text": "word " * 200_000,
    "text limit plus one": "x" * 100_001,
}

STREAM_CHUNKS = 50  # each text streamed in about this many pieces, cut anywhere


def chunks_of(text: str) -> list[str]:
    size = max(7, len(text) // STREAM_CHUNKS + 1)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


@pytest.fixture(scope="module")
def fast() -> Engine:
    return fast_engine()


@pytest.fixture(scope="module")
def server(fast: Engine):
    with serving(fast, max_text_length=100_000) as thread:
        yield thread
        print(f"\nhostile texts tried: {len(TRIED)} "
              f"({sum(len(t) for t in TRIED) / 1e6:.1f} M characters)")


def check(reply: Reply, streaming: bool) -> str:
    """Speech, silence or a clear error; the outcome as a word for the assertions."""
    end = "synthesize-stopped" if streaming else "audio-stop"
    errors = codes(reply)
    assert set(errors) <= CLEAR_ERRORS, errors
    if errors:
        assert len(errors) == 1
        if streaming:
            assert reply.types[-1] == "synthesize-stopped"
        return errors[0]
    assert reply.types[-1] == end, reply.types[-3:]
    assert reply.types.count("audio-start") == reply.types.count("audio-stop") == 1
    return "speech" if len(reply.audio) and abs(reply.audio).max() > 0.001 else "silence"


async def speak(port: int, text: str, streaming: bool, timeout: float = 120) -> Reply:
    TRIED.append(text)
    if not streaming:
        return await ask(port, raw_event("synthesize", {"text": text}), until="audio-stop",
                         timeout=timeout)
    return await ask(port, raw_event("synthesize-start"),
                     *(raw_event("synthesize-chunk", {"text": c}) for c in chunks_of(text)),
                     raw_event("synthesize-stop"), until="synthesize-stopped", timeout=timeout)


QUIET = {"empty-text", "silence"}  # zero-width spaces are not whitespace to str.strip()
EXPECTED: dict[str, set[str]] = {
    "empty": QUIET, "whitespace only": QUIET, "newlines only": QUIET,
    "1 MB of text": {"text-too-long"}, "text limit plus one": {"text-too-long"},
    "5,000-character word": {"speech"}, "mixed scripts": {"speech"},
    "right-to-left": {"speech"}, "every language's digits": {"speech"},
    "markdown from an LLM": {"speech"}, "control characters": {"speech"},
    "invalid surrogates": {"speech"}, "absurd pauses": {"speech"},
    "pause tag only": {"silence"}, "one 60,000-character run-on": {"speech"},
    "hyphen chain": {"speech"}, "camel-case blob": {"speech"}, "5,000 digits": {"speech"},
    "one letter under 20,000 accents": {"speech"},
}


# Long renders are tried once (as one request); everything else also as a stream.
ONCE = {"5,000 digits", "one 60,000-character run-on", "5,000-character word"}
CASES = [pytest.param(name, streaming, id=f"{name}-{'stream' if streaming else 'synthesize'}")
         for name in HOSTILE for streaming in (False, True)
         if not (streaming and name in ONCE)]


@pytest.mark.parametrize(("name", "streaming"), CASES)
async def test_hostile_text_gives_speech_silence_or_a_clear_error(
        server: ServerThread, name: str, streaming: bool) -> None:
    text = HOSTILE[name]
    reply = await speak(server.port, text, streaming)
    outcome = check(reply, streaming)
    assert outcome in EXPECTED.get(name, {"speech", "silence"})
    if name == "absurd pauses":  # 10 s per tag at most (--max-pause), whatever the value
        assert len(reply.audio) / 24000 < 3 * 10 + 15
    if name == "pause tag only":
        assert abs(len(reply.audio) / 24000 - 1.0) < 0.05
    assert await describe_ok(server.port)


MIXED = ("Hello 世界, 草彅さん, 你好, привет, नमस्ते, مرحبا, שלום, ١٢٣ ๑๒๓ 123, x"
         + "\u0301" * 20_000 + " 😀 done.")


@pytest.mark.parametrize("voice", FAST_VOICES)
async def test_mixed_scripts_and_zalgo_in_every_language(server: ServerThread,
                                                         voice: str) -> None:
    """Every voice's G2P meets every script (a kanji OpenJTalk lacks, Chinese for the
    Japanese reader) and a letter under 20,000 accents."""
    TRIED.append(MIXED)
    reply = await ask(server.port, raw_event("synthesize", {"text": MIXED, "voice": {
        "name": voice}}), until="audio-stop", timeout=120)
    assert check(reply, False) in ("speech", "silence")


@st.composite
def odd_text(draw: st.DrawFn) -> str:
    pieces = st.one_of(
        st.characters(codec=None),  # any code point, surrogates included
        st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "[pause:", "9", "s]", "]",
                         "<speak>", "&", "`", "```", "**", "#", "\n", "\n\n", " ", ".", ". ",
                         "😀", "١", "…", "e.g.", "1.", "- ", "|", "http://", "@"]),
        st.text(max_size=8))
    return "".join(draw(st.lists(pieces, max_size=25)))


FUZZED = {"texts": 0}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=odd_text(), streaming=st.booleans())
def test_fuzzed_text_never_fails_the_request(server: ServerThread, text: str,
                                             streaming: bool) -> None:
    FUZZED["texts"] += 1
    reply = asyncio.run(speak(server.port, text, streaming, timeout=60))
    check(reply, streaming)


def test_the_server_is_whole_after_hostile_text(server: ServerThread) -> None:
    """After every hostile and fuzzed text above (or alone, with -k): no connection or task
    left behind, and a plain request, streamed or not, is still spoken in full."""
    print(f"\nfuzzed texts: {FUZZED['texts']}")
    assert asyncio.run(settle(server, lambda: no_work_tasks(server) and on_loop(
        server, lambda: server.service.open == 0)))  # type: ignore[union-attr]
    for streaming in (False, True):
        reply = asyncio.run(speak(server.port, "Turned on the kitchen lights.", streaming))
        assert check(reply, streaming) == "speech"
    assert asyncio.run(describe_ok(server.port))


def test_pause_tag_with_a_long_number_is_linear() -> None:
    """`[pause:` + 99,990 digits: the old `[0-9]*\\.?[0-9]+` backtracked for minutes."""
    text = "[pause:" + "1" * 99_990 + " then words"
    result = subprocess.run(
        [PYTHON, "-c", "import sys; from wyoming_kokoro.text.sentences import split_pauses; "
                       "print(len(split_pauses(sys.stdin.read())))"],
        input=text, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "1"
    assert split_pauses("a [pause:1.5s] b [ Pause : 300 MS ] c [pause:.5] d") == [
        "a", Pause(1.5), "b", Pause(0.3), "c", Pause(0.5), "d"]


def test_long_runs_reach_misaki_as_words() -> None:
    """misaki's English G2P is cubic in the sub-tokens of a space-free run."""
    assert split_long_runs("a-" * 30) == " ".join(["a"] * 30)
    assert split_long_runs("x" * 70) == "x" * 32 + " " + "x" * 32 + " " + "x" * 6
    link = "[" + "k" * 40 + "](/kˈɪʧən/)"
    assert split_long_runs(f"the {link} light-switch") == f"the {link} light-switch"
    assert split_long_runs("don't stop") == "don't stop"


def test_zalgo_marks_are_capped_but_real_scripts_kept() -> None:
    """More than 3 combining marks on a letter is noise every G2P reads in super-linear
    time; the accents of real scripts (decomposed Vietnamese, Devanagari, Thai) stay."""
    assert cleanup("x" + "\u0301" * 10_000 + " y") == "x" + "\u0301" * 3 + " y"
    for word in ["Tiếng Việt", "e\u0323\u0302", "क्षत्रिय", "ภาษาไทย", "naïve café"]:
        assert cleanup(word) == unicodedata.normalize("NFC", word)


def test_run_on_phonemes_split_without_recursion_limit() -> None:
    """A 120,000-symbol sentence (a long LLM list without a full stop) at the b64 bucket's
    capacity of 62 needs ~2,000 cuts: recursion died at 1,000."""
    phonemes = "ðə kˈɪʧən lˈIts " * 7500
    pieces = split_phonemes(phonemes, 62)
    assert len(pieces) > 1000 and all(0 < len(p) <= 62 for p in pieces)
    assert "".join(pieces).replace(" ", "") == phonemes.replace(" ", "")


HEAVY = {
    "100,000 emoji (the default text limit)": "😀" * 100_000,
    "100,000 characters of spaces between words": "a" + " " * 99_998 + "b",
    "100,000 punctuation marks": ".,;:!?-" * 14_285,
}


@pytest.mark.parametrize("name", HEAVY.keys())
def test_text_at_the_limit_renders_in_bounded_time(name: str) -> None:
    """Texts at --max-text-length made of what the front end strips or rewrites: a
    quadratic pass over them would hold a worker (and so every request) for minutes. Run in
    a subprocess so a regression fails at the timeout instead of wedging the test run."""
    script = (
        "import sys, time\n"
        "from tests.hardening_support import fast_engine\n"
        "engine = fast_engine()\n"
        "text = sys.stdin.read()\n"
        "started = time.monotonic()\n"
        "audio = engine.synthesize(text)\n"
        "print(f'{len(audio) / 24000:.1f} s of audio in {time.monotonic() - started:.1f} s')\n")
    try:
        result = subprocess.run([PYTHON, "-c", script], input=HEAVY[name], capture_output=True,
                                text=True, timeout=90, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: not rendered within 90 s (super-linear text processing)")
    assert result.returncode == 0, result.stderr[-2000:]
    print(f"\n{name}: {result.stdout.strip()}")
