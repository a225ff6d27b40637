"""Step 3, model: the Kokoro ONNX graph — assets, session, contract, split decoder, precision."""
