"""The language modules (text/lang/): one speller per Kokoro language, each naming every unit,
currency and month the normaliser can hand it, and the readings of each language's own rules
that the normalisation table (test_frontend_normalize.py) does not reach. Expected readings
are written from each language's grammar (feminine hours, the connective before seconds,
12 am as 0 h), not copied from output."""

from __future__ import annotations

import pytest

from wyoming_kokoro.languages import LANGUAGES, is_english
from wyoming_kokoro.text.lang import SPELLERS, speller
from wyoming_kokoro.text.lang.base import CURRENCY_SYMBOLS, UNIT_SYMBOLS
from wyoming_kokoro.text.normalize import normalize
from wyoming_kokoro.text.say_as import say_as


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_names_every_unit_and_currency(code: str) -> None:
    """A symbol the normaliser matches but a language lacks would raise KeyError mid-request."""
    sp = speller(code)
    assert sorted(sp.units) == sorted(UNIT_SYMBOLS)
    assert sorted(sp.currencies) == sorted(CURRENCY_SYMBOLS)
    assert len(sp.months) == 12
    assert is_english(code) == (sp.lang == "en")


def test_only_kokoro_languages_have_spellers() -> None:
    assert set(SPELLERS) == set(LANGUAGES)
    with pytest.raises(KeyError):
        speller("x")


SAY_AS = [  # (language, text, interpret-as, format, reading)
    ("a", "14:30:15", "time", None, "two thirty PM and fifteen seconds"),
    ("e", "14:30:15", "time", None, "catorce y treinta y quince segundos"),
    ("f", "14:30:15", "time", None, "quatorze heures trente et quinze secondes"),
    ("i", "14:30:15", "time", None, "quattordici e trenta e quindici secondi"),
    ("p", "14:30:15", "time", None, "catorze e trinta e quinze segundos"),
    ("z", "14:30:15", "time", None, "14点30分15秒"),
    ("h", "2:30 pm", "time", None, "14 बजकर 30 मिनट"),
    ("j", "12:05 am", "time", None, "0時5分"),
    ("e", "-3,5", "cardinal", None, "menos tres coma cinco"),
    ("j", "-3.5", "cardinal", None, "マイナス3点5"),
    ("z", "-3.5", "cardinal", None, "-3.5"),  # cn2an reads it
    ("h", "05/2024", "date", "my", "मई 2024"),
    ("e", "05/2024", "date", "my", "mayo 2024"),
    ("a", "05/2024", "date", "my", "May 2024"),
    ("j", "05/2024", "date", "my", "2024年5月"),  # the month was dropped: "2024"
    ("z", "05/2024", "date", "my", "2024年5月"),
    ("j", "2024/05/12", "date", None, "2024年5月12日"),
]


@pytest.mark.parametrize(("language", "text", "kind", "fmt", "expected"), SAY_AS,
                         ids=[f"{c[0]}-{c[2]}-{c[1]}" for c in SAY_AS])
def test_say_as_per_language(language: str, text: str, kind: str, fmt: str | None,
                             expected: str) -> None:
    assert say_as(text, kind, fmt, language) == expected


READINGS = [  # (language, text, reading)
    ("e", "A las 21:00.", "A las veintiuna en punto."),  # hours are feminine
    ("f", "A 21:00.", "A vingt et une heures."),
    ("i", "Alle 1:00.", "Alle una in punto."),
    ("p", "Às 21:00.", "Às vinte e uma horas."),
    ("e", "Es la 21ª vez.", "Es la vigésima primera vez."),
    ("i", "Il 1º maggio.", "Il primo maggio."),
    ("f", "Le 1/05/2024.", "Le premier mai deux mille vingt-quatre."),
    ("p", "Em 12/05/2024.", "Em doze de maio de dois mil e vinte e quatro."),
    ("f", "Il a 1,5 degré.", "Il a un virgule cinq degré."),  # French plural starts at 2
    ("a", "It is 1.0 m.", "It is 1.0 meters."),  # English: any decimal is plural
    ("b", "Add 2 l of water.", "Add 2 litres of water."),
    ("b", "At 0:05.", "At zero oh five."),
    ("h", "तापमान 21.05 °C है।", "तापमान 21 दशमलव 0 5 डिग्री सेल्सियस है।"),
    ("z", "3,000元", "3000元"),
    ("e", "Hay 10000000000000000 casos.",  # an id, not a quantity: digit by digit
     "Hay uno " + "cero " * 16 + "casos."),
]


@pytest.mark.parametrize(("language", "text", "expected"), READINGS,
                         ids=[f"{c[0]}-{c[1][:20]}" for c in READINGS])
def test_language_rules(language: str, text: str, expected: str) -> None:
    assert normalize(text, language) == expected
