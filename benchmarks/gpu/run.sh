#!/usr/bin/env bash
# The project's own runner on a GPU machine that has PyTorch and JAX but no TensorFlow and no
# network (the `device` tool's H200): one prepared command, tried first on a CPU with --quick.
#
#   carry: benchmarks/gpu/wheels (keras, optree, namex for Python 3.12; `make gpu-wheels`)
#          benchmarks/gpu/store   (a small store; `make gpu-store`)
#   bash benchmarks/gpu/run.sh OUT_DIR [--quick]
set -euo pipefail
out="${1:?usage: run.sh OUT_DIR [--quick]}"; shift
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(cd "$here/../.." && pwd)"
mkdir -p "$out"
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$here"/wheels/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$repo:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt" 2>/dev/null || echo "no GPU" > "$out/gpu.txt"
python3 "$here/backends.py" --store "$here/store" --out "$out/backends.json" "$@"
