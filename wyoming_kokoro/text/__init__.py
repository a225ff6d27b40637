"""Step 1, text: what people, LLMs and SSML write → sentences of spans ready to phonemize."""
