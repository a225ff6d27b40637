"""How each language says numbers, times, dates, units and money (data + small spellers).

English (a/b) leaves plain numbers as digits: misaki reads cardinals, decimals, negatives,
years and $ € £ amounts well. The espeak languages get words from num2words (espeak reads
"21,5" as "twenty-one, five" and drops minus signs). Hindi, Japanese and Mandarin keep
digits, which their G2Ps read, and only get the structure around them (点, दशमलव, 時…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from num2words import num2words

from wyoming_kokoro.languages import is_english

_MAX_WORDS = 10**15  # beyond this a number is an id or garbage: read it digit by digit


def _n2w(value: int | float, lang: str, to: str = "cardinal") -> str:
    """num2words that never raises: huge numbers are spelled digit by digit."""
    try:
        if abs(value) >= _MAX_WORDS:
            digits = str(int(abs(value)))
            spoken = " ".join(num2words(int(d), lang=lang) for d in digits)
            return spoken if value >= 0 else f"{num2words(-1, lang=lang).split()[0]} {spoken}"
        return num2words(value, lang=lang, to=to)
    except (OverflowError, NotImplementedError, ValueError, TypeError):
        return str(value)

# Unit symbol → per-language (singular, plural). A name holding "{n}" is a template (the
# number goes inside: 百分之{n}); otherwise the number comes first.
UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "km/h": {"en": ("kilometer per hour", "kilometers per hour"),
             "es": ("kilómetro por hora", "kilómetros por hora"),
             "fr": ("kilomètre par heure", "kilomètres par heure"),
             "it": ("chilometro orario", "chilometri orari"),
             "pt": ("quilômetro por hora", "quilômetros por hora"),
             "hi": ("किलोमीटर प्रति घंटा",) * 2, "ja": ("キロメートル毎時",) * 2,
             "zh": ("公里每小时",) * 2},
    "mph": {"en": ("mile per hour", "miles per hour"), "es": ("milla por hora", "millas por hora"),
            "fr": ("mile par heure", "miles par heure"), "it": ("miglio orario", "miglia orarie"),
            "pt": ("milha por hora", "milhas por hora"), "hi": ("मील प्रति घंटा",) * 2,
            "ja": ("マイル毎時",) * 2, "zh": ("英里每小时",) * 2},
    "m/s": {"en": ("meter per second", "meters per second"),
            "es": ("metro por segundo", "metros por segundo"),
            "fr": ("mètre par seconde", "mètres par seconde"),
            "it": ("metro al secondo", "metri al secondo"),
            "pt": ("metro por segundo", "metros por segundo"), "hi": ("मीटर प्रति सेकंड",) * 2,
            "ja": ("メートル毎秒",) * 2, "zh": ("米每秒",) * 2},
    "µg/m³": {"en": ("microgram per cubic meter", "micrograms per cubic meter"),
              "es": ("microgramo por metro cúbico", "microgramos por metro cúbico"),
              "fr": ("microgramme par mètre cube", "microgrammes par mètre cube"),
              "it": ("microgrammo per metro cubo", "microgrammi per metro cubo"),
              "pt": ("micrograma por metro cúbico", "microgramas por metro cúbico"),
              "hi": ("माइक्रोग्राम प्रति घन मीटर",) * 2, "ja": ("マイクログラム毎立方メートル",) * 2,
              "zh": ("微克每立方米",) * 2},
    "kWh": {"en": ("kilowatt hour", "kilowatt hours"), "es": ("kilovatio hora", "kilovatios hora"),
            "fr": ("kilowattheure", "kilowattheures"), "it": ("chilowattora",) * 2,
            "pt": ("quilowatt-hora", "quilowatts-hora"), "hi": ("किलोवाट घंटा",) * 2,
            "ja": ("キロワット時",) * 2, "zh": ("千瓦时",) * 2},
    "Wh": {"en": ("watt hour", "watt hours"), "es": ("vatio hora", "vatios hora"),
           "fr": ("wattheure", "wattheures"), "it": ("wattora",) * 2,
           "pt": ("watt-hora", "watts-hora"), "hi": ("वाट घंटा",) * 2, "ja": ("ワット時",) * 2,
           "zh": ("瓦时",) * 2},
    "kW": {"en": ("kilowatt", "kilowatts"), "es": ("kilovatio", "kilovatios"),
           "fr": ("kilowatt", "kilowatts"), "it": ("chilowatt",) * 2,
           "pt": ("quilowatt", "quilowatts"), "hi": ("किलोवाट",) * 2, "ja": ("キロワット",) * 2,
           "zh": ("千瓦",) * 2},
    "W": {"en": ("watt", "watts"), "es": ("vatio", "vatios"), "fr": ("watt", "watts"),
          "it": ("watt",) * 2, "pt": ("watt", "watts"), "hi": ("वाट",) * 2, "ja": ("ワット",) * 2,
          "zh": ("瓦",) * 2},
    "V": {"en": ("volt", "volts"), "es": ("voltio", "voltios"), "fr": ("volt", "volts"),
          "it": ("volt",) * 2, "pt": ("volt", "volts"), "hi": ("वोल्ट",) * 2, "ja": ("ボルト",) * 2,
          "zh": ("伏",) * 2},
    "mA": {"en": ("milliamp", "milliamps"), "es": ("miliamperio", "miliamperios"),
           "fr": ("milliampère", "milliampères"), "it": ("milliampere",) * 2,
           "pt": ("miliampere", "miliamperes"), "hi": ("मिलीएम्पियर",) * 2,
           "ja": ("ミリアンペア",) * 2, "zh": ("毫安",) * 2},
    "A": {"en": ("amp", "amps"), "es": ("amperio", "amperios"), "fr": ("ampère", "ampères"),
          "it": ("ampere",) * 2, "pt": ("ampere", "amperes"), "hi": ("एम्पियर",) * 2,
          "ja": ("アンペア",) * 2, "zh": ("安",) * 2},
    "Hz": {"en": ("hertz",) * 2, "es": ("hercio", "hercios"), "fr": ("hertz",) * 2,
           "it": ("hertz",) * 2, "pt": ("hertz",) * 2, "hi": ("हर्ट्ज़",) * 2, "ja": ("ヘルツ",) * 2,
           "zh": ("赫兹",) * 2},
    "km": {"en": ("kilometer", "kilometers"), "es": ("kilómetro", "kilómetros"),
           "fr": ("kilomètre", "kilomètres"), "it": ("chilometro", "chilometri"),
           "pt": ("quilômetro", "quilômetros"), "hi": ("किलोमीटर",) * 2,
           "ja": ("キロメートル",) * 2, "zh": ("公里",) * 2},
    "cm": {"en": ("centimeter", "centimeters"), "es": ("centímetro", "centímetros"),
           "fr": ("centimètre", "centimètres"), "it": ("centimetro", "centimetri"),
           "pt": ("centímetro", "centímetros"), "hi": ("सेंटीमीटर",) * 2,
           "ja": ("センチメートル",) * 2, "zh": ("厘米",) * 2},
    "mm": {"en": ("millimeter", "millimeters"), "es": ("milímetro", "milímetros"),
           "fr": ("millimètre", "millimètres"), "it": ("millimetro", "millimetri"),
           "pt": ("milímetro", "milímetros"), "hi": ("मिलीमीटर",) * 2,
           "ja": ("ミリメートル",) * 2, "zh": ("毫米",) * 2},
    "m²": {"en": ("square meter", "square meters"), "es": ("metro cuadrado", "metros cuadrados"),
           "fr": ("mètre carré", "mètres carrés"), "it": ("metro quadrato", "metri quadrati"),
           "pt": ("metro quadrado", "metros quadrados"), "hi": ("वर्ग मीटर",) * 2,
           "ja": ("平方メートル",) * 2, "zh": ("平方米",) * 2},
    "m³": {"en": ("cubic meter", "cubic meters"), "es": ("metro cúbico", "metros cúbicos"),
           "fr": ("mètre cube", "mètres cubes"), "it": ("metro cubo", "metri cubi"),
           "pt": ("metro cúbico", "metros cúbicos"), "hi": ("घन मीटर",) * 2,
           "ja": ("立方メートル",) * 2, "zh": ("立方米",) * 2},
    "m": {"en": ("meter", "meters"), "es": ("metro", "metros"), "fr": ("mètre", "mètres"),
          "it": ("metro", "metri"), "pt": ("metro", "metros"), "hi": ("मीटर",) * 2,
          "ja": ("メートル",) * 2, "zh": ("米",) * 2},
    "kg": {"en": ("kilogram", "kilograms"), "es": ("kilogramo", "kilogramos"),
           "fr": ("kilogramme", "kilogrammes"), "it": ("chilogrammo", "chilogrammi"),
           "pt": ("quilo", "quilos"), "hi": ("किलोग्राम",) * 2, "ja": ("キログラム",) * 2,
           "zh": ("公斤",) * 2},
    "g": {"en": ("gram", "grams"), "es": ("gramo", "gramos"), "fr": ("gramme", "grammes"),
          "it": ("grammo", "grammi"), "pt": ("grama", "gramas"), "hi": ("ग्राम",) * 2,
          "ja": ("グラム",) * 2, "zh": ("克",) * 2},
    "ml": {"en": ("milliliter", "milliliters"), "es": ("mililitro", "mililitros"),
           "fr": ("millilitre", "millilitres"), "it": ("millilitro", "millilitri"),
           "pt": ("mililitro", "mililitros"), "hi": ("मिलीलीटर",) * 2,
           "ja": ("ミリリットル",) * 2, "zh": ("毫升",) * 2},
    "l": {"en": ("liter", "liters"), "es": ("litro", "litros"), "fr": ("litre", "litres"),
          "it": ("litro", "litri"), "pt": ("litro", "litros"), "hi": ("लीटर",) * 2,
          "ja": ("リットル",) * 2, "zh": ("升",) * 2},
    "hPa": {"en": ("hectopascal", "hectopascals"), "es": ("hectopascal", "hectopascales"),
            "fr": ("hectopascal", "hectopascals"), "it": ("ettopascal",) * 2,
            "pt": ("hectopascal", "hectopascais"), "hi": ("हेक्टोपास्कल",) * 2,
            "ja": ("ヘクトパスカル",) * 2, "zh": ("百帕",) * 2},
    "mbar": {"en": ("millibar", "millibars"), "es": ("milibar", "milibares"),
             "fr": ("millibar", "millibars"), "it": ("millibar",) * 2,
             "pt": ("milibar", "milibares"), "hi": ("मिलीबार",) * 2, "ja": ("ミリバール",) * 2,
             "zh": ("毫巴",) * 2},
    "dB": {"en": ("decibel", "decibels"), "es": ("decibelio", "decibelios"),
           "fr": ("décibel", "décibels"), "it": ("decibel",) * 2, "pt": ("decibel", "decibéis"),
           "hi": ("डेसिबल",) * 2, "ja": ("デシベル",) * 2, "zh": ("分贝",) * 2},
    "lx": {"en": ("lux",) * 2, "es": ("lux",) * 2, "fr": ("lux",) * 2, "it": ("lux",) * 2,
           "pt": ("lux",) * 2, "hi": ("लक्स",) * 2, "ja": ("ルクス",) * 2, "zh": ("勒克斯",) * 2},
    "ppm": {"en": ("part per million", "parts per million"),
            "es": ("parte por millón", "partes por millón"),
            "fr": ("partie par million", "parties par million"),
            "it": ("parte per milione", "parti per milione"),
            "pt": ("parte por milhão", "partes por milhão"), "hi": ("पीपीएम",) * 2,
            "ja": ("ピーピーエム",) * 2, "zh": ("百万分之{n}",) * 2},
    "%": {"en": ("percent",) * 2, "es": ("por ciento",) * 2, "fr": ("pour cent",) * 2,
          "it": ("per cento",) * 2, "pt": ("por cento",) * 2, "hi": ("प्रतिशत",) * 2,
          "ja": ("パーセント",) * 2, "zh": ("百分之{n}",) * 2},
    "°C": {"en": ("degree Celsius", "degrees Celsius"), "es": ("grado", "grados"),
           "fr": ("degré", "degrés"), "it": ("grado", "gradi"), "pt": ("grau", "graus"),
           "hi": ("डिग्री सेल्सियस",) * 2, "ja": ("度",) * 2, "zh": ("摄氏度",) * 2},
    "°F": {"en": ("degree Fahrenheit", "degrees Fahrenheit"),
           "es": ("grado Fahrenheit", "grados Fahrenheit"),
           "fr": ("degré Fahrenheit", "degrés Fahrenheit"),
           "it": ("grado Fahrenheit", "gradi Fahrenheit"),
           "pt": ("grau Fahrenheit", "graus Fahrenheit"), "hi": ("डिग्री फ़ारेनहाइट",) * 2,
           "ja": ("華氏{n}度",) * 2, "zh": ("华氏{n}度",) * 2},
    "°": {"en": ("degree", "degrees"), "es": ("grado", "grados"), "fr": ("degré", "degrés"),
          "it": ("grado", "gradi"), "pt": ("grau", "graus"), "hi": ("डिग्री",) * 2,
          "ja": ("度",) * 2, "zh": ("度",) * 2},
    "min": {"en": ("minute", "minutes"), "es": ("minuto", "minutos"),
            "fr": ("minute", "minutes"), "it": ("minuto", "minuti"), "pt": ("minuto", "minutos"),
            "hi": ("मिनट",) * 2, "ja": ("分",) * 2, "zh": ("分钟",) * 2},
    "ms": {"en": ("millisecond", "milliseconds"), "es": ("milisegundo", "milisegundos"),
           "fr": ("milliseconde", "millisecondes"), "it": ("millisecondo", "millisecondi"),
           "pt": ("milissegundo", "milissegundos"), "hi": ("मिलीसेकंड",) * 2,
           "ja": ("ミリ秒",) * 2, "zh": ("毫秒",) * 2},
    "h": {"en": ("hour", "hours"), "es": ("hora", "horas"), "fr": ("heure", "heures"),
          "it": ("ora", "ore"), "pt": ("hora", "horas"), "hi": ("घंटा", "घंटे"),
          "ja": ("時間",) * 2, "zh": ("小时",) * 2},
    "s": {"en": ("second", "seconds"), "es": ("segundo", "segundos"),
          "fr": ("seconde", "secondes"), "it": ("secondo", "secondi"),
          "pt": ("segundo", "segundos"), "hi": ("सेकंड",) * 2, "ja": ("秒",) * 2,
          "zh": ("秒",) * 2},
    "GB": {"en": ("gigabyte", "gigabytes"), "es": ("gigabyte", "gigabytes"),
           "fr": ("gigaoctet", "gigaoctets"), "it": ("gigabyte",) * 2,
           "pt": ("gigabyte", "gigabytes"), "hi": ("जीबी",) * 2, "ja": ("ギガバイト",) * 2,
           "zh": ("吉字节",) * 2},
    "MB": {"en": ("megabyte", "megabytes"), "es": ("megabyte", "megabytes"),
           "fr": ("mégaoctet", "mégaoctets"), "it": ("megabyte",) * 2,
           "pt": ("megabyte", "megabytes"), "hi": ("एमबी",) * 2, "ja": ("メガバイト",) * 2,
           "zh": ("兆字节",) * 2},
    "Mbps": {"en": ("megabit per second", "megabits per second"),
             "es": ("megabit por segundo", "megabits por segundo"),
             "fr": ("mégabit par seconde", "mégabits par seconde"),
             "it": ("megabit al secondo",) * 2,
             "pt": ("megabit por segundo", "megabits por segundo"),
             "hi": ("मेगाबिट प्रति सेकंड",) * 2, "ja": ("メガビット毎秒",) * 2,
             "zh": ("兆比特每秒",) * 2},
    "mi": {"en": ("mile", "miles"), "es": ("milla", "millas"), "fr": ("mile", "miles"),
           "it": ("miglio", "miglia"), "pt": ("milha", "milhas"), "hi": ("मील",) * 2,
           "ja": ("マイル",) * 2, "zh": ("英里",) * 2},
    "ft": {"en": ("foot", "feet"), "es": ("pie", "pies"), "fr": ("pied", "pieds"),
           "it": ("piede", "piedi"), "pt": ("pé", "pés"), "hi": ("फ़ुट",) * 2,
           "ja": ("フィート",) * 2, "zh": ("英尺",) * 2},
    "lb": {"en": ("pound", "pounds"), "es": ("libra", "libras"), "fr": ("livre", "livres"),
           "it": ("libbra", "libbre"), "pt": ("libra", "libras"), "hi": ("पाउंड",) * 2,
           "ja": ("ポンド",) * 2, "zh": ("磅",) * 2},
}
# Other spellings of the same units (ASCII exponents, capital L, plurals people write).
UNIT_ALIASES = {"kph": "km/h", "ug/m3": "µg/m³", "μg/m³": "µg/m³", "µg/m3": "µg/m³",
                "m2": "m²", "m3": "m³", "L": "l", "mL": "ml", "lbs": "lb", "kwh": "kWh",
                "mins": "min", "hrs": "h", "hr": "h", "sec": "s", "secs": "s", "lux": "lx",
                "℃": "°C", "℉": "°F", "Mbit/s": "Mbps", "kmh": "km/h"}
# Units also read when written without a space after a number, but never after a number
# that reads like a decade or a year ("the 1990s", "in the 80s").
SHORT_UNITS = {"s", "h", "m", "g", "l", "A", "V", "W"}

# Currency symbol or code → per-language (unit singular, plural, cent singular, plural).
CURRENCIES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "$": {"en": ("dollar", "dollars", "cent", "cents"),
          "es": ("dólar", "dólares", "centavo", "centavos"),
          "fr": ("dollar", "dollars", "cent", "cents"),
          "it": ("dollaro", "dollari", "centesimo", "centesimi"),
          "pt": ("dólar", "dólares", "centavo", "centavos"),
          "hi": ("डॉलर", "डॉलर", "सेंट", "सेंट"), "ja": ("ドル", "ドル", "セント", "セント"),
          "zh": ("美元", "美元", "美分", "美分")},
    "€": {"en": ("euro", "euros", "cent", "cents"),
          "es": ("euro", "euros", "céntimo", "céntimos"),
          "fr": ("euro", "euros", "centime", "centimes"),
          "it": ("euro", "euro", "centesimo", "centesimi"),
          "pt": ("euro", "euros", "centavo", "centavos"),
          "hi": ("यूरो", "यूरो", "सेंट", "सेंट"), "ja": ("ユーロ", "ユーロ", "セント", "セント"),
          "zh": ("欧元", "欧元", "欧分", "欧分")},
    "£": {"en": ("pound", "pounds", "penny", "pence"),
          "es": ("libra", "libras", "penique", "peniques"),
          "fr": ("livre", "livres", "penny", "pence"),
          "it": ("sterlina", "sterline", "penny", "pence"),
          "pt": ("libra", "libras", "pêni", "pence"),
          "hi": ("पाउंड", "पाउंड", "पेंस", "पेंस"), "ja": ("ポンド", "ポンド", "ペンス", "ペンス"),
          "zh": ("英镑", "英镑", "便士", "便士")},
    "¥": {"en": ("yen", "yen", "", ""), "es": ("yen", "yenes", "", ""),
          "fr": ("yen", "yens", "", ""), "it": ("yen", "yen", "", ""),
          "pt": ("iene", "ienes", "", ""), "hi": ("येन", "येन", "", ""),
          "ja": ("円", "円", "", ""), "zh": ("元", "元", "角", "角")},
    "₹": {"en": ("rupee", "rupees", "paisa", "paise"),
          "es": ("rupia", "rupias", "paisa", "paisas"),
          "fr": ("roupie", "roupies", "paisa", "paisas"),
          "it": ("rupia", "rupie", "paisa", "paisa"), "pt": ("rúpia", "rúpias", "paisa", "paisas"),
          "hi": ("रुपया", "रुपये", "पैसा", "पैसे"), "ja": ("ルピー", "ルピー", "パイサ", "パイサ"),
          "zh": ("卢比", "卢比", "派萨", "派萨")},
    "R$": {"en": ("real", "reais", "centavo", "centavos"),
           "es": ("real", "reales", "centavo", "centavos"),
           "fr": ("réal", "reais", "centavo", "centavos"),
           "it": ("real", "real", "centavo", "centavos"),
           "pt": ("real", "reais", "centavo", "centavos"),
           "hi": ("रियाल", "रियाल", "सेंटावो", "सेंटावो"),
           "ja": ("レアル", "レアル", "センタボ", "センタボ"),
           "zh": ("雷亚尔", "雷亚尔", "分", "分")},
}
CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "RMB": "¥",
                  "INR": "₹", "BRL": "R$", "US$": "$", "Rs": "₹", "Rs.": "₹"}

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"],
    "hi": ["जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
           "अक्टूबर", "नवंबर", "दिसंबर"],
}

_CJK_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Speller:
    """One language's words for the things the normaliser rewrites."""

    lang: str  # key into the tables above: en es fr it pt hi ja zh
    british: bool = False
    num2words: str | None = None  # None: leave digits for the G2P
    comma_decimal: bool = False  # 21,5 is a decimal in this language
    decimal: str = "point"
    minus: str = "minus"
    to: str = "to"
    dot: str = "dot"
    at: str = "at"
    about: str = "about"
    number: str = "number {n}"
    plus: str = "plus"
    version: str = "version"
    version_point: str = "point"
    and_: str = "and"
    joiner: str = " "  # between a number and its unit ("" in Japanese and Mandarin)
    abbreviations: dict[str, str] = field(default_factory=dict)

    # -- numbers -----------------------------------------------------------------------------
    def cardinal(self, value: int) -> str:
        """An integer in words, or in digits where the G2P reads them (en, hi, ja, zh)."""
        if self.num2words and self.lang != "en":
            return _n2w(value, lang=self.num2words)
        return str(value)

    def words(self, value: int) -> str:
        """An integer always in words where num2words knows the language."""
        return _n2w(value, lang=self.num2words) if self.num2words else str(value)

    def ordinal(self, value: int, feminine: bool = False) -> str:
        if not self.num2words:
            return str(value)
        text = _n2w(value, lang=self.num2words, to="ordinal")
        if feminine and self.lang in ("es", "it", "pt") and text.endswith("o"):
            text = " ".join(w[:-1] + "a" if w.endswith("o") else w for w in text.split())
        elif feminine and self.lang == "fr" and text == "premier":
            text = "première"
        return text

    def digit(self, d: str) -> str:
        if self.lang == "zh":
            return _CJK_DIGITS[int(d)]
        return self.words(int(d)) if self.num2words else d

    def digits(self, text: str) -> str:
        """Read each digit alone (phone numbers, say-as digits)."""
        sep = "" if self.lang == "zh" else " "
        return sep.join(self.digit(d) for d in text if d.isdigit())

    def fraction_digits(self, frac: str) -> str:
        """After the decimal word: '5' → five, '50' → fifty, '05' / '125' → digit by digit."""
        if self.lang in ("hi",):
            return " ".join(frac)
        if len(frac) <= 2 and not frac.startswith("0"):
            return self.cardinal(int(frac))
        return self.digits(frac)

    def decimal_number(self, negative: bool, whole: str, frac: str | None) -> str:
        """A parsed number said the way this language's G2P needs it."""
        if self.lang in ("en", "zh"):  # misaki and cn2an read "-21.5" themselves
            return ("-" if negative else "") + str(int(whole)) + (f".{frac}" if frac else "")
        sign = (self.minus + ("" if self.lang == "ja" else " ")) if negative else ""
        text = self.cardinal(int(whole))
        if frac:
            if self.lang == "ja":
                text += f"点{' '.join(frac)}"
            else:
                text += f" {self.decimal} {self.fraction_digits(frac)}"
        return sign + text

    # -- units and money ---------------------------------------------------------------------
    def unit(self, amount: str, symbol: str, plural: bool) -> str:
        sg, pl = UNITS[symbol][self.lang]
        name = pl if plural else sg
        if self.british:
            name = name.replace("meter", "metre").replace("liter", "litre")
        if "{n}" in name:
            return name.format(n=amount)
        return f"{amount}{self.joiner}{name}"

    def money(self, symbol: str, whole: str, cents: str | None, negative: bool) -> str:
        sg, pl, cent_sg, cent_pl = CURRENCIES[symbol][self.lang]
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
    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        return _TIME[self.lang](self, hour, minute, second, meridiem)

    def date(self, year: int | None, month: int, day: int) -> str:
        return _DATE[self.lang](self, year, month, day)


