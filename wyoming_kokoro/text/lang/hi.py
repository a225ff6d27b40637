"""Hindi: espeak reads Hindi integers well, so numbers stay digits and only the structure
around them is rewritten: दशमलव for the decimal point, "14 बजकर 30 मिनट", month names."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": "किलोमीटर प्रति घंटा", "mph": "मील प्रति घंटा", "m/s": "मीटर प्रति सेकंड",
    "µg/m³": "माइक्रोग्राम प्रति घन मीटर", "kWh": "किलोवाट घंटा", "Wh": "वाट घंटा",
    "kW": "किलोवाट", "W": "वाट", "V": "वोल्ट", "mA": "मिलीएम्पियर", "A": "एम्पियर",
    "Hz": "हर्ट्ज़", "km": "किलोमीटर", "cm": "सेंटीमीटर", "mm": "मिलीमीटर", "m²": "वर्ग मीटर",
    "m³": "घन मीटर", "m": "मीटर", "kg": "किलोग्राम", "g": "ग्राम", "ml": "मिलीलीटर", "l": "लीटर",
    "hPa": "हेक्टोपास्कल", "mbar": "मिलीबार", "dB": "डेसिबल", "lx": "लक्स", "ppm": "पीपीएम",
    "%": "प्रतिशत", "°C": "डिग्री सेल्सियस", "°F": "डिग्री फ़ारेनहाइट", "°": "डिग्री",
    "min": "मिनट", "ms": "मिलीसेकंड", "h": ("घंटा", "घंटे"), "s": "सेकंड", "GB": "जीबी",
    "MB": "एमबी", "Mbps": "मेगाबिट प्रति सेकंड", "mi": "मील", "ft": "फ़ुट", "lb": "पाउंड"})
CURRENCIES = {
    "$": ("डॉलर", "डॉलर", "सेंट", "सेंट"), "€": ("यूरो", "यूरो", "सेंट", "सेंट"),
    "£": ("पाउंड", "पाउंड", "पेंस", "पेंस"), "¥": ("येन", "येन", "", ""),
    "₹": ("रुपया", "रुपये", "पैसा", "पैसे"), "R$": ("रियाल", "रियाल", "सेंटावो", "सेंटावो")}
MONTHS = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
          "अक्टूबर", "नवंबर", "दिसंबर")


class Hindi(Speller):
    lang = "hi"
    decimal = "दशमलव"
    minus = "माइनस"
    to = "से"
    dot = "डॉट"
    at = "एट"
    about = "लगभग"
    number = "नंबर {n}"
    plus = "प्लस"
    version = "वर्ज़न"
    version_point = "पॉइंट"
    and_ = "और"
    months = MONTHS
    units = UNITS
    currencies = CURRENCIES

    def fraction_digits(self, frac: str) -> str:
        return " ".join(frac)  # 21.05 → 21 दशमलव 0 5

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        text = f"{h} बजकर {minute} मिनट" if minute else f"{h} बजे"
        return text + (f" {second} सेकंड" if second else "")

    def date(self, year: int | None, month: int, day: int) -> str:
        return f"{day} {MONTHS[month - 1]}" + (f" {year}" if year else "")
