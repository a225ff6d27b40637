"""Numbers, times, dates, money, units, phone numbers… → words each language's G2P reads right.

Rules run in a fixed order, most specific first (a phone number before a range, a date
before a time); each rewrites what it matches into words, so later rules never see it again.
English rewrites only what misaki gets wrong (times, ranges, units, phone numbers, versions,
dates, ¥/₹ and currency codes, °C/°F, fractions, abbreviations) and leaves plain numbers,
ordinals, "$42.50" and years to misaki, which reads them in context.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from wyoming_kokoro.text.words import (
    CURRENCIES,
    CURRENCY_CODES,
    MONTHS,
    SHORT_UNITS,
    UNIT_ALIASES,
    UNITS,
    Speller,
)
from wyoming_kokoro.text.words import speller as _speller

Rule = Callable[[str, Speller], str]

_SPACE_SEP = "\u00a0\u202f"  # no-break and narrow no-break spaces (French thousands)
_NUM = (rf"\d{{1,2}}(?:,\d{{2}})+,\d{{3}}"  # Indian grouping 1,00,000
        rf"|\d{{1,3}}(?:[.,{_SPACE_SEP}' ]\d{{3}})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?")
# a.m./p.m.; a final dot is left in place when it also ends the sentence
_MERIDIEM = r"(?:([AaPp])\.?\s?[Mm](?:\.(?=\s+[a-z0-9]))?(?![\w]))"


_CJK = r"\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_EDGE_RE = re.compile(rf"(?<=[{_CJK}])(?=[^\s{_CJK}])|(?<=[^\s{_CJK}])(?=[{_CJK}])")
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}]) +| +(?=[{_CJK}])")


def normalize(text: str, language: str) -> str:
    """Plain text in `language` (Kokoro code) → the same text with numbers etc. in words."""
    sp = _speller(language)
    cjk = sp.lang in ("ja", "zh")
    if cjk:  # the rules look for word edges, which unspaced CJK text does not have
        text = _CJK_EDGE_RE.sub(" ", text)
    for rule in _RULES:
        text = rule(text, sp)
    if cjk:
        text = _CJK_SPACE_RE.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# -- number parsing ------------------------------------------------------------------------
def parse_number(text: str, sp: Speller) -> tuple[str, str | None] | None:
    """'1.234,5' → ('1234', '5') by the language's separators; None when it is no number."""
    text = text.strip()
    if re.fullmatch(r"\d{1,2}(?:,\d{2})+,\d{3}", text):  # Indian grouping: 1,00,000
        return text.replace(",", ""), None
    for ch in _SPACE_SEP + "' ":
        if ch in text:
            if ch == " " and sp.lang != "fr":
                return None
            text = text.replace(ch, "")
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        dec = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if dec == "," else ","
        whole, _, frac = text.replace(thousands, "").partition(dec)
        return (whole, frac) if whole.isdigit() and frac.isdigit() else None
    sep = "." if dots else ("," if commas else "")
    if not sep:
        return (text, None) if text.isdigit() else None
    groups = text.split(sep)
    grouped = len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    is_decimal_sep = (sep == ",") == sp.comma_decimal
    if len(groups) > 2 or (grouped and (not is_decimal_sep or (sp.lang == "en" and sep == ","))):
        return ("".join(groups), None) if grouped else None
    return (groups[0], groups[1]) if len(groups) == 2 else (groups[0], None)


def say_number(text: str, sp: Speller, negative: bool = False) -> str:
    parsed = parse_number(text, sp)
    if parsed is None:
        return text
    return sp.decimal_number(negative, *parsed)


def _value(text: str, sp: Speller) -> float:
    parsed = parse_number(text, sp)
    if parsed is None:
        return 0.0
    return float(parsed[0] + ("." + parsed[1] if parsed[1] else ""))


def _plural(value: float, sp: Speller) -> bool:
    return abs(value) >= 2 if sp.lang == "fr" else abs(value) != 1


# -- rules ---------------------------------------------------------------------------------
def _prefixes(text: str, sp: Speller) -> str:
    """'#3' → 'number 3', '~5' → 'about 5'."""
    text = re.sub(r"(?<![\w&])#\s?(\d+)\b", lambda m: sp.number.format(n=m.group(1)), text)
    return re.sub(r"(?<![\w])~\s?(?=\d)", sp.about + sp.joiner, text)


_PHONE_RE = re.compile(
    r"(?<![\w.,/:+-])(\+\s?\d{1,3}[\s.-]?)?(\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,5}"
    r"(?![\w]|[.,/:-]\d)")


