#!/usr/bin/env bash
# Sets up a Debian 12 machine for Strata and builds it.
#
#   bash scripts/setup-debian12.sh [--preset NAME] [--no-build]
#
# 1. Installs the Debian packages Strata needs that are missing (quietly; nothing if all are there).
#    Needs root, or sudo.
# 2. Configures and builds with the CMake preset NAME (default: "default", a Release build in
#    build/default). Presets: default, debug, ci, asan, nompi (see CMakePresets.json).
#
# The asan preset also gets clang-14, libfuzzer-14-dev and libclang-rt-14-dev (ASan/UBSan,
# libFuzzer); the nompi preset gets libhdf5-dev (serial HDF5, installs beside libhdf5-openmpi-dev);
# the ci preset gets gfortran (the Fortran module `strata` and the Fortran examples).
set -euo pipefail

preset=default
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --preset=*) preset="${1#--preset=}"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup-debian12.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config python3
  libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
  libgtest-dev libgmock-dev libbenchmark-dev librandom123-dev
  liblapack-dev libopenblas-dev
)
case "$preset" in
  ci) packages+=(gfortran) ;;  # the Fortran module and examples (built when a compiler is found)
  asan) packages+=(clang-14 libfuzzer-14-dev libclang-rt-14-dev) ;;
  nompi) packages+=(libhdf5-dev) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup-debian12.sh: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
    sudo=sudo
  fi
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$build" -eq 1 ] || exit 0
cd "$(dirname "$0")/.."
echo "setup: configuring and building preset '$preset' on $(nproc) cores"
start=$(date +%s)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
echo "setup: built in $(( $(date +%s) - start )) s"
