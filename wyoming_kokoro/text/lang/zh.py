"""Mandarin: misaki's cn2an reads digits, decimals and minus signs, so numbers stay as
written; times and dates get 点/分/秒 and 年/月/日, digits read one by one become 一二三,
units follow the number without a space (百分之 goes before it)."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, plain_decimal, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": "公里每小时", "mph": "英里每小时", "m/s": "米每秒", "µg/m³": "微克每立方米",
    "kWh": "千瓦时", "Wh": "瓦时", "kW": "千瓦", "W": "瓦", "V": "伏", "mA": "毫安", "A": "安",
    "Hz": "赫兹", "km": "公里", "cm": "厘米", "mm": "毫米", "m²": "平方米", "m³": "立方米",
    "m": "米", "kg": "公斤", "g": "克", "ml": "毫升", "l": "升", "hPa": "百帕", "mbar": "毫巴",
    "dB": "分贝", "lx": "勒克斯", "ppm": "百万分之{n}", "%": "百分之{n}", "°C": "摄氏度",
    "°F": "华氏{n}度", "°": "度", "min": "分钟", "ms": "毫秒", "h": "小时", "s": "秒",
    "GB": "吉字节", "MB": "兆字节", "Mbps": "兆比特每秒", "mi": "英里", "ft": "英尺", "lb": "磅"})
CURRENCIES = {
    "$": ("美元", "美元", "美分", "美分"), "€": ("欧元", "欧元", "欧分", "欧分"),
    "£": ("英镑", "英镑", "便士", "便士"), "¥": ("元", "元", "角", "角"),
    "₹": ("卢比", "卢比", "派萨", "派萨"), "R$": ("雷亚尔", "雷亚尔", "分", "分")}
_DIGITS = "〇一二三四五六七八九"


class Mandarin(Speller):
    lang = "zh"
    emoji = "zh"
    unspaced = True
    decimal = "点"
    minus = "负"
    to = "到"
    dot = "点"
    at = "艾特"
    about = "约"
    number = "{n}号"
    plus = "加"
    version = "版本"
    version_point = "点"
    and_ = "和"
    joiner = ""
    digit_separator = ""
    units = UNITS
    currencies = CURRENCIES

    def digit(self, d: str) -> str:
        return _DIGITS[int(d)]

    def decimal_number(self, negative: bool, whole: str, frac: str | None) -> str:
        return plain_decimal(negative, whole, frac)  # cn2an reads "-21.5" itself

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        minutes = "" if not minute else (f"零{minute}分" if minute < 10 else f"{minute}分")
        return f"{h}点{minutes}" + (f"{second}秒" if second else "")

    def date(self, year: int | None, month: int, day: int) -> str:
        return self.month_year(year, month) + f"{day}日"

    def month_year(self, year: int | None, month: int) -> str:
        return (f"{year}年" if year else "") + f"{month}月"
