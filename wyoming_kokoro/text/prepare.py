"""Request text by `text_format`: plain text as is, SSML parsed into Markup for the engine.

Plain text goes to the engine unchanged: its front end reads markdown, pause tags and
`[word](/phonemes/)` overrides itself, sentence by sentence as a stream arrives. SSML is
parsed whole (markup can span chunks) into `Markup`, a `str` whose value is the plain text
it speaks and whose `blocks` carry breaks, rates, languages, voices and phonemes; the
server's length checks and queues handle it like any text. Malformed SSML comes back as
plain text with the tags stripped, and a warning is logged.
"""

from __future__ import annotations

from wyoming_kokoro.text.ssml import is_ssml, parse_ssml

__all__ = ["is_ssml", "prepare_text"]


def prepare_text(text: str, text_format: str | None) -> str:
    """What the engine should render for a request's text and `text_format`."""
    return parse_ssml(text) if is_ssml(text_format) else text
