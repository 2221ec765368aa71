#!/usr/bin/env bash
# Installs what the benchmarks' Python peers need (idempotent): Debian's numpy and PyTorch for
# /usr/bin/python3 (bench/peers/, bench/pytorch/; the bench calls /usr/bin/python3, or RULEDSL_PYTHON).
#   python3-numpy: Miconi's learner in numpy (Debian's numpy links the reference BLAS, not OpenBLAS);
#   python3-torch: the meta-gradients by reverse-mode autograd (PyTorch 1.13 on Debian 12).
set -euo pipefail
fail() { echo "install-bench-deps: $*" >&2; exit 1; }
packages=(python3-numpy python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  /usr/bin/python3 -c "import numpy, torch" 2>/dev/null || fail "${packages[*]} are installed but /usr/bin/python3 cannot import numpy and torch"
  echo "install-bench-deps: all present (${packages[*]})"
  exit 0
fi
command -v apt-get >/dev/null || fail "apt-get not found; install ${missing[*]} by hand"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || fail "installing ${missing[*]} needs root; run this script as root"
  sudo=sudo
fi
echo "install-bench-deps: installing ${missing[*]}"
$sudo apt-get update -q || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" || fail "apt-get install ${missing[*]} failed"
/usr/bin/python3 -c "import numpy, torch" || fail "/usr/bin/python3 still cannot import numpy and torch"
