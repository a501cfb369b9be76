#!/bin/sh
# Installs every Debian package edm needs to build, test and run. Idempotent.
set -eu
PACKAGES="build-essential cmake ninja-build pkg-config git \
  libtorch-dev libdnnl-dev libopenblas0-openmp libgloo-dev \
  libgtest-dev googletest \
  libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev libzip-dev \
  libcpp-httplib-dev chromium \
  dataset-fashion-mnist"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
