"""Normalisation per language: numbers, times, dates, money, units… → the words to read."""

from __future__ import annotations

import pytest

from wyoming_kokoro.text.lang import speller
from wyoming_kokoro.text.normalize import normalize, parse_number
from wyoming_kokoro.text.say_as import say_as

ENGLISH = [  # misaki reads plain numbers, ordinals, years and $ € £ itself: left as digits
    ("It's 21.5 °C, humidity 43 %.", "It's 21.5 degrees Celsius, humidity 43 percent."),
    ("It's 21.5°C and 70°F.", "It's 21.5 degrees Celsius and 70 degrees Fahrenheit."),
    ("It is -5 °C.", "It is -5 degrees Celsius."),
    ("Turned off 3 lights.", "Turned off 3 lights."),
    ("Timer set for 1:30.", "Timer set for one thirty."),
    ("The meeting is at 14:30.", "The meeting is at two thirty PM."),
    ("Wake me at 7am.", "Wake me at seven AM."),
    ("At 3:45 p.m. today", "At three forty-five PM today"),
    ("At 9:05 and 12:00.", "At nine oh five and twelve o'clock."),
    ("It's 0:15.", "It's twelve fifteen AM."),
    ("It takes 5-10 minutes.", "It takes 5 to 10 minutes."),
    ("Between 18–21 degrees.", "Between 18 to 21 degrees."),
    ("COVID-19 is over.", "COVID-19 is over."),
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    ("Call +1 (555) 123-4567.",
     "Call plus one, five five five, one two three, four five six seven."),
    ("Version 2.4.1 is out.", "Version 2 point 4 point 1 is out."),
    ("Update to v2.4.", "Update to version 2 point 4."),
    ("Ping 192.168.1.10 now.", "Ping 192 dot 168 dot 1 dot 10 now."),
    ("On 2024-05-12.", "On May twelfth, 2024."),
    ("Due 5/12/2024.", "Due May twelfth, 2024."),
    ("Born on 12 May 1990.", "Born on May twelfth, 1990."),
    ("On May 3rd we leave.", "On May third we leave."),
    ("It costs ¥500.", "It costs 500 yen."),
    ("It costs 20 EUR or 5 USD.", "It costs 20 euros or 5 dollars."),
    ("It costs $42.50.", "It costs $42.50."),
    ("Speed 50 km/h.", "Speed 50 kilometers per hour."),
    ("Used 1.5 kWh today.", "Used 1.5 kilowatt hours today."),
    ("It draws 1 W at 230 V.", "It draws 1 watt at 230 volts."),
    ("PM2.5 is 12 µg/m³.", "PM2.5 is 12 micrograms per cubic meter."),
    ("Wait 45s, then 5 min.", "Wait 45 seconds, then 5 minutes."),
    ("Songs from the 80s.", "Songs from the 80s."),
    ("Back in the 1990s.", "Back in the 1990s."),
    ("Use 3/4 cup and ½ spoon.", "Use three quarters cup and one half spoon."),
    ("temp max 25, min 10, approx. 20.",
     "temperature maximum 25, minimum 10, approximately 20."),
    ("Avg hum is fine, e.g. today.", "average humidity is fine, for example today."),
    ("Scene #3 in ~5 min.", "Scene number 3 in about 5 minutes."),
    ("One million is 1,000,000.", "One million is 1000000."),
]

BRITISH = [
    ("The meeting is at 14:30.", "The meeting is at fourteen thirty."),
    ("The train is at 14:00.", "The train is at fourteen hundred."),
    ("Due 5/12/2024.", "Due the fifth of December 2024."),
    ("It is 100 m away.", "It is 100 metres away."),
]

SPANISH = [
    ("Hace 21,5 °C y la humedad es del 43 %.",
     "Hace veintiuno coma cinco grados y la humedad es del cuarenta y tres por ciento."),
    ("Son las 14:30.", "Son las catorce y treinta."),
    ("A la 1:00.", "A la una en punto."),
    ("Cuesta 42,50 €.", "Cuesta cuarenta y dos euros y cincuenta céntimos."),
    ("El 1.º de mayo y la 2.ª vez.", "El primero de mayo y la segunda vez."),
    ("Hace -5 grados.", "Hace menos cinco grados."),
    ("Entre 5-10 minutos.", "Entre cinco a diez minutos."),
    ("Llama al 612 345 678.", "Llama al seis uno dos, tres cuatro cinco, seis siete ocho."),
    ("El 12/05/2024.", "El doce de mayo de dos mil veinticuatro."),
    ("Van a 50 km/h.", "Van a cincuenta kilómetros por hora."),
    ("Hay 1.000.000 de personas.", "Hay un millón de personas."),
    ("Consumo de 1,5 kWh.", "Consumo de uno coma cinco kilovatios hora."),
]

FRENCH = [
    ("Il fait 21,5 °C.", "Il fait vingt et un virgule cinq degrés."),
    ("Il est 14h30.", "Il est quatorze heures trente."),
    ("Il est 1:05.", "Il est une heure cinq."),
    ("Ça coûte 42,50 € ou 10 $.",
     "Ça coûte quarante-deux euros et cinquante centimes ou dix dollars."),
    ("Le 1er mai, la 1re fois, le 2e.", "Le premier mai, la première fois, le deuxième."),
    ("Appelez le 06 12 34 56 78.",
     "Appelez le zéro six, un deux, trois quatre, cinq six, sept huit."),
    ("Le 12/05/2024.", "Le douze mai deux mille vingt-quatre."),
    ("Il y a 1 000 000 habitants.", "Il y a un million habitants."),
    ("Il fait -3 degrés.", "Il fait moins trois degrés."),
    ("Temp. max 25.", "température maximum vingt-cinq."),
]

