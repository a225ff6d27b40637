"""French: num2words for numbers, decimal comma, thousands by spaces (1 000 000), 14h30,
1er/1re/2e ordinals, "quatorze heures trente", "le premier mai"; plural from 2 on."""

from __future__ import annotations

import re

from wyoming_kokoro.text.lang.base import Speller, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": ("kilomètre par heure", "kilomètres par heure"),
    "mph": ("mile par heure", "miles par heure"),
    "m/s": ("mètre par seconde", "mètres par seconde"),
    "µg/m³": ("microgramme par mètre cube", "microgrammes par mètre cube"),
    "kWh": ("kilowattheure", "kilowattheures"), "Wh": ("wattheure", "wattheures"),
    "kW": ("kilowatt", "kilowatts"), "W": ("watt", "watts"), "V": ("volt", "volts"),
    "mA": ("milliampère", "milliampères"), "A": ("ampère", "ampères"), "Hz": "hertz",
    "km": ("kilomètre", "kilomètres"), "cm": ("centimètre", "centimètres"),
    "mm": ("millimètre", "millimètres"), "m²": ("mètre carré", "mètres carrés"),
    "m³": ("mètre cube", "mètres cubes"), "m": ("mètre", "mètres"),
    "kg": ("kilogramme", "kilogrammes"), "g": ("gramme", "grammes"),
    "ml": ("millilitre", "millilitres"), "l": ("litre", "litres"),
    "hPa": ("hectopascal", "hectopascals"), "mbar": ("millibar", "millibars"),
    "dB": ("décibel", "décibels"), "lx": "lux",
    "ppm": ("partie par million", "parties par million"), "%": "pour cent",
    "°C": ("degré", "degrés"), "°F": ("degré Fahrenheit", "degrés Fahrenheit"),
    "°": ("degré", "degrés"), "min": ("minute", "minutes"),
    "ms": ("milliseconde", "millisecondes"), "h": ("heure", "heures"),
    "s": ("seconde", "secondes"), "GB": ("gigaoctet", "gigaoctets"),
    "MB": ("mégaoctet", "mégaoctets"), "Mbps": ("mégabit par seconde", "mégabits par seconde"),
    "mi": ("mile", "miles"), "ft": ("pied", "pieds"), "lb": ("livre", "livres")})
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "centime", "centimes"),
    "£": ("livre", "livres", "penny", "pence"), "¥": ("yen", "yens", "", ""),
    "₹": ("roupie", "roupies", "paisa", "paisas"), "R$": ("réal", "reais", "centavo", "centavos")}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")
ABBREVIATIONS = {
    "temp": "température", "min": "minimum", "max": "maximum", "env": "environ",
    "approx": "approximativement", "p. ex": "par exemple", "etc": "et cetera", "n°": "numéro",
    "M": "monsieur", "Mme": "madame", "Mlle": "mademoiselle", "Dr": "docteur",
}
_FEMININE_HOURS = {1: "une", 21: "vingt et une"}  # une heure, vingt et une heures
_ORDINAL_RE = re.compile(r"(?<![\w.,])(\d+)(?:(er)|(re|ère)|e|ème|nde?)(?!\w)")
_LOCAL_TIME_RE = re.compile(r"(?<![\d:.,])(\d{1,2})\s?h\s?(\d{2})(?!\d)")


class French(Speller):
    lang = "fr"
    num2words = "fr"
    emoji = "fr"
    comma_decimal = True
    space_thousands = True
    decimal = "virgule"
    minus = "moins"
    to = "à"
    dot = "point"
    at = "arobase"
    about = "environ"
    number = "numéro {n}"
    plus = "plus"
    version = "version"
    version_point = "point"
    and_ = "et"
    abbreviations = ABBREVIATIONS
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def feminine_ordinal(self, text: str) -> str:
        return "première" if text == "premier" else text

    def plural(self, value: float, frac: str | None) -> bool:
        return abs(value) >= 2  # 1,5 degré

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        spoken = _FEMININE_HOURS.get(h, self.cardinal(h))
        text = f"{spoken} {'heure' if h == 1 else 'heures'}"
        text += f" {self.cardinal(minute)}" if minute else ""
        if second:
            text += f" {self.and_} {self.cardinal(second)} secondes"
        return text

    def date(self, year: int | None, month: int, day: int) -> str:
        spoken = "premier" if day == 1 else self.cardinal(day)
        # the text brings its own article: "le 12/05" → "le douze mai"
        return f"{spoken} {MONTHS[month - 1]}" + (f" {self.cardinal(year)}" if year else "")

    def read_local_times(self, text: str) -> str:
        """14h30, 14 h 30."""
        return _LOCAL_TIME_RE.sub(lambda m: self.time(
            int(m.group(1)) % 24, int(m.group(2)), None, None) if int(m.group(2)) < 60
            else m.group(0), text)

    def read_ordinals(self, text: str) -> str:
        """1er, 1re/1ère (feminine), 2e, 3ème, 2nd(e)."""
        return _ORDINAL_RE.sub(lambda m: self.ordinal(int(m.group(1)), bool(m.group(3))), text)
