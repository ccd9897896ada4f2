#!/usr/bin/env bash
# One-command, idempotent setup of mmpoolformer's environment in .venv/ at the repo root.
#
#   bash tools/setup.sh
#
# Installs torch/torchvision, compiles mmcv 2.1.0 with ops from its PyPI source archive (CUDA ops too when a CUDA
# toolchain and a GPU are present), then mmengine/mmdet/mmsegmentation/mmpretrain, Gradio (web demo) and mmpoolformer
# in editable mode, and, when run as root on Debian/Ubuntu, the system packages the tests drive: Chromium for the
# browser test, Slurm (slurm-wlm) and munge for the cluster tests (skipped with a note otherwise, or when they are
# installed already).
# The compiled mmcv wheel is cached under $MMPF_CACHE (default ~/.cache/mmpoolformer) in a folder keyed by the
# python, torch (with its local build tag, e.g. +cu130) and mmcv versions and the ops flavour, so a wheel is never
# handed to another torch. Environment knobs:
#   MMPF_PYTHON       interpreter used to create .venv (default: python3.11)
#   MMPF_TORCH_INDEX  extra index to take torch/torchvision from, e.g. https://download.pytorch.org/whl/cu126
#   MMPF_CACHE        wheel cache folder
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOGS="$ROOT/.setup-logs"
PY_BOOT="${MMPF_PYTHON:-python3.11}"
CACHE="${MMPF_CACHE:-$HOME/.cache/mmpoolformer}"
MMCV_VERSION=2.1.0
mkdir -p "$LOGS"
START=$(date +%s)

step() {  # step NAME COMMAND...: run COMMAND with its output in .setup-logs/NAME.log; on failure name step and log.
  local name="$1"; shift
  local log="$LOGS/$name.log"
  printf '[setup] %-14s ... ' "$name"
  local t0=$(date +%s)
  if "$@" >"$log" 2>&1; then
    echo "ok ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAILED"
    echo "[setup] step '$name' failed; its log is $log (last lines below)" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
}

PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

make_venv() {
  if [ -x "$PY" ] && "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)'; then
    echo "reusing $VENV"
  else
    rm -rf "$VENV"
    "$PY_BOOT" -m venv "$VENV"
  fi
}

build_tools() {
  "${PIP[@]}" install 'setuptools>=77,<81' wheel ninja
}

install_torch() {
  local extra=()
  [ -n "${MMPF_TORCH_INDEX:-}" ] && extra=(--extra-index-url "$MMPF_TORCH_INDEX")
  "${PIP[@]}" install "${extra[@]}" "$(grep '^torch==' "$ROOT/requirements.txt")" \
    "$(grep '^torchvision==' "$ROOT/requirements.txt")"
}

mmcv_ok() {  # true when the installed mmcv is $MMCV_VERSION, its compiled ops load, and where a GPU and nvcc are
  # present, they include the CUDA ops (a wheel built on a CPU-only machine has none: it is rebuilt here)
  "$PY" - <<PYEOF >/dev/null 2>&1
import shutil
import mmcv
import torch
assert mmcv.__version__ == '$MMCV_VERSION', mmcv.__version__
from mmcv.ops import get_compiling_cuda_version, nms, roi_align  # noqa: F401
if torch.cuda.is_available() and shutil.which('nvcc'):
    assert get_compiling_cuda_version() != 'not available', 'mmcv without CUDA ops on a CUDA machine'
PYEOF
}

mmcv_cache_dir() {
  "$PY" "$ROOT/tools/mmcv_wheel_key.py" "$MMCV_VERSION"
}

