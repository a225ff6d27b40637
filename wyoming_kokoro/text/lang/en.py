"""English (American a, British b): misaki reads plain numbers, ordinals, years and "$42.50"
well, in context, so they stay digits; only what it gets wrong is spelled out (times, dates,
fractions, units, shorthand). British English reads 24-hour times, metres and day-first
dates; American English reads month-first dates.
"""

from __future__ import annotations

import re

from wyoming_kokoro.text.lang.base import (
    Speller,
    n2w,
    plain_decimal,
    same_in_plural,
    valid_date,
)

UNITS = same_in_plural({
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"), "m/s": ("meter per second", "meters per second"),
    "µg/m³": ("microgram per cubic meter", "micrograms per cubic meter"),
    "kWh": ("kilowatt hour", "kilowatt hours"), "Wh": ("watt hour", "watt hours"),
    "kW": ("kilowatt", "kilowatts"), "W": ("watt", "watts"), "V": ("volt", "volts"),
    "mA": ("milliamp", "milliamps"), "A": ("amp", "amps"), "Hz": "hertz",
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "m²": ("square meter", "square meters"),
    "m³": ("cubic meter", "cubic meters"), "m": ("meter", "meters"),
    "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"), "ml": ("milliliter", "milliliters"),
    "l": ("liter", "liters"), "hPa": ("hectopascal", "hectopascals"),
    "mbar": ("millibar", "millibars"), "dB": ("decibel", "decibels"), "lx": "lux",
    "ppm": ("part per million", "parts per million"), "%": "percent",
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "°": ("degree", "degrees"),
    "min": ("minute", "minutes"), "ms": ("millisecond", "milliseconds"), "h": ("hour", "hours"),
    "s": ("second", "seconds"), "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"),
    "Mbps": ("megabit per second", "megabits per second"), "mi": ("mile", "miles"),
    "ft": ("foot", "feet"), "lb": ("pound", "pounds")})
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"), "R$": ("real", "reais", "centavo", "centavos")}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
ABBREVIATIONS = {
    "temp": "temperature", "temps": "temperatures", "min": "minimum", "max": "maximum",
    "approx": "approximately", "avg": "average", "hum": "humidity", "e.g": "for example",
    "i.e": "that is", "vs": "versus", "incl": "including", "excl": "excluding",
    "w/": "with", "w/o": "without", "est": "estimated", "hrs": "hours", "mins": "minutes",
    "secs": "seconds", "sec": "second", "ca": "about", "resp": "respectively",
}

_MONTH_NAMES = "|".join([*MONTHS, "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept",
                         "Sep", "Oct", "Nov", "Dec"])
_MONTH_INDEX = {name[:3].lower(): i + 1 for i, name in enumerate(MONTHS)}
_SUFFIX = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4})(?!\d))?"
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<month>{_MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}}){_SUFFIX}\b{_YEAR}")
_DAY_MONTH_RE = re.compile(
    rf"\b(?:the\s+)?(?P<day>\d{{1,2}}){_SUFFIX}\s+(?:of\s+)?(?P<month>{_MONTH_NAMES})\b\.?{_YEAR}")

_FRACTIONS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters")}
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4)}


class English(Speller):
    lang = "en"
    num2words = "en"
    emoji = "en"
    spell_ampersand = False
    g2p_money = frozenset("$€£")
    abbreviations = ABBREVIATIONS
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def __init__(self, british: bool = False) -> None:
        self.british = british
        self.month_first = not british

    def cardinal(self, value: int) -> str:
        return str(value)  # misaki reads it, in context

    def decimal_number(self, negative: bool, whole: str, frac: str | None) -> str:
        return plain_decimal(negative, whole, frac)  # misaki reads "-21.5" itself

    def say_cardinal(self, negative: bool, whole: str, frac: str | None) -> str:
        return f"{'minus ' if negative else ''}{self.words(int(whole))}" + (
            f" point {self.digits(frac)}" if frac else "")

    def plural(self, value: float, frac: str | None) -> bool:
        return abs(value) != 1 or bool(frac)  # "1.0 meters"

    def unit_name(self, symbol: str, plural: bool) -> str:
        name = super().unit_name(symbol, plural)
        if self.british:
            name = name.replace("meter", "metre").replace("liter", "litre")
        return name

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h, m, s, w = hour, minute, second, self.words
        if meridiem is None and self.british and (h > 12 or h == 0):
            hour_words = w(h) if h else "zero"
            minutes = "hundred" if m == 0 else (f"oh {w(m)}" if m < 10 else w(m))
            text = f"{hour_words} {minutes}"
        else:
            if meridiem is None and (h > 12 or h == 0):
                meridiem = "PM" if h >= 12 else "AM"
            h12 = h % 12 or 12
            if m == 0:
                text = w(h12) + ("" if meridiem else " o'clock")
            else:
                text = f"{w(h12)} {'oh ' + w(m) if m < 10 else w(m)}"
            if meridiem:
                text += f" {meridiem}"
        if s:
            text += f" and {w(s)} {'second' if s == 1 else 'seconds'}"
        return text

    def date(self, year: int | None, month: int, day: int) -> str:
        name = MONTHS[month - 1]
        nth = n2w(day, lang="en", to="ordinal")
        if self.british:
            return f"the {nth} of {name}" + (f" {year}" if year else "")
        return f"{name} {nth}" + (f", {year}" if year else "")

    def read_named_dates(self, text: str) -> str:
        """'May 12th', 'May 12, 2024', 'the 3rd of March', '12 May 1990'."""
        def named(m: re.Match[str]) -> str:
            g = m.groupdict()
            month = _MONTH_INDEX[g["month"][:3].lower()]
            day = int(g["day"])
            year = int(g["year"]) if g.get("year") else None
            return self.date(year, month, day) if valid_date(year, month, day) else m.group(0)

        return _DAY_MONTH_RE.sub(named, _MONTH_DAY_RE.sub(named, text))

    def read_fractions(self, text: str) -> str:
        """3/4 → three quarters, ½ → one half (misaki says 'three four')."""
        def say(n: int, d: int) -> str:
            if d in _FRACTIONS:
                name = _FRACTIONS[d][n != 1]
            else:
                name = self.ordinal(d) + ("s" if n != 1 else "")
            return f"{self.words(n)} {name}"

        text = re.sub(r"(?:(\d)\s?)?([½⅓⅔¼¾])", lambda m: (
            f"{m.group(1)} and " if m.group(1) else "") + say(*_VULGAR[m.group(2)]), text)
        return re.sub(r"(?<![\w/.,])([1-9])/([2-9]|10)(?![\w/]|[.,]\d)", lambda m: (
            say(int(m.group(1)), int(m.group(2)))
            if int(m.group(1)) < int(m.group(2)) else m.group(0)), text)
