"""SSML `<say-as interpret-as=… format=…>`: the text read as the markup says, in the
language's words (characters, cardinal, ordinal, digits, date, time, telephone); anything
else is normalised like plain text."""

from __future__ import annotations

import re

from wyoming_kokoro.text.lang import Speller, speller
from wyoming_kokoro.text.lang.base import valid_date
from wyoming_kokoro.text.normalize import normalize, parse_number


def say_as(text: str, interpret: str, fmt: str | None, language: str) -> str:
    """`<say-as interpret-as=…>`: characters, cardinal, ordinal, digits, date, time, telephone."""
    sp = speller(language)
    kind = interpret.lower()
    numbers = re.findall(r"\d+", text)
    if kind in ("characters", "spell-out", "verbatim", "letters"):
        return " ".join(sp.digit(c) if c.isdigit() else c.upper() for c in text if c.isalnum())
    if kind == "digits":
        return sp.digits(text)
    if kind in ("cardinal", "number") and (parsed := parse_number(text.strip("+-−"), sp)):
        return sp.say_cardinal(text.strip()[:1] in "-−", *parsed)
    if kind == "ordinal" and numbers:
        return sp.ordinal(int(numbers[0])) if sp.num2words else numbers[0]
    if kind == "date" and numbers:
        return _say_date(numbers, (fmt or "").lower(), sp) or normalize(text, language)
    if kind == "time" and numbers:
        nums = [int(n) for n in numbers] + [0, 0]
        meridiem = re.search(r"([AaPp])\.?\s?[Mm]", text)
        return sp.time(nums[0], nums[1], nums[2] or None,
                       meridiem.group(1).upper() + "M" if meridiem else None)
    if kind in ("telephone", "phone") and numbers:
        spoken = [sp.digits(g) for g in numbers]
        if text.strip().startswith("+"):
            spoken[0] = f"{sp.plus} {spoken[0]}"
        return ", ".join(spoken)
    return normalize(text, language)


def _say_date(numbers: list[str], fmt: str, sp: Speller) -> str | None:
    if not fmt:
        if len(numbers[0]) == 4:
            fmt = "ymd"
        else:
            fmt = "mdy" if sp.month_first else "dmy"
    fields = dict(zip(fmt, (int(n) for n in numbers), strict=False))
    year, month, day = fields.get("y"), fields.get("m"), fields.get("d")
    if year is not None and year < 100:
        year += 2000
    if month is None or not 1 <= month <= 12:
        return None
    if day is None:
        return sp.month_year(year, month)
    return sp.date(year, month, day) if valid_date(year, month, day) else None
