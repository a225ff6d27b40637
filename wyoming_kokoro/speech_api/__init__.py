"""Front door 2: the OpenAI-compatible HTTP speech API."""
