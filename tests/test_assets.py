"""Where model and voices come from: paths, data dirs, the hub (offline), the bundle."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wyoming_kokoro.model import assets
from wyoming_kokoro.model.assets import AssetError, bucket_filename, resolve

from .synthetic import build_bucket_model, write_voices


def test_bucket_names() -> None:
    assert bucket_filename("b48") == "onnx/kokoro-82m-streaming-b48-fp16.onnx"
    assert bucket_filename("B64-fp32") == "onnx/kokoro-82m-streaming-b64-fp32.onnx"
    assert bucket_filename("model.onnx") is None
    with pytest.raises(AssetError, match="b16"):
        bucket_filename("b50")


def test_bucket_found_in_data_dir(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    build_bucket_model(tmp_path / "onnx" / "kokoro-82m-streaming-b16-fp16.onnx", bucket=16)
    write_voices(tmp_path / "voices.npz", ["af_heart"])
    (tmp_path / "voices.txt").write_text("0=af_heart\n")
    found = resolve("b16", None, [tmp_path], tmp_path, allow_download=False,
                    bundle_fallback=False)
    assert found.model.name.endswith("b16-fp16.onnx") and found.voices.name == "voices.npz"
    assert found.voices_order == tmp_path / "voices.txt" and not found.bundle


def test_explicit_path_and_missing_path(tmp_path: Path) -> None:
    model = build_bucket_model(tmp_path / "custom.onnx", bucket=16)
    voices = write_voices(tmp_path / "mine.npz", ["af_x"])
    found = resolve(str(model), str(voices), [tmp_path / "none"], tmp_path)
    assert (found.model, found.voices) == (model, voices)
    with pytest.raises(AssetError, match="does not exist"):
        resolve(str(tmp_path / "nope.onnx"), None, [tmp_path], tmp_path)


def test_offline_falls_back_to_bundle_with_one_clear_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING):
        found = resolve("b64", None, [tmp_path], tmp_path)
    assert found.bundle and found.model.name == "kokoro-v1.0.int8.onnx"
    lines = [r.getMessage() for r in caplog.records if "Falling back" in r.getMessage()]
    assert len(lines) == 1 and "Hugging Face unreachable" in lines[0]


def test_no_bundle_no_model_explains_what_was_tried(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError) as info:
        resolve("b48", None, [tmp_path], tmp_path, bundle_fallback=False)
    assert "data dirs" in str(info.value) and "huggingface.co" in str(info.value)


def test_bundle_is_assembled_once_and_checked(tmp_path: Path) -> None:
    first = assets.bundle_assets(tmp_path)
    stamp = first.model.with_name(first.model.name + ".sha256")
    mtime = first.model.stat().st_mtime_ns
    assert stamp.read_text().strip() and first.model.stat().st_size > 80_000_000
    assert assets.bundle_assets(tmp_path).model.stat().st_mtime_ns == mtime  # reused
    stamp.write_text("0" * 64)  # a stale or foreign file is rebuilt, never trusted
    assets.bundle_assets(tmp_path)
    assert first.model.stat().st_mtime_ns != mtime


def test_data_dir_lookup_cannot_escape(tmp_path: Path) -> None:
    outside = tmp_path / "secret.onnx"
    outside.write_bytes(b"x")
    data = tmp_path / "data"
    data.mkdir()
    (data / "link.onnx").symlink_to(outside)
    assert assets._inside(data, "../secret.onnx") is None
    assert assets._inside(data, "link.onnx") is None