build_mmcv() {
  local key; key="$(mmcv_cache_dir)"
  local dir="$CACHE/wheels/$key"
  echo "mmcv wheel cache: $dir"
  local whl; whl="$(ls "$dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$whl" ]; then
    local src; src="$(mktemp -d)"
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$src"
    tar -xzf "$src"/mmcv-"$MMCV_VERSION".tar.gz -C "$src"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0's setup.py hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$src/dist"
    # Python's own compile flags without debug information (-g0 last wins over its -g): a third less compile time,
    # the same optimised code. CFLAGS replaces the defaults, so they are passed along.
    local cflags; cflags="$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")') -g0"
    CFLAGS="$cflags" MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "${PIP[@]}" wheel --no-deps --no-build-isolation \
      --no-cache-dir -w "$src/dist" "$src/mmcv-$MMCV_VERSION"
    mkdir -p "$dir"
    # Move into the cache under a temporary name first so an interrupted copy is never taken for a wheel.
    local built; built="$(ls "$src"/dist/mmcv-*.whl)"
    cp "$built" "$dir/.partial" && mv "$dir/.partial" "$dir/$(basename "$built")"
    whl="$dir/$(basename "$built")"
    rm -rf "$src"
  fi
  "${PIP[@]}" install --force-reinstall --no-deps "$whl"
}

install_stack() {
  "${PIP[@]}" install -r "$ROOT/requirements.txt" -r "$ROOT/requirements-test.txt"
  "${PIP[@]}" install --no-deps -r "$ROOT/requirements-nodeps.txt"
}

# transformers for the Hugging Face file tests only, outside the venv's packages (see the requirements file)
TRANSFORMERS_DIR="$VENV/transformers-for-tests"
TRANSFORMERS_PIN="$(grep '^transformers==' "$ROOT/requirements-transformers-test.txt")"
transformers_ok() {
  [ -d "$TRANSFORMERS_DIR/transformers-${TRANSFORMERS_PIN#transformers==}.dist-info" ]
}

install_test_transformers() {
  rm -rf "$TRANSFORMERS_DIR"
  "${PIP[@]}" install --no-deps --target "$TRANSFORMERS_DIR" -r "$ROOT/requirements-transformers-test.txt"
}

install_self() {
  "${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"
}

# the Debian packages the tests drive, each with a program that shows it is installed
SYSTEM_PACKAGES=(chromium:chromium chromium-driver:chromedriver slurm-wlm:slurmctld slurm-wlm:slurmd slurm-wlm:srun
                 munge:munged)

missing_system_packages() {  # prints the packages whose program is not there
  local entry
  for entry in "${SYSTEM_PACKAGES[@]}"; do
    command -v "${entry#*:}" >/dev/null 2>&1 || [ -x "/usr/sbin/${entry#*:}" ] || echo "${entry%%:*}"
  done | sort -u
}

install_system_packages() {
  apt-get update -qq
  # shellcheck disable=SC2046
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(missing_system_packages)
}

verify() {
  "$PY" -c "import mmpoolformer, mmdet, mmseg, mmpretrain.models, pytorch_grad_cam, gradio, playwright; from mmcv.ops import nms, roi_align; print('imports ok')"
}

step venv make_venv
step build-tools build_tools
step torch install_torch
if mmcv_ok; then
  echo "[setup] mmcv           ... ok (mmcv $MMCV_VERSION with ops already installed)"
else
  step mmcv build_mmcv
fi
step openmmlab install_stack
step mmpoolformer install_self
if transformers_ok; then
  echo "[setup] transformers   ... ok (${TRANSFORMERS_PIN#transformers==} for the tests already in $TRANSFORMERS_DIR)"
else
  step transformers install_test_transformers
fi
MISSING="$(missing_system_packages | tr '\n' ' ' | sed 's/ *$//')"
if [ -z "$MISSING" ]; then
  echo "[setup] system         ... ok (chromium, slurm-wlm and munge already installed)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step system install_system_packages
else
  echo "[setup] system         ... skipped: not root or no apt-get; the browser and Slurm tests need" \
       "$MISSING (sudo apt-get install $MISSING)"
fi
step verify verify
echo "[setup] done in $(( $(date +%s) - START )) s; environment: $VENV"
