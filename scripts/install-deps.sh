#!/usr/bin/env bash
# Installs the system packages RuleDsl needs beyond the .NET SDK (idempotent).
#   fonts-dejavu-core: fonts for the text in PNG plots (ScottPlot/SkiaSharp ships its native libraries, not fonts).
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
packages=(fonts-dejavu-core)
apt_install install-deps "${packages[@]}"
[ ${#apt_missing[@]} -eq 0 ] && echo "install-deps: all present (${packages[*]})"
exit 0
