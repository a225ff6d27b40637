"""Italian: num2words for numbers, decimal comma, 1º/2ª ordinals, "le quattordici e trenta",
"il primo maggio"."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, feminine_in_a, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": ("chilometro orario", "chilometri orari"), "mph": ("miglio orario", "miglia orarie"),
    "m/s": ("metro al secondo", "metri al secondo"),
    "µg/m³": ("microgrammo per metro cubo", "microgrammi per metro cubo"), "kWh": "chilowattora",
    "Wh": "wattora", "kW": "chilowatt", "W": "watt", "V": "volt", "mA": "milliampere",
    "A": "ampere", "Hz": "hertz", "km": ("chilometro", "chilometri"),
    "cm": ("centimetro", "centimetri"), "mm": ("millimetro", "millimetri"),
    "m²": ("metro quadrato", "metri quadrati"), "m³": ("metro cubo", "metri cubi"),
    "m": ("metro", "metri"), "kg": ("chilogrammo", "chilogrammi"), "g": ("grammo", "grammi"),
    "ml": ("millilitro", "millilitri"), "l": ("litro", "litri"), "hPa": "ettopascal",
    "mbar": "millibar", "dB": "decibel", "lx": "lux",
    "ppm": ("parte per milione", "parti per milione"), "%": "per cento", "°C": ("grado", "gradi"),
    "°F": ("grado Fahrenheit", "gradi Fahrenheit"), "°": ("grado", "gradi"),
    "min": ("minuto", "minuti"), "ms": ("millisecondo", "millisecondi"), "h": ("ora", "ore"),
    "s": ("secondo", "secondi"), "GB": "gigabyte", "MB": "megabyte", "Mbps": "megabit al secondo",
    "mi": ("miglio", "miglia"), "ft": ("piede", "piedi"), "lb": ("libbra", "libbre")})
CURRENCIES = {
    "$": ("dollaro", "dollari", "centesimo", "centesimi"),
    "€": ("euro", "euro", "centesimo", "centesimi"),
    "£": ("sterlina", "sterline", "penny", "pence"), "¥": ("yen", "yen", "", ""),
    "₹": ("rupia", "rupie", "paisa", "paisa"), "R$": ("real", "real", "centavo", "centavos")}
MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
          "settembre", "ottobre", "novembre", "dicembre")
ABBREVIATIONS = {
    "temp": "temperatura", "min": "minimo", "max": "massimo", "ca": "circa", "ecc": "eccetera",
    "es": "ad esempio", "n": "numero", "Sig": "signor", "Sig.ra": "signora", "Dott": "dottor",
}


class Italian(Speller):
    lang = "it"
    num2words = "it"
    emoji = "it"
    comma_decimal = True
    marked_ordinals = True
    decimal = "virgola"
    minus = "meno"
    to = "a"
    dot = "punto"
    at = "chiocciola"
    about = "circa"
    number = "numero {n}"
    plus = "più"
    version = "versione"
    version_point = "punto"
    and_ = "e"
    abbreviations = ABBREVIATIONS
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def feminine_ordinal(self, text: str) -> str:
        return feminine_in_a(text)

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        spoken = "una" if h == 1 else self.cardinal(h)  # l'una
        text = f"{spoken} e {self.cardinal(minute)}" if minute else f"{spoken} in punto"
        if second:
            text += f" {self.and_} {self.cardinal(second)} secondi"
        return text

    def date(self, year: int | None, month: int, day: int) -> str:
        spoken = "primo" if day == 1 else self.cardinal(day)
        # the text brings its own article: "il 12/05" → "il dodici maggio"
        return f"{spoken} {MONTHS[month - 1]}" + (f" {self.cardinal(year)}" if year else "")
