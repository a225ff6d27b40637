"""Numbers, times, dates, money, units, phone numbers… → words each language's G2P reads right.

Rules run in a fixed order, most specific first (a phone number before a range, a date
before a time); each rewrites what it matches into words, so later rules never see it again.
The rules find and parse; the words, and the few rules only one language needs, come from
that language's speller (`text/lang/`). English rewrites only what misaki gets wrong (times,
ranges, units, phone numbers, versions, dates, ¥/₹ and currency codes, °C/°F, fractions,
abbreviations) and leaves plain numbers, ordinals, "$42.50" and years to misaki, which reads
them in context.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from wyoming_kokoro.text.lang import Speller, speller
from wyoming_kokoro.text.lang.base import (
    CURRENCY_CODES,
    CURRENCY_SYMBOLS,
    SHORT_UNITS,
    UNIT_ALIASES,
    UNIT_SYMBOLS,
    valid_date,
)

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
    sp = speller(language)
    if sp.unspaced:  # the rules look for word edges, which unspaced CJK text does not have
        text = _CJK_EDGE_RE.sub(" ", text)
    for rule in _RULES:
        text = rule(text, sp)
    if sp.unspaced:
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
            if ch == " " and not sp.space_thousands:
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
    if len(groups) > 2 or (grouped and not is_decimal_sep):
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
            if thousands and "-" not in s and ("." in s or sp.space_thousands):
                return s  # 1.000.000, or French 1 000 000
        spoken = [sp.digits(g) for g in groups]
        if plus:
            spoken[0] = f"{sp.plus} {spoken[0]}"
        return ", ".join(spoken)
    return _PHONE_RE.sub(repl, text)


def _dates(text: str, sp: Speller) -> str:
    """ISO 2024-05-12, numeric 12/05/2024 (US: month first), then the language's own
    (English 'May 12th')."""
    def iso_date(m: re.Match[str]) -> str:
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
        return sp.date(y, mo, d) if valid_date(y, mo, d) else m.group(0)

    def numeric(m: re.Match[str]) -> str:
        a, b, year = int(m.group(1)), int(m.group(3)), m.group(4)
        if len(year) == 2 and m.group(2) == ".":
            return m.group(0)  # 1.2.24 is a version, not a date
        y = int(year) + (2000 if len(year) == 2 else 0)
        month_first = sp.month_first and m.group(2) == "/"
        mo, d = (a, b) if month_first else (b, a)
        if not valid_date(y, mo, d):
            mo, d = d, mo
        return sp.date(y, mo, d) if valid_date(y, mo, d) else m.group(0)

    text = re.sub(r"(?<![\d.\-/])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d\-/]|\.\d)",
                  iso_date, text)
    text = re.sub(r"(?<![\d./\-])(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./\-]\d|\d)",
                  numeric, text)
    return sp.read_named_dates(text)


def _times(text: str, sp: Speller) -> str:
    """14:30, 2:30 pm, 7am, 14:30:15, then the language's own (French 14h30)."""
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
    return sp.read_local_times(text)


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
_SYMBOL_RE = "|".join(re.escape(c) for c in sorted(CURRENCY_SYMBOLS, key=len, reverse=True))
_AMOUNT = rf"(?P<amount>{_NUM})"


def _money(text: str, sp: Speller) -> str:
    """$5, 5 €, ¥500, EUR 20, 20 USD, R$ 10,50 → amount, unit, cents."""
    def say(m: re.Match[str]) -> str:
        g = m.groupdict()
        symbol = g.get("symbol") or CURRENCY_CODES[g["code"]]
        parsed = parse_number(g["amount"], sp)
        if parsed is None:
            return m.group(0)
        if symbol in sp.g2p_money and g.get("prefix") and not g.get("code"):
            return m.group(0)  # misaki reads "$42.50" well, in context
        return sp.money(symbol, parsed[0], parsed[1], bool(g.get("neg")))

    sign = r"(?P<neg>[-−])?"
    text = re.sub(rf"(?<![\w$€£¥₹]){sign}(?P<prefix>(?:(?P<code>{_CODE_RE})\s?|"
                  rf"(?P<symbol>{_SYMBOL_RE})\s?)){_AMOUNT}(?![\d]|[.,]\d)", say, text)
    return re.sub(rf"(?<![\w.,]){sign}{_AMOUNT}\s?(?:(?P<symbol>{_SYMBOL_RE})|"
                  rf"(?P<code>{_CODE_RE})\b)", say, text)


_UNIT_NAMES = {**{u: u for u in UNIT_SYMBOLS}, **UNIT_ALIASES, "ºC": "°C", "ºF": "°F", "° C": "°C",
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
        plural = sp.plural(value, parsed[1])
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
    return sp.read_ordinals(text)


def _fractions(text: str, sp: Speller) -> str:
    """English 3/4 → three quarters, ½ → one half (misaki says 'three four')."""
    return sp.read_fractions(text)


def _numbers(text: str, sp: Speller) -> str:
    """Every remaining number, said the language's way (English: only separators fixed)."""
    def repl(m: re.Match[str]) -> str:
        parsed = parse_number(m.group(2), sp)  # Indian 1,00,000 included
        if parsed is None:
            return m.group(0)
        return sp.decimal_number(bool(m.group(1)), *parsed)

    return re.sub(rf"(?<![\w.,\-−])([-−](?=\d))?({_NUM})(?![\w]|[.,]\d)", repl, text)


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
    text = re.sub(r"\s*&\s*", f" {sp.and_} ", text) if sp.spell_ampersand else text
    text = re.sub(r"(?<=[\d\s])\+(?=\s?\d)", f" {sp.plus} ", text)
    return re.sub(r"[°º](?!\w)", "", text)


_RULES: tuple[Rule, ...] = (_prefixes, _dates, _phone, _times, _versions, _money, _units,
                            _ranges, _ordinals, _fractions, _numbers, _abbreviations, _symbols)
