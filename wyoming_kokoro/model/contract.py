"""The Kokoro contract of an ONNX export, read from its graph: token input, bucket width,
output geometry (DESIGN.md §2) — never assumed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wyoming_kokoro.model.session import ModelError
from wyoming_kokoro.model.streaming_decoder import SAMPLES_PER_FRAME

DYNAMIC_MAX_TOKENS = 510  # kokoro-onnx exports: 512 positions minus the two pads


@dataclass(frozen=True)
class Contract:
    """What the graph takes and gives, read from its inputs, outputs and metadata."""

    token_input: str
    bucket: int | None  # static token width B, None for dynamic exports
    speed_dtype: type
    has_lengths: bool
    has_mask: bool
    audio_output: str
    duration_output: str | None
    fixed_samples: int | None = None  # S
    align_frames: int | None = None  # ALIGN
    samples_per_frame: int = SAMPLES_PER_FRAME
    tail_margin: int = 0
    tiered_margins: tuple[tuple[int, int], ...] = ()  # (max input_lengths, margin) ascending

    @property
    def capacity(self) -> int:
        """Real phoneme tokens one call takes (pads excluded)."""
        return self.bucket - 2 if self.bucket else DYNAMIC_MAX_TOKENS

    def margin_for(self, input_length: int) -> int:
        for max_length, margin in self.tiered_margins:
            if input_length <= max_length:
                return margin
        return self.tail_margin

    @property
    def safe_frames(self) -> int | None:
        """Most duration frames the fixed output can hold without cutting speech."""
        if self.align_frames is None or self.fixed_samples is None:
            return None
        room = (self.fixed_samples - self.tail_margin) // self.samples_per_frame
        return max(1, min(self.align_frames, room))


def _meta_int(meta: dict[str, str], key: str) -> int | None:
    value = meta.get(f"fastkokoro.{key}")
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def detect_contract(session: object) -> Contract:
    """Read the Kokoro contract from an onnxruntime session's graph (never assume it)."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    token_input = "input_ids" if "input_ids" in inputs else "tokens" if "tokens" in inputs else None
    if token_input is None or "style" not in inputs or "speed" not in inputs:
        raise ModelError(
            f"not a Kokoro model: inputs {sorted(inputs)} (need input_ids|tokens, style, speed)"
        )
    width = inputs[token_input].shape[-1]
    bucket = width if isinstance(width, int) and width > 0 else None
    speed_dtype = np.int32 if "int32" in inputs["speed"].type else np.float32
    audio_output = next((n for n in ("waveform", "audio") if n in outputs), outputs[0])
    duration_output = "duration" if "duration" in outputs else None
    if bucket is None:
        return Contract(token_input, None, speed_dtype, "input_lengths" in inputs,
                        "attention_mask" in inputs, audio_output, duration_output)
    if bucket <= 2:
        raise ModelError(f"bucket width {bucket} leaves no room for phonemes")
    meta = dict(session.get_modelmeta().custom_metadata_map or {})
    out_shape = next(o.shape for o in session.get_outputs() if o.name == audio_output)
    static_len = out_shape[-1] if out_shape and isinstance(out_shape[-1], int) else None
    align = _meta_int(meta, "fixed_alignment_frames") or 2 * bucket + 8
    per_frame = (_meta_int(meta, "content_samples_per_duration_frame")
                 or _meta_int(meta, "output_samples_per_frame") or 480)
    margin = _meta_int(meta, "output_tail_margin_samples")
    fixed = _meta_int(meta, "fixed_output_samples") or static_len
    if margin is None:
        margin = fixed - align * per_frame if fixed else 3120
    fixed = fixed or align * per_frame + margin
    tiers = []
    for tier in ("short", "medium"):
        tier_margin = _meta_int(meta, f"output_{tier}_tail_margin_samples")
        tier_max = _meta_int(meta, f"output_{tier}_tail_margin_max_tokens")
        if tier_margin is not None and tier_max is not None:
            tiers.append((tier_max, tier_margin))
    return Contract(
        token_input, bucket, speed_dtype, "input_lengths" in inputs, "attention_mask" in inputs,
        audio_output, duration_output, fixed, align, per_frame, margin, tuple(sorted(tiers)),
    )
