"""The speech engine: text → segments → phonemes → tokens → model → PCM."""
