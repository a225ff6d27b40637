"""IPA as people write it (Wiktionary, SSML <phoneme>) → the symbols Kokoro was trained on.

Kokoro's English phonemes are misaki's: one letter per diphthong (eɪ → A, aɪ → I, oʊ → O,
aʊ → W, ɔɪ → Y, British əʊ → Q), ʧ/ʤ for tʃ/dʒ, ɹ for r, T for the American flap, no
length marks in American English. The espeak languages use espeak's IPA with tied
affricates and diphthongs merged the same way misaki's EspeakG2P merges them. Strings that
already are Kokoro phonemes pass through unchanged (the mapping is idempotent on them), so
the same function serves `[word](/…/)`, the lexicon and SSML.
"""

from __future__ import annotations

import re
import unicodedata

from wyoming_kokoro.languages import is_english

_TIES = "\u0361\u035c^‿"  # t͡ʃ, t͜ʃ, espeak's t^ʃ
_COMMON = (("ʧ", "ʧ"), ("tʃ", "ʧ"), ("dʒ", "ʤ"), ("ʦ", "ʦ"), ("ʣ", "ʣ"), ("g", "ɡ"),
           ("ɫ", "l"), ("'", "ˈ"), (":", "ː"))
_ENGLISH = (("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("ɝ", "ɜɹ"), ("ɚ", "əɹ"),
            ("ɐ", "ə"), ("r", "ɹ"), ("ʔ", "t"), ("x", "k"), ("ç", "k"), ("ɬ", "l"))
_AMERICAN = (("oʊ", "O"), ("əʊ", "O"), ("ɾ", "T"), ("ɪə", "iə"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"),
             ("ː", ""))
_BRITISH = (("əʊ", "Q"), ("oʊ", "Q"), ("eə", "ɛː"), ("ɛə", "ɛː"))
_ESPEAK = (("ts", "ʦ"), ("dz", "ʣ"))
_VOWELS = "aeiouyæɑɐɒɔəɘɛɜɞɪʊʌʏøœɤɯɨʉᵻAIOWYQɚɝ"
# IPA marks stress before the syllable, Kokoro's training data (misaki, espeak) before
# its vowel: ˈstɹɛs → stɹˈɛs
_STRESS_RE = re.compile(rf"([ˈˌ])([^{_VOWELS}\sˈˌ]+)(?=[{_VOWELS}])")


def ipa_to_kokoro(ipa: str, language: str) -> str:
    """IPA for a word or phrase in `language` (Kokoro code) → Kokoro phoneme symbols."""
    text = unicodedata.normalize("NFC", ipa.strip().strip("/[]"))
    text = text.replace(".", "").replace("|", " ")  # syllable and foot marks
    if not is_english(language):
        for tie in _TIES:  # espeak-style tied pairs: t͡s → ʦ, d͡ʒ → ʤ
            text = re.sub(rf"t{re.escape(tie)}s", "ʦ", text)
            text = re.sub(rf"d{re.escape(tie)}z", "ʣ", text)
        for old, new in _ESPEAK:
            text = text.replace(old, new) if language in ("i", "z") else text
    for tie in _TIES:
        text = text.replace(tie, "")
    for old, new in _COMMON:
        text = text.replace(old, new)
    if is_english(language):
        text = re.sub(r"(\S)\u0329", r"ᵊ\1", text)  # syllabic n̩ → ᵊn
        for old, new in _ENGLISH + (_BRITISH if language == "b" else _AMERICAN):
            text = text.replace(old, new)
        text = text.replace("e", "ɛ")  # after eɪ/eə: the DRESS vowel of UK-style IPA
    text = _STRESS_RE.sub(r"\2\1", text)
    return re.sub(r"\s+", " ", text).strip()