def _en_time(sp: Speller, h: int, m: int, s: int | None, meridiem: str | None) -> str:
    w = sp.words
    if meridiem is None and sp.british and (h > 12 or h == 0):
        hour = w(h) if h else "zero"
        minutes = "hundred" if m == 0 else (f"oh {w(m)}" if m < 10 else w(m))
        text = f"{hour} {minutes}"
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


def _to24(h: int, meridiem: str | None) -> int:
    if meridiem == "PM" and h < 12:
        return h + 12
    if meridiem == "AM" and h == 12:
        return 0
    return h


def _feminine_hour(sp: Speller, h: int) -> str:
    """Hours are feminine in es/fr/it/pt ('una', 'une', 'duas')."""
    text = sp.cardinal(h)
    if sp.lang == "pt":
        return " ".join({"um": "uma", "dois": "duas"}.get(x, x) for x in text.split())
    feminine = {"es": {1: "una", 21: "veintiuna"}, "fr": {1: "une", 21: "vingt et une"},
                "it": {1: "una"}}
    return feminine.get(sp.lang, {}).get(h, text)


def _romance_time(sp: Speller, h: int, m: int, s: int | None, meridiem: str | None) -> str:
    h = _to24(h, meridiem)
    hour = _feminine_hour(sp, h)
    mins = sp.cardinal(m)
    if sp.lang == "fr":
        text = f"{hour} {'heure' if h == 1 else 'heures'}" + (f" {mins}" if m else "")
    elif sp.lang == "es":
        text = f"{hour} y {mins}" if m else f"{hour} en punto"
    elif sp.lang == "it":
        text = f"{hour} e {mins}" if m else f"{hour} in punto"
    else:  # pt
        text = f"{hour} e {mins}" if m else f"{hour} {'hora' if h == 1 else 'horas'}"
    if s:
        word = {"fr": "secondes", "es": "segundos", "it": "secondi", "pt": "segundos"}[sp.lang]
        text += f" {sp.and_} {sp.cardinal(s)} {word}"
    return text