def _phone(text: str, sp: Speller) -> str:
    """Groups of digits that look like a phone number are read digit by digit, per group."""
    def repl(m: re.Match[str]) -> str:
        s = m.group(0)
        digits = sum(c.isdigit() for c in s)
        groups = re.findall(r"\d+", s)
        plus, paren = bool(m.group(1)), bool(m.group(2))
        if digits < 7 or digits > 15:
            return s
        thousands = len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
        if not (plus or paren):
            if len(groups) == 2 and not re.fullmatch(r"\d{3}-\d{4}", s):
                return s
            if thousands and "-" not in s and ("." in s or sp.lang == "fr"):
                return s  # 1.000.000, or French 1 000 000
        spoken = [sp.digits(g) for g in groups]
        if plus:
            spoken[0] = f"{sp.plus} {spoken[0]}"
        return ", ".join(spoken)
    return _PHONE_RE.sub(repl, text)


_MONTH_NAMES = "|".join([*MONTHS["en"], "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug",
                         "Sept", "Sep", "Oct", "Nov", "Dec"])
_MONTH_INDEX = {name[:3].lower(): i + 1 for i, name in enumerate(MONTHS["en"])}


def _valid(y: int | None, m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= 31 and (y is None or 1000 <= y <= 2999)


def _dates(text: str, sp: Speller) -> str:
    """ISO 2024-05-12, numeric 12/05/2024 (US: month first) and English 'May 12th'."""
    def iso_date(m: re.Match[str]) -> str:
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
        return sp.date(y, mo, d) if _valid(y, mo, d) else m.group(0)

    def numeric(m: re.Match[str]) -> str:
        a, b, year = int(m.group(1)), int(m.group(3)), m.group(4)
        if len(year) == 2 and m.group(2) == ".":
            return m.group(0)  # 1.2.24 is a version, not a date
        y = int(year) + (2000 if len(year) == 2 else 0)
        month_first = sp.lang == "en" and not sp.british and m.group(2) == "/"
        mo, d = (a, b) if month_first else (b, a)
        if not _valid(y, mo, d):
            mo, d = d, mo
        return sp.date(y, mo, d) if _valid(y, mo, d) else m.group(0)

    text = re.sub(r"(?<![\d.\-/])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d\-/]|\.\d)",
                  iso_date, text)
    text = re.sub(r"(?<![\d./\-])(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./\-]\d|\d)",
                  numeric, text)
    if sp.lang != "en":
        return text

    def named(m: re.Match[str]) -> str:
        g = m.groupdict()
        month = _MONTH_INDEX[g["month"][:3].lower()]
        day = int(g["day"])
        year = int(g["year"]) if g.get("year") else None
        return sp.date(year, month, day) if _valid(year, month, day) else m.group(0)

    suffix = r"(?:st|nd|rd|th)?"
    year = r"(?:,?\s+(?P<year>\d{4})(?!\d))?"
    text = re.sub(rf"\b(?P<month>{_MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}}){suffix}\b{year}",
                  named, text)
    return re.sub(rf"\b(?:the\s+)?(?P<day>\d{{1,2}}){suffix}\s+(?:of\s+)?"
                  rf"(?P<month>{_MONTH_NAMES})\b\.?{year}", named, text)


def _times(text: str, sp: Speller) -> str:
    """14:30, 2:30 pm, 7am, 14:30:15, and French 14h30."""
    def clock(m: re.Match[str]) -> str:
        h, mi = int(m.group(1)), int(m.group(2))
        s = int(m.group(3)) if m.group(3) else None
        meridiem = (m.group(4).upper() + "M") if m.group(4) else None
        if h > 24 or mi > 59 or (s is not None and s > 59) or (meridiem and not 1 <= h <= 12):
            return m.group(0)
        return sp.time(h % 24, mi, s, meridiem)

    def hour(m: re.Match[str]) -> str:
        h = int(m.group(1))
        if not 1 <= h <= 12:
            return m.group(0)
        return sp.time(h, 0, None, m.group(2).upper() + "M")

    text = re.sub(rf"(?<![\d:.,])(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?(?![\d:])(?:\s?{_MERIDIEM})?",
                  clock, text)
    text = re.sub(rf"(?<![\d:.,])(\d{{1,2}})\s?{_MERIDIEM}", hour, text)
    if sp.lang == "fr":
        text = re.sub(r"(?<![\d:.,])(\d{1,2})\s?h\s?(\d{2})(?!\d)", lambda m: sp.time(
            int(m.group(1)) % 24, int(m.group(2)), None, None) if int(m.group(2)) < 60
            else m.group(0), text)
    return text


def _versions(text: str, sp: Speller) -> str:
    """v2.4.1 → 'version 2 point 4 point 1'; 192.168.1.10 → '… dot …'."""
    def repl(m: re.Match[str]) -> str:
        parts = m.group(2).split(".")
        if sp.comma_decimal and len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]):
            return m.group(0)  # 1.000.000 is a number here
        ip = not m.group(1) and len(parts) == 4 and all(int(p) <= 255 for p in parts)
        if len(parts) < 3 and not m.group(1):
            return m.group(0)
        sep = f" {sp.dot} " if ip else f" {sp.version_point} "
        spoken = sep.join(sp.cardinal(int(p)) for p in parts)
        prefix = m.group(1) or ""
        word = prefix.strip() if len(prefix.strip()) > 1 else sp.version
        return (f"{word} " if prefix else "") + spoken
    return re.sub(r"(?<![\w.])((?i:version|v)\s?)?(\d+(?:\.\d+){1,3})(?![\w]|\.\d)", repl,
                  text)


