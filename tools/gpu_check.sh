#!/usr/bin/env bash
# Device-side steps for tools/gpu_check.py (run through the `device` tool in the repo root).
# Usage: tools/gpu_check.sh stash PART   — keep one carried part in /tmp/parts
#        tools/gpu_check.sh run [ARGS]   — assemble wheel + model, install, run the check
set -euo pipefail
mkdir -p /tmp/parts
case "$1" in
  stash) cp ".gpu/$2" /tmp/parts/ ; ls -la /tmp/parts ;;
  run)
    shift
    for f in .gpu/*.part.*; do [ -e "$f" ] && cp "$f" /tmp/parts/; done
    wheel=/tmp/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl
    cat /tmp/parts/ort.part.* > "$wheel"
    cat /tmp/parts/model.part.* > /tmp/kokoro-v1.0.int8.onnx
    echo "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb  /tmp/kokoro-v1.0.int8.onnx" | sha256sum -c
    python3 -m pip install -q --no-deps --no-index --target /tmp/ortgpu "$wheel"
    export PYTHONPATH=/tmp/ortgpu PYTHONUNBUFFERED=1
    python3 tools/gpu_check.py --int8 /tmp/kokoro-v1.0.int8.onnx \
      --dequantizer .gpu/dequantize_kokoro.py --inputs .gpu/inputs.npz --out "$OUT/gpu.json" "$@"
    ;;
esac
