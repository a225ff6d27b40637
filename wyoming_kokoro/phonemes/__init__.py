"""Step 2, phonemes: spans → Kokoro phoneme strings (misaki per language) → token ids."""