_CODE_RE = "|".join(re.escape(c) for c in sorted(CURRENCY_CODES, key=len, reverse=True))
_SYMBOL_RE = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_AMOUNT = rf"(?P<amount>{_NUM})"


def _money(text: str, sp: Speller) -> str:
    """$5, 5 €, ¥500, EUR 20, 20 USD, R$ 10,50 → amount, unit, cents."""
    def say(m: re.Match[str]) -> str:
        g = m.groupdict()
        symbol = g.get("symbol") or CURRENCY_CODES[g["code"]]
        parsed = parse_number(g["amount"], sp)
        if parsed is None:
            return m.group(0)
        if (sp.lang == "en" and symbol in "$€£" and g.get("prefix") and not g.get("code")):
            return m.group(0)  # misaki reads "$42.50" well, in context
        return sp.money(symbol, parsed[0], parsed[1], bool(g.get("neg")))

    sign = r"(?P<neg>[-−])?"
    text = re.sub(rf"(?<![\w$€£¥₹]){sign}(?P<prefix>(?:(?P<code>{_CODE_RE})\s?|"
                  rf"(?P<symbol>{_SYMBOL_RE})\s?)){_AMOUNT}(?![\d]|[.,]\d)", say, text)
    return re.sub(rf"(?<![\w.,]){sign}{_AMOUNT}\s?(?:(?P<symbol>{_SYMBOL_RE})|"
                  rf"(?P<code>{_CODE_RE})\b)", say, text)


_UNIT_NAMES = {**{u: u for u in UNITS}, **UNIT_ALIASES, "ºC": "°C", "ºF": "°F", "° C": "°C",
               "° F": "°F"}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNIT_NAMES, key=len, reverse=True))


def _units(text: str, sp: Speller) -> str:
    """21.5 °C, 50 km/h, 1.5 kWh, 43 % → number and unit name, singular or plural."""
    def repl(m: re.Match[str]) -> str:
        symbol = _UNIT_NAMES[m.group("unit")]
        if not m.group("space") and symbol in SHORT_UNITS:
            value = _value(m.group("amount"), sp)
            if symbol == "s" and value >= 10 and value % 10 == 0:
                return m.group(0)  # the 1990s, the 80s
        parsed = parse_number(m.group("amount"), sp)
        if parsed is None:
            return m.group(0)
        negative = bool(m.group("neg"))
        value = _value(m.group("amount"), sp)
        amount = sp.decimal_number(negative, *parsed)
        plural = _plural(value, sp) or bool(parsed[1] and sp.lang == "en")
        return sp.unit(amount, symbol, plural)
    return re.sub(rf"(?<![\w.,])(?P<neg>[-−])?{_AMOUNT}(?P<space>\s?)(?P<unit>{_UNIT_RE})"
                  r"(?![\w²³/])", repl, text)


def _ranges(text: str, sp: Speller) -> str:
    """5-10, 5–10, 18 – 21 → '5 to 10' (never inside words like COVID-19)."""
    def repl(m: re.Match[str]) -> str:
        return f"{say_number(m.group(1), sp)} {sp.to} {say_number(m.group(2), sp)}"
    return re.sub(rf"(?<![\w.,\-–])({_NUM})\s?[-–—]\s?({_NUM})(?![\w]|[.,\-–]\d)", repl, text)


def _ordinals(text: str, sp: Speller) -> str:
    """1.º 2ª (es/it/pt), 1er 2e (fr); English ordinals are misaki's."""
    if sp.lang in ("es", "it", "pt"):
        return re.sub(r"(?<![\w.,])(\d+)\.?([ºª])(?!\w)",
                      lambda m: sp.ordinal(int(m.group(1)), m.group(2) == "ª"), text)
    if sp.lang == "fr":
        return re.sub(r"(?<![\w.,])(\d+)(?:(er)|(re|ère)|e|ème|nde?)(?!\w)",
                      lambda m: sp.ordinal(int(m.group(1)), bool(m.group(3))), text)
    return text