ITALIAN = [
    ("Fa 21,5 °C.", "Fa ventuno virgola cinque gradi."),
    ("Sono le 14:30.", "Sono le quattordici e trenta."),
    ("Costa 42,50 €.", "Costa quarantadue euro e cinquanta centesimi."),
    ("Il 1º posto, la 2ª volta.", "Il primo posto, la seconda volta."),
    ("Il 12/05/2024.", "Il dodici maggio duemilaventiquattro."),
    ("Sono -5 gradi.", "Sono meno cinque gradi."),
]

PORTUGUESE = [
    ("Faz 21,5 °C.", "Faz vinte e um vírgula cinco graus."),
    ("São 14:30.", "São catorze e trinta."),
    ("Às 2:00.", "Às duas horas."),
    ("Custa R$ 42,50.", "Custa quarenta e dois reais e cinquenta centavos."),
    ("O 1º lugar e a 2ª vez.", "O primeiro lugar e a segunda vez."),
    ("São 1.000.000 de pessoas.", "São um milhão de pessoas."),
]

HINDI = [  # espeak reads Hindi integers; the structure around them is rewritten
    ("तापमान 21.5 °C है।", "तापमान 21 दशमलव 5 डिग्री सेल्सियस है।"),
    ("समय 14:30 है।", "समय 14 बजकर 30 मिनट है।"),
    ("-5 डिग्री।", "माइनस 5 डिग्री।"),
    ("12/05/2024", "12 मई 2024"),
    ("₹1,00,000 और ₹500", "100000 रुपये और 500 रुपये"),
    ("नमी 43 % है।", "नमी 43 प्रतिशत है।"),
]

JAPANESE = [
    ("気温は21.5°Cです。", "気温は21点5度です。"),
    ("14:30にタイマー。", "14時30分にタイマー。"),
    ("-5度。", "マイナス5度。"),
    ("2024-05-12", "2024年5月12日"),
    ("2024/05/12", "2024年5月12日"),
    ("3,000円", "3000円"),
    ("¥500", "500円"),
    ("電話は090-1234-5678です。", "電話は0 9 0, 1 2 3 4, 5 6 7 8です。"),
    ("50 km/h", "50キロメートル毎時"),
    ("5-10分", "5から10分"),
]

MANDARIN = [  # cn2an reads digits, decimals and minus signs itself
    ("温度是21.5°C。", "温度是21.5摄氏度。"),
    ("现在14:30。", "现在14点30分。"),
    ("现在9:05。", "现在9点零5分。"),
    ("2024-05-12", "2024年5月12日"),
    ("43%", "百分之43"),
    ("电话138 1234 5678", "电话一三八,一二三四,五六七八"),
    ("¥500", "500元"),
    ("5-10分钟", "5到10分钟"),
]

CASES = [("a", *c) for c in ENGLISH] + [("b", *c) for c in BRITISH] + \
    [("e", *c) for c in SPANISH] + [("f", *c) for c in FRENCH] + \
    [("i", *c) for c in ITALIAN] + [("p", *c) for c in PORTUGUESE] + \
    [("h", *c) for c in HINDI] + [("j", *c) for c in JAPANESE] + [("z", *c) for c in MANDARIN]


@pytest.mark.parametrize(("language", "text", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1][:24]}" for c in CASES])
def test_normalize(language: str, text: str, expected: str) -> None:
    assert normalize(text, language) == expected


@pytest.mark.parametrize(("language", "text", "expected"), [
    ("a", "1,234.5", ("1234", "5")), ("e", "1.234,5", ("1234", "5")),
    ("e", "1.500", ("1500", None)), ("e", "1,5", ("1", "5")), ("a", "1.500", ("1", "500")),
    ("f", "1 000", ("1000", None)), ("a", "1 000", None), ("h", "1,00,000", ("100000", None)),
])
def test_number_separators_follow_the_language(language: str, text: str,
                                               expected: tuple | None) -> None:
    assert parse_number(text, speller(language)) == expected


@pytest.mark.parametrize(("language", "text", "kind", "fmt", "expected"), [
    ("a", "ABC1", "characters", None, "A B C one"),
    ("a", "42", "cardinal", None, "forty-two"),
    ("a", "-3.5", "cardinal", None, "minus three point five"),
    ("a", "3", "ordinal", None, "third"),
    ("a", "2024", "digits", None, "two zero two four"),
    ("a", "12/05/2024", "date", "dmy", "May twelfth, 2024"),
    ("a", "2024-05-12", "date", None, "May twelfth, 2024"),
    ("b", "05/12", "date", "md", "the twelfth of May"),
    ("a", "14:30", "time", "hms24", "two thirty PM"),
    ("a", "+1 555 1234", "telephone", None, "plus one, five five five, one two three four"),
    ("e", "21", "ordinal", None, "vigésimo primero"),
    ("e", "12/05/2024", "date", None, "doce de mayo de dos mil veinticuatro"),
    ("f", "14:30", "time", None, "quatorze heures trente"),
    ("j", "14:05", "time", None, "14時5分"),
])
def test_say_as(language: str, text: str, kind: str, fmt: str | None, expected: str) -> None:
    assert say_as(text, kind, fmt, language) == expected
