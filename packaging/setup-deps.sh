#!/usr/bin/env bash
# Installs PEFT Studio's build and run dependencies from Debian packages. Idempotent: packages
# already present are not touched, so a second run costs a few seconds and no network.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev                     # LibTorch (Debian 12: 1.13)
  libopenblas0-pthread             # fast BLAS; Debian's LibTorch otherwise uses the reference one
  libdnnl-dev                      # oneDNN headers (LibTorch's own bf16 kernels; pre-packed weights)
  libgloo-dev                      # Gloo headers for LibTorch's c10d ProcessGroupGloo (data-parallel training)
  qt6-base-dev libqcustomplot-dev  # GUI: Qt 6 Widgets, QCustomPlot (Qt 6 build libQCustomPlotQt6)
  libspdlog-dev nlohmann-json3-dev libpcre2-dev
  libcurl4-openssl-dev             # Hugging Face Hub downloads (core/hub)
  libsnappy-dev libzstd-dev zlib1g-dev  # Parquet page codecs (core/data/parquet_codecs.cpp)
  libgtest-dev                     # core tests
  python3-torch                    # core tests: the independent preference-tuning reference (tests/golden)
  python3                          # the local Hub server of tests/core/test_hub_download (standard library only)
  golang-go                        # core tests: Ollama's Go text/template renders the exported Modelfile TEMPLATEs
  xvfb xauth imagemagick           # GUI tests and screenshots
  dpkg-dev file                    # packaging test (.deb)
)
if [[ "${PEFT_STUDIO_GUI:-ON}" == "OFF" ]]; then
  PKGS=(build-essential cmake ninja-build pkg-config libtorch-dev libopenblas0-pthread libdnnl-dev libgloo-dev libspdlog-dev
        nlohmann-json3-dev libpcre2-dev libcurl4-openssl-dev libsnappy-dev libzstd-dev zlib1g-dev libgtest-dev python3
        python3-torch golang-go dpkg-dev file)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup-deps: all ${#PKGS[@]} packages present"
fi

# Make OpenBLAS the active libblas.so.3 (Debian's alternatives pick the highest priority,
# but a machine may have been set to the reference BLAS by hand).
alt=libblas.so.3-x86_64-linux-gnu
want=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [[ -e "$want" ]] && [[ "$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" != "$(readlink -f "$want")" ]]; then
  echo "setup-deps: selecting OpenBLAS as libblas.so.3"
  $SUDO update-alternatives --set "$alt" "$want"
fi
