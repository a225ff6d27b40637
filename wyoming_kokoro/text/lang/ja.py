"""Japanese: pyopenjtalk reads digits, so numbers stay digits; the structure around them
becomes words (点 for the decimal point, 時/分/秒, 年/月/日), units follow the number
without a space, and ¥ is 円."""

from __future__ import annotations

from wyoming_kokoro.text.lang.base import Speller, same_in_plural, to24

UNITS = same_in_plural({
    "km/h": "キロメートル毎時", "mph": "マイル毎時", "m/s": "メートル毎秒",
    "µg/m³": "マイクログラム毎立方メートル", "kWh": "キロワット時", "Wh": "ワット時",
    "kW": "キロワット", "W": "ワット", "V": "ボルト", "mA": "ミリアンペア", "A": "アンペア",
    "Hz": "ヘルツ", "km": "キロメートル", "cm": "センチメートル", "mm": "ミリメートル",
    "m²": "平方メートル", "m³": "立方メートル", "m": "メートル", "kg": "キログラム",
    "g": "グラム", "ml": "ミリリットル", "l": "リットル", "hPa": "ヘクトパスカル",
    "mbar": "ミリバール", "dB": "デシベル", "lx": "ルクス", "ppm": "ピーピーエム",
    "%": "パーセント", "°C": "度", "°F": "華氏{n}度", "°": "度", "min": "分", "ms": "ミリ秒",
    "h": "時間", "s": "秒", "GB": "ギガバイト", "MB": "メガバイト", "Mbps": "メガビット毎秒",
    "mi": "マイル", "ft": "フィート", "lb": "ポンド"})
CURRENCIES = {
    "$": ("ドル", "ドル", "セント", "セント"), "€": ("ユーロ", "ユーロ", "セント", "セント"),
    "£": ("ポンド", "ポンド", "ペンス", "ペンス"), "¥": ("円", "円", "", ""),
    "₹": ("ルピー", "ルピー", "パイサ", "パイサ"),
    "R$": ("レアル", "レアル", "センタボ", "センタボ")}


class Japanese(Speller):
    lang = "ja"
    emoji = "ja"
    unspaced = True
    decimal = "点"
    minus = "マイナス"
    to = "から"
    dot = "ドット"
    at = "アット"
    about = "約"
    number = "{n}番"
    plus = "プラス"
    version = "バージョン"
    version_point = "てん"
    and_ = "と"
    joiner = ""
    units = UNITS
    currencies = CURRENCIES

    def decimal_number(self, negative: bool, whole: str, frac: str | None) -> str:
        text = self.cardinal(int(whole)) + (f"点{' '.join(frac)}" if frac else "")
        return (self.minus if negative else "") + text

    def time(self, hour: int, minute: int, second: int | None, meridiem: str | None) -> str:
        h = to24(hour, meridiem)
        return f"{h}時" + (f"{minute}分" if minute else "") + (f"{second}秒" if second else "")

    def date(self, year: int | None, month: int, day: int) -> str:
        return self.month_year(year, month) + f"{day}日"

    def month_year(self, year: int | None, month: int) -> str:
        return (f"{year}年" if year else "") + f"{month}月"
