# Shared by scripts/demo.sh and scripts/test.sh: install what is missing
# (Debian packages only), then configure and build with Ninja.
# Sourced, not executed.

PARTITA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARTITA_BUILD="${PARTITA_BUILD:-$PARTITA_ROOT/build}"

PARTITA_PACKAGES=(
  cmake ninja-build ccache mold g++ pkg-config
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libgtest-dev
  python3 python3-numpy python3-pytest python3-onnx
  libopenblas-dev
  pybind11-dev python3-pybind11
  clang libclang-rt-14-dev
  libopenmpi-dev openmpi-bin
  libglpk-dev
)

# Only the tests need these: PyTorch and torchvision export the real-
# architecture regression models (test/Integration/RealModels).
PARTITA_TEST_PACKAGES=(python3-torch python3-torchvision)

# partita_install_deps [EXTRA_PACKAGE...]
partita_install_deps() {
  local missing=()
  for p in "${PARTITA_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "partita: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      echo "partita: missing Debian packages; run as root or install: ${missing[*]}" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

partita_build() {
  if [ ! -f "$PARTITA_BUILD/build.ninja" ]; then
    cmake -S "$PARTITA_ROOT" -B "$PARTITA_BUILD" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release \
      -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
  fi
  ninja -C "$PARTITA_BUILD" -j"${PARTITA_JOBS:-2}"
}
