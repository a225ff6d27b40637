"""Brazilian Portuguese: num2words (pt_BR) for numbers, decimal comma, 1º/2ª ordinals,
"catorze e trinta", "duas horas", "doze de maio de …"."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, feminine_in_a, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": ("quilômetro por hora", "quilômetros por hora"),
    "mph": ("milha por hora", "milhas por hora"),
    "m/s": ("metro por segundo", "metros por segundo"),
    "µg/m³": ("micrograma por metro cúbico", "microgramas por metro cúbico"),
    "kWh": ("quilowatt-hora", "quilowatts-hora"), "Wh": ("watt-hora", "watts-hora"),
    "kW": ("quilowatt", "quilowatts"), "W": ("watt", "watts"), "V": ("volt", "volts"),
    "mA": ("miliampere", "miliamperes"), "A": ("ampere", "amperes"), "Hz": "hertz",
    "km": ("quilômetro", "quilômetros"), "cm": ("centímetro", "centímetros"),
    "mm": ("milímetro", "milímetros"), "m²": ("metro quadrado", "metros quadrados"),
    "m³": ("metro cúbico", "metros cúbicos"), "m": ("metro", "metros"), "kg": ("quilo", "quilos"),
    "g": ("grama", "gramas"), "ml": ("mililitro", "mililitros"), "l": ("litro", "litros"),
    "hPa": ("hectopascal", "hectopascais"), "mbar": ("milibar", "milibares"),
    "dB": ("decibel", "decibéis"), "lx": "lux", "ppm": ("parte por milhão", "partes por milhão"),
    "%": "por cento", "°C": ("grau", "graus"), "°F": ("grau Fahrenheit", "graus Fahrenheit"),
    "°": ("grau", "graus"), "min": ("minuto", "minutos"), "ms": ("milissegundo", "milissegundos"),
    "h": ("hora", "horas"), "s": ("segundo", "segundos"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"), "Mbps": ("megabit por segundo", "megabits por segundo"),
    "mi": ("milha", "milhas"), "ft": ("pé", "pés"), "lb": ("libra", "libras")})
CURRENCIES = {
    "$": ("dólar", "dólares", "centavo", "centavos"),
    "€": ("euro", "euros", "centavo", "centavos"), "£": ("libra", "libras", "pêni", "pence"),
    "¥": ("iene", "ienes", "", ""), "₹": ("rúpia", "rúpias", "paisa", "paisas"),
    "R$": ("real", "reais", "centavo", "centavos")}
MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
          "setembro", "outubro", "novembro", "dezembro")
ABBREVIATIONS = {
    "temp": "temperatura", "mín": "mínimo", "máx": "máximo", "min": "mínimo", "max": "máximo",
    "aprox": "aproximadamente", "p. ex": "por exemplo", "etc": "etcétera", "nº": "número",
    "Sr": "senhor", "Sra": "senhora", "Dr": "doutor", "Dra": "doutora",
}
_FEMININE = {"um": "uma", "dois": "duas"}  # hours are feminine: uma hora, vinte e duas


class Portuguese(Speller):
    lang = "pt"
    num2words = "pt_BR"
    emoji = "pt"
    comma_decimal = True
    marked_ordinals = True
    decimal = "vírgula"
    minus = "menos"
    to = "a"
    dot = "ponto"
    at = "arroba"
    about = "cerca de"
    number = "número {n}"
    plus = "mais"
    version = "versão"
    version_point = "ponto"
    and_ = "e"
    abbreviations = ABBREVIATIONS
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def feminine_ordinal(self, text: str) -> str:
        return feminine_in_a(text)

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        spoken = " ".join(_FEMININE.get(x, x) for x in self.cardinal(h).split())
        if minute:
            text = f"{spoken} e {self.cardinal(minute)}"
        else:
            text = f"{spoken} {'hora' if h == 1 else 'horas'}"
        if second:
            text += f" {self.and_} {self.cardinal(second)} segundos"
        return text

    def date(self, year: int | None, month: int, day: int) -> str:
        text = f"{'primeiro' if day == 1 else self.cardinal(day)} de {MONTHS[month - 1]}"
        return text + (f" de {self.cardinal(year)}" if year else "")