def _hi_time(sp: Speller, h: int, m: int, s: int | None, meridiem: str | None) -> str:
    h = _to24(h, meridiem)
    text = f"{h} बजकर {m} मिनट" if m else f"{h} बजे"
    return text + (f" {s} सेकंड" if s else "")


def _ja_time(sp: Speller, h: int, m: int, s: int | None, meridiem: str | None) -> str:
    h = _to24(h, meridiem)
    return f"{h}時" + (f"{m}分" if m else "") + (f"{s}秒" if s else "")


def _zh_time(sp: Speller, h: int, m: int, s: int | None, meridiem: str | None) -> str:
    h = _to24(h, meridiem)
    minutes = "" if not m else (f"零{m}分" if m < 10 else f"{m}分")
    return f"{h}点{minutes}" + (f"{s}秒" if s else "")


def _en_date(sp: Speller, y: int | None, m: int, d: int) -> str:
    month = MONTHS["en"][m - 1]
    day = _n2w(d, lang="en", to="ordinal")
    if sp.british:
        return f"the {day} of {month}" + (f" {y}" if y else "")
    return f"{month} {day}" + (f", {y}" if y else "")


def _romance_date(sp: Speller, y: int | None, m: int, d: int) -> str:
    month = MONTHS[sp.lang][m - 1]
    first = {"fr": "premier", "it": "primo", "pt": "primeiro"}.get(sp.lang)
    day = first if d == 1 and first else sp.cardinal(d)
    year = sp.cardinal(y) if y else ""
    if sp.lang in ("es", "pt"):
        return f"{day} de {month}" + (f" de {year}" if y else "")
    return f"{day} {month}" + (f" {year}" if y else "")  # the text brings its own article


