#!/usr/bin/env bash
# Installs the system packages RuleDsl needs beyond the .NET SDK (idempotent).
#   fonts-dejavu-core: fonts for the text in PNG plots (ScottPlot/SkiaSharp ships its native libraries, not fonts).
set -euo pipefail
fail() { echo "install-deps: $*" >&2; exit 1; }
packages=(fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all present (${packages[*]})"
  exit 0
fi
command -v apt-get >/dev/null || fail "apt-get not found; install ${missing[*]} by hand"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || fail "installing ${missing[*]} needs root; run this script as root"
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" || fail "apt-get install ${missing[*]} failed"
