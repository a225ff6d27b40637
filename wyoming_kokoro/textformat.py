"""Request text by `text_format`: plain text as is, SSML reduced to the text it speaks."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

_LOGGER = logging.getLogger(__name__)
_TAG_RE = re.compile(r"<[^>]*>")


def to_plain_text(text: str, text_format: str | None) -> str:
    if (text_format or "text").lower() != "ssml":
        return text
    try:
        wrapped = text if text.lstrip().startswith("<speak") else f"<speak>{text}</speak>"
        root = ET.fromstring(wrapped)
    except ET.ParseError as err:
        _LOGGER.warning("Malformed SSML (%s); speaking it with the tags stripped", err)
        return _TAG_RE.sub(" ", text)
    return " ".join(" ".join(root.itertext()).split())