def _hi_date(sp: Speller, y: int | None, m: int, d: int) -> str:
    return f"{d} {MONTHS['hi'][m - 1]}" + (f" {y}" if y else "")


def _cjk_date(sp: Speller, y: int | None, m: int, d: int) -> str:
    return (f"{y}年" if y else "") + f"{m}月{d}日"


_TIME = {"en": _en_time, "es": _romance_time, "fr": _romance_time, "it": _romance_time,
         "pt": _romance_time, "hi": _hi_time, "ja": _ja_time, "zh": _zh_time}
_DATE = {"en": _en_date, "es": _romance_date, "fr": _romance_date, "it": _romance_date,
         "pt": _romance_date, "hi": _hi_date, "ja": _cjk_date, "zh": _cjk_date}

_EN_ABBREVIATIONS = {
    "temp": "temperature", "temps": "temperatures", "min": "minimum", "max": "maximum",
    "approx": "approximately", "avg": "average", "hum": "humidity", "e.g": "for example",
    "i.e": "that is", "vs": "versus", "incl": "including", "excl": "excluding",
    "w/": "with", "w/o": "without", "est": "estimated", "hrs": "hours", "mins": "minutes",
    "secs": "seconds", "sec": "second", "ca": "about", "resp": "respectively",
}


@cache
def speller(code: str) -> Speller:
    """The speller for a Kokoro language code (a b e f h i j p z)."""
    if is_english(code):
        return Speller("en", british=code == "b", num2words="en",
                       abbreviations=_EN_ABBREVIATIONS)
    if code == "e":
        return Speller("es", num2words="es", comma_decimal=True, decimal="coma", minus="menos",
                       to="a", dot="punto", at="arroba", about="unos", number="número {n}",
                       plus="más", version="versión", version_point="punto", and_="y",
                       abbreviations={"temp": "temperatura", "mín": "mínimo",
                                      "máx": "máximo", "min": "mínimo", "max": "máximo",
                                      "aprox": "aproximadamente", "p. ej": "por ejemplo",
                                      "etc": "etcétera", "n.º": "número", "núm": "número",
                                      "Sr": "señor", "Sra": "señora", "Dr": "doctor",
                                      "Dra": "doctora", "Ud": "usted", "Uds": "ustedes"})
    if code == "f":
        return Speller("fr", num2words="fr", comma_decimal=True, decimal="virgule",
                       minus="moins", to="à", dot="point", at="arobase", about="environ",
                       number="numéro {n}", plus="plus", version="version",
                       version_point="point", and_="et",
                       abbreviations={"temp": "température", "min": "minimum",
                                      "max": "maximum", "env": "environ",
                                      "approx": "approximativement", "p. ex": "par exemple",
                                      "etc": "et cetera", "n°": "numéro", "M": "monsieur",
                                      "Mme": "madame", "Mlle": "mademoiselle", "Dr": "docteur"})
    if code == "i":
        return Speller("it", num2words="it", comma_decimal=True, decimal="virgola", minus="meno",
                       to="a", dot="punto", at="chiocciola", about="circa",
                       number="numero {n}", plus="più", version="versione",
                       version_point="punto", and_="e",
                       abbreviations={"temp": "temperatura", "min": "minimo", "max": "massimo",
                                      "ca": "circa", "ecc": "eccetera", "es": "ad esempio",
                                      "n": "numero", "Sig": "signor", "Sig.ra": "signora",
                                      "Dott": "dottor"})
    if code == "p":
        return Speller("pt", num2words="pt_BR", comma_decimal=True, decimal="vírgula",
                       minus="menos", to="a", dot="ponto", at="arroba", about="cerca de",
                       number="número {n}", plus="mais", version="versão",
                       version_point="ponto", and_="e",
                       abbreviations={"temp": "temperatura", "mín": "mínimo", "máx": "máximo",
                                      "min": "mínimo", "max": "máximo",
                                      "aprox": "aproximadamente", "p. ex": "por exemplo",
                                      "etc": "etcétera", "nº": "número", "Sr": "senhor",
                                      "Sra": "senhora", "Dr": "doutor", "Dra": "doutora"})
    if code == "h":
        return Speller("hi", decimal="दशमलव", minus="माइनस", to="से", dot="डॉट", at="एट",
                       about="लगभग", number="नंबर {n}", plus="प्लस", version="वर्ज़न",
                       version_point="पॉइंट", and_="और")
    if code == "j":
        return Speller("ja", decimal="点", minus="マイナス", to="から", dot="ドット", at="アット",
                       about="約", number="{n}番", plus="プラス", version="バージョン",
                       version_point="てん", and_="と", joiner="")
    if code == "z":
        return Speller("zh", decimal="点", minus="负", to="到", dot="点", at="艾特", about="约",
                       number="{n}号", plus="加", version="版本", version_point="点",
                       and_="和", joiner="")
    raise KeyError(code)
