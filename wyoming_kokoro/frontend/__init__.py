"""Text front end: what people, LLMs and SSML write → sentences of spans the engine can speak.

Modules, one job each (imported directly; this package imports nothing so that
`engine.text` can use `markdown` without an import cycle):
  spans      the intermediate form (Span, Sentence, Markup)
  markdown   block-level markdown (lists, headings, fences), incrementally, before sentences
  cleanup    inline LLM noise: links, URLs, e-mails, code, emphasis, emoji, punctuation
  words      per-language vocabulary (units, currencies, months, connectives)
  normalize  numbers, times, dates, units… → words the G2P reads correctly
  ipa        IPA → Kokoro phoneme symbols
  lexicon    `[word](/phonemes/)` overrides and the user lexicon files
  ssml       SSML → Markup
  reader     the FrontEnd: text or Markup → blocks → one phoneme plan per model call
"""
