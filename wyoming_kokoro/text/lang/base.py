"""What every language gives the normaliser: the `Speller` interface, its shared defaults,
and the unit and currency symbols each language must name.

The normaliser finds a number, a time, an amount… and asks the language's speller for the
words. The defaults here are what most languages share (num2words for the numbers, "amount
unit", "amount currency and cents"); a language module overrides what it says differently
and adds the rules only it needs through the `read_*` hooks, which the normaliser calls at a
fixed point of its rule order.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

from num2words import num2words

_MAX_WORDS = 10**15  # beyond this a number is an id or garbage: read it digit by digit

# Every unit a language names, by its canonical symbol (longest-first matching is the
# normaliser's job; this order is only the table's).
UNIT_SYMBOLS = ("km/h", "mph", "m/s", "µg/m³", "kWh", "Wh", "kW", "W", "V", "mA", "A", "Hz",
                "km", "cm", "mm", "m²", "m³", "m", "kg", "g", "ml", "l", "hPa", "mbar", "dB",
                "lx", "ppm", "%", "°C", "°F", "°", "min", "ms", "h", "s", "GB", "MB", "Mbps",
                "mi", "ft", "lb")
# Other spellings of the same units (ASCII exponents, capital L, plurals people write).
UNIT_ALIASES = {"kph": "km/h", "ug/m3": "µg/m³", "μg/m³": "µg/m³", "µg/m3": "µg/m³",
                "m2": "m²", "m3": "m³", "L": "l", "mL": "ml", "lbs": "lb", "kwh": "kWh",
                "mins": "min", "hrs": "h", "hr": "h", "sec": "s", "secs": "s", "lux": "lx",
                "℃": "°C", "℉": "°F", "Mbit/s": "Mbps", "kmh": "km/h"}
# Units also read when written without a space after a number, but never after a number
# that reads like a decade or a year ("the 1990s", "in the 80s").
SHORT_UNITS = {"s", "h", "m", "g", "l", "A", "V", "W"}
# Every currency a language names, by symbol; codes people write instead of the symbol.
CURRENCY_SYMBOLS = ("$", "€", "£", "¥", "₹", "R$")
CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "RMB": "¥",
                  "INR": "₹", "BRL": "R$", "US$": "$", "Rs": "₹", "Rs.": "₹"}


def n2w(value: int | float, lang: str, to: str = "cardinal") -> str:
    """num2words that never raises: huge numbers are spelled digit by digit."""
    try:
        if abs(value) >= _MAX_WORDS:
            digits = str(int(abs(value)))
            spoken = " ".join(num2words(int(d), lang=lang) for d in digits)
            return spoken if value >= 0 else f"{num2words(-1, lang=lang).split()[0]} {spoken}"
        return num2words(value, lang=lang, to=to)
    except (OverflowError, NotImplementedError, ValueError, TypeError):
        return str(value)


def same_in_plural(table: dict[str, str | tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """A unit table where most names do not change in the plural: 'x' → ('x', 'x')."""
    return {k: (v, v) if isinstance(v, str) else v for k, v in table.items()}


def valid_date(y: int | None, m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= 31 and (y is None or 1000 <= y <= 2999)


def to24(h: int, meridiem: str | None) -> int:
    """A 12-hour clock reading (meridiem 'AM'/'PM', or None) → the 24-hour hour."""
    if meridiem == "PM" and h < 12:
        return h + 12
    if meridiem == "AM" and h == 12:
        return 0
    return h


def plain_decimal(negative: bool, whole: str, frac: str | None) -> str:
    """'-21.5' as digits, for G2Ps that read signs and decimals themselves."""
    return ("-" if negative else "") + str(int(whole)) + (f".{frac}" if frac else "")


def feminine_in_a(ordinal: str) -> str:
    """'vigésimo primero' → 'vigésima primera' (Spanish, Italian, Portuguese ordinals)."""
    if not ordinal.endswith("o"):
        return ordinal
    return " ".join(w[:-1] + "a" if w.endswith("o") else w for w in ordinal.split())


_MARKED_ORDINAL_RE = re.compile(r"(?<![\w.,])(\d+)\.?([ºª])(?!\w)")


class Speller(ABC):
    """One language's words for what the normaliser rewrites. Subclasses set the words
    (class attributes) and override the readings their language says differently."""

    lang: ClassVar[str]  # ISO code: en es fr it pt hi ja zh
    num2words: ClassVar[str | None] = None  # None: leave digits for the G2P
    emoji: ClassVar[str | None] = None  # the emoji package's language for CLDR names
    comma_decimal: ClassVar[bool] = False  # 21,5 is a decimal in this language
    space_thousands: ClassVar[bool] = False  # 1 000 000 is one number (French)
    unspaced: ClassVar[bool] = False  # written without spaces between words (ja, zh)
    marked_ordinals: ClassVar[bool] = False  # 1.º 2.ª are ordinals (es, it, pt)
    spell_ampersand: ClassVar[bool] = True  # read & as `and_` (misaki reads it itself)
    g2p_money: ClassVar[frozenset[str]] = frozenset()  # symbols the G2P reads before a number
    decimal: ClassVar[str] = "point"
    minus: ClassVar[str] = "minus"
    to: ClassVar[str] = "to"
    dot: ClassVar[str] = "dot"
    at: ClassVar[str] = "at"
    about: ClassVar[str] = "about"
    number: ClassVar[str] = "number {n}"
    plus: ClassVar[str] = "plus"
    version: ClassVar[str] = "version"
    version_point: ClassVar[str] = "point"
    and_: ClassVar[str] = "and"
    joiner: ClassVar[str] = " "  # between a number and its unit ("" in Japanese and Mandarin)
    digit_separator: ClassVar[str] = " "  # between digits read one by one
    abbreviations: ClassVar[dict[str, str]] = {}
    months: ClassVar[tuple[str, ...]] = ("",) * 12  # "" where dates say the month's number
    # unit symbol → (singular, plural); a name holding "{n}" is a template (百分之{n})
    units: ClassVar[dict[str, tuple[str, str]]]
    # currency symbol → (unit singular, plural, cent singular, plural; "" = no subunit)
    currencies: ClassVar[dict[str, tuple[str, str, str, str]]]
    month_first: bool = False  # 5/12 is the 12th of May (American English)

    # -- numbers -----------------------------------------------------------------------------
    def cardinal(self, value: int) -> str:
        """An integer in words, or in digits where the G2P reads them (en, hi, ja, zh)."""
        return self.words(value)

    def words(self, value: int) -> str:
        """An integer always in words where num2words knows the language."""
        return n2w(value, lang=self.num2words) if self.num2words else str(value)

    def ordinal(self, value: int, feminine: bool = False) -> str:
        if not self.num2words:
            return str(value)
        text = n2w(value, lang=self.num2words, to="ordinal")
        return self.feminine_ordinal(text) if feminine else text

    def feminine_ordinal(self, text: str) -> str:
        """The feminine of a spelled ordinal ('primero' → 'primera'); most leave it."""
        return text

    def digit(self, d: str) -> str:
        return self.words(int(d)) if self.num2words else d

    def digits(self, text: str) -> str:
        """Read each digit alone (phone numbers, say-as digits)."""
        return self.digit_separator.join(self.digit(d) for d in text if d.isdigit())

    def fraction_digits(self, frac: str) -> str:
        """After the decimal word: '5' → five, '50' → fifty, '05' / '125' → digit by digit."""
        if len(frac) <= 2 and not frac.startswith("0"):
            return self.cardinal(int(frac))
        return self.digits(frac)

    def decimal_number(self, negative: bool, whole: str, frac: str | None) -> str:
        """A parsed number said the way this language's G2P needs it."""
        sign = f"{self.minus} " if negative else ""
        text = self.cardinal(int(whole))
        if frac:
            text += f" {self.decimal} {self.fraction_digits(frac)}"
        return sign + text

    def say_cardinal(self, negative: bool, whole: str, frac: str | None) -> str:
        """SSML say-as cardinal: the number as this language reads one out."""
        return self.decimal_number(negative, whole, frac)

    def plural(self, value: float, frac: str | None) -> bool:
        """Whether a unit after this amount takes its plural name."""
        return abs(value) != 1

    # -- units and money ---------------------------------------------------------------------
    def unit_name(self, symbol: str, plural: bool) -> str:
        sg, pl = self.units[symbol]
        return pl if plural else sg

    def unit(self, amount: str, symbol: str, plural: bool) -> str:
        name = self.unit_name(symbol, plural)
        if "{n}" in name:
            return name.format(n=amount)
        return f"{amount}{self.joiner}{name}"

    def money(self, symbol: str, whole: str, cents: str | None, negative: bool) -> str:
        sg, pl, cent_sg, cent_pl = self.currencies[symbol]
        value = int(whole)
        amount = self.decimal_number(negative, whole, None)
        text = f"{amount}{self.joiner}{sg if value == 1 else pl}"
        if cents and int(cents) and cent_sg:
            c = int(cents.ljust(2, "0")[:2])
            cent_words = self.decimal_number(False, str(c), None)
            connector = "" if self.joiner == "" else f" {self.and_} "
            text += f"{connector}{cent_words}{self.joiner}{cent_sg if c == 1 else cent_pl}"
        elif cents and int(cents):  # no subunit (yen): say the decimal amount
            amount = self.decimal_number(negative, whole, cents)
            text = f"{amount}{self.joiner}{pl}"
        return text

    # -- times and dates ---------------------------------------------------------------------
    @abstractmethod
    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        """A clock time (24-hour `hour` unless `meridiem` is 'AM' or 'PM') in words."""

    @abstractmethod
    def date(self, year: int | None, month: int, day: int) -> str:
        """A date in words; `year` None when the text gave none."""

    def month_name(self, month: int) -> str:
        return self.months[month - 1]

    def month_year(self, year: int | None, month: int) -> str:
        """A month without a day, with its year if the text gave one ('May 2024')."""
        return (self.month_name(month) + (f" {year}" if year else "")).strip()

    # -- rules of one language, called at their place in the normaliser's order -----------
    def read_local_times(self, text: str) -> str:
        """Clock times written this language's own way (French 14h30)."""
        return text

    def read_named_dates(self, text: str) -> str:
        """Dates with a month name ('May 12th')."""
        return text

    def read_ordinals(self, text: str) -> str:
        """Ordinal numbers written with a mark (1.º 2.ª where `marked_ordinals`, French 1er)."""
        if not self.marked_ordinals:
            return text
        return _MARKED_ORDINAL_RE.sub(
            lambda m: self.ordinal(int(m.group(1)), m.group(2) == "ª"), text)

    def read_fractions(self, text: str) -> str:
        """Fractions the G2P would read wrong (English 3/4)."""
        return text
