"""Spanish: num2words for numbers (espeak reads "21,5" as two numbers and drops minus
signs), decimal comma, 1.º/2.ª ordinals, "las catorce y treinta", "doce de mayo de …"."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, feminine_in_a, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": ("kilómetro por hora", "kilómetros por hora"),
    "mph": ("milla por hora", "millas por hora"),
    "m/s": ("metro por segundo", "metros por segundo"),
    "µg/m³": ("microgramo por metro cúbico", "microgramos por metro cúbico"),
    "kWh": ("kilovatio hora", "kilovatios hora"), "Wh": ("vatio hora", "vatios hora"),
    "kW": ("kilovatio", "kilovatios"), "W": ("vatio", "vatios"), "V": ("voltio", "voltios"),
    "mA": ("miliamperio", "miliamperios"), "A": ("amperio", "amperios"),
    "Hz": ("hercio", "hercios"), "km": ("kilómetro", "kilómetros"),
    "cm": ("centímetro", "centímetros"), "mm": ("milímetro", "milímetros"),
    "m²": ("metro cuadrado", "metros cuadrados"), "m³": ("metro cúbico", "metros cúbicos"),
    "m": ("metro", "metros"), "kg": ("kilogramo", "kilogramos"), "g": ("gramo", "gramos"),
    "ml": ("mililitro", "mililitros"), "l": ("litro", "litros"),
    "hPa": ("hectopascal", "hectopascales"), "mbar": ("milibar", "milibares"),
    "dB": ("decibelio", "decibelios"), "lx": "lux",
    "ppm": ("parte por millón", "partes por millón"), "%": "por ciento",
    "°C": ("grado", "grados"), "°F": ("grado Fahrenheit", "grados Fahrenheit"),
    "°": ("grado", "grados"), "min": ("minuto", "minutos"), "ms": ("milisegundo", "milisegundos"),
    "h": ("hora", "horas"), "s": ("segundo", "segundos"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"), "Mbps": ("megabit por segundo", "megabits por segundo"),
    "mi": ("milla", "millas"), "ft": ("pie", "pies"), "lb": ("libra", "libras")})
CURRENCIES = {
    "$": ("dólar", "dólares", "centavo", "centavos"),
    "€": ("euro", "euros", "céntimo", "céntimos"),
    "£": ("libra", "libras", "penique", "peniques"), "¥": ("yen", "yenes", "", ""),
    "₹": ("rupia", "rupias", "paisa", "paisas"), "R$": ("real", "reales", "centavo", "centavos")}
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
          "octubre", "noviembre", "diciembre")
ABBREVIATIONS = {
    "temp": "temperatura", "mín": "mínimo", "máx": "máximo", "min": "mínimo", "max": "máximo",
    "aprox": "aproximadamente", "p. ej": "por ejemplo", "etc": "etcétera", "n.º": "número",
    "núm": "número", "Sr": "señor", "Sra": "señora", "Dr": "doctor", "Dra": "doctora",
    "Ud": "usted", "Uds": "ustedes",
}
_FEMININE_HOURS = {1: "una", 21: "veintiuna"}  # la una, las veintiuna


class Spanish(Speller):
    lang = "es"
    num2words = "es"
    emoji = "es"
    comma_decimal = True
    marked_ordinals = True
    decimal = "coma"
    minus = "menos"
    to = "a"
    dot = "punto"
    at = "arroba"
    about = "unos"
    number = "número {n}"
    plus = "más"
    version = "versión"
    version_point = "punto"
    and_ = "y"
    abbreviations = ABBREVIATIONS
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def feminine_ordinal(self, text: str) -> str:
        return feminine_in_a(text)

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        spoken = _FEMININE_HOURS.get(h, self.cardinal(h))
        text = f"{spoken} y {self.cardinal(minute)}" if minute else f"{spoken} en punto"
        if second:
            text += f" {self.and_} {self.cardinal(second)} segundos"
        return text

    def date(self, year: int | None, month: int, day: int) -> str:
        text = f"{self.cardinal(day)} de {MONTHS[month - 1]}"
        return text + (f" de {self.cardinal(year)}" if year else "")