_FRACTIONS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters")}
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4)}


def _fractions(text: str, sp: Speller) -> str:
    """English 3/4 → three quarters, ½ → one half (misaki says 'three four')."""
    if sp.lang != "en":
        return text

    def say(n: int, d: int) -> str:
        if d in _FRACTIONS:
            name = _FRACTIONS[d][n != 1]
        else:
            name = sp.ordinal(d) + ("s" if n != 1 else "")
        return f"{sp.words(n)} {name}"

    text = re.sub(r"(?:(\d)\s?)?([½⅓⅔¼¾])", lambda m: (
        f"{m.group(1)} and " if m.group(1) else "") + say(*_VULGAR[m.group(2)]), text)
    return re.sub(r"(?<![\w/.,])([1-9])/([2-9]|10)(?![\w/]|[.,]\d)", lambda m: (
        say(int(m.group(1)), int(m.group(2)))
        if int(m.group(1)) < int(m.group(2)) else m.group(0)), text)


def _numbers(text: str, sp: Speller) -> str:
    """Every remaining number, said the language's way (English: only separators fixed)."""
    extra = r"\d{1,2}(?:,\d{2})+,\d{3}|" if sp.lang == "hi" else ""  # Indian 1,00,000

    def repl(m: re.Match[str]) -> str:
        raw = m.group(2)
        if sp.lang == "hi" and re.fullmatch(r"\d{1,2}(?:,\d{2})+,\d{3}", raw):
            raw = raw.replace(",", "")
        parsed = parse_number(raw, sp)
        if parsed is None:
            return m.group(0)
        return sp.decimal_number(bool(m.group(1)), *parsed)

    return re.sub(rf"(?<![\w.,\-−])([-−](?=\d))?({extra}{_NUM})(?![\w]|[.,]\d)", repl, text)


def _abbreviations(text: str, sp: Speller) -> str:
    """Home-automation shorthand: temp, min, max, approx., e.g. → full words. Keys of two
    letters or fewer (Dr, M, n) only count with their dot, before a space."""
    for short, long in sorted(sp.abbreviations.items(), key=lambda kv: -len(kv[0])):
        flags = re.IGNORECASE if short.islower() else 0
        key = re.escape(short)
        if len(short) <= 2 and short.isalpha():
            pattern = rf"(?<![\w.]){key}\.(?=\s)"
        else:
            pattern = rf"(?<![\w.]){key}(?:\.(?=\s*\S))?(?![\w])"
        text = re.sub(pattern, long, text, flags=flags)
    return text


def _symbols(text: str, sp: Speller) -> str:
    """Leftover symbols between words: & + = → words; stray ones → space."""
    text = re.sub(r"\s*&\s*", f" {sp.and_} ", text) if sp.lang != "en" else text
    text = re.sub(r"(?<=[\d\s])\+(?=\s?\d)", f" {sp.plus} ", text)
    return re.sub(r"[°º](?!\w)", "", text)


_RULES: tuple[Rule, ...] = (_prefixes, _dates, _phone, _times, _versions, _money, _units,
                            _ranges, _ordinals, _fractions, _numbers, _abbreviations, _symbols)


# -- SSML say-as ---------------------------------------------------------------------------
def say_as(text: str, interpret: str, fmt: str | None, language: str) -> str:
    """`<say-as interpret-as=…>`: characters, cardinal, ordinal, digits, date, time, telephone."""
    sp = _speller(language)
    kind = interpret.lower()
    numbers = re.findall(r"\d+", text)
    if kind in ("characters", "spell-out", "verbatim", "letters"):
        return " ".join(sp.digit(c) if c.isdigit() else c.upper() for c in text if c.isalnum())
    if kind == "digits":
        return sp.digits(text)
    if kind in ("cardinal", "number") and (parsed := parse_number(text.strip("+-−"), sp)):
        if sp.lang == "en":
            return f"{'minus ' if text.strip()[:1] in '-−' else ''}{sp.words(int(parsed[0]))}" + (
                f" point {sp.digits(parsed[1])}" if parsed[1] else "")
        return sp.decimal_number(text.strip()[:1] in "-−", *parsed)
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
            fmt = "mdy" if sp.lang == "en" and not sp.british else "dmy"
    fields = dict(zip(fmt, (int(n) for n in numbers), strict=False))
    year, month, day = fields.get("y"), fields.get("m"), fields.get("d")
    if year is not None and year < 100:
        year += 2000
    if month is None or not 1 <= month <= 12:
        return None
    if day is None:
        return (MONTHS.get(sp.lang, [""] * 12)[month - 1] + (f" {year}" if year else "")).strip()
    return sp.date(year, month, day) if _valid(year, month, day) else None
