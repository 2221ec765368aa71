#!/usr/bin/env bash
# Installs what the benchmarks' Python peers need (idempotent): Debian's numpy and PyTorch for
# /usr/bin/python3 (bench/peers/, bench/pytorch/; the bench calls /usr/bin/python3, or RULEDSL_PYTHON).
#   python3-numpy: Miconi's learner in numpy (Debian's numpy links the reference BLAS, not OpenBLAS);
#   python3-torch: the meta-gradients by reverse-mode autograd (PyTorch 1.13 on Debian 12).
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
packages=(python3-numpy python3-torch)
apt_install install-bench-deps "${packages[@]}"
[ ${#apt_missing[@]} -eq 0 ] && echo "install-bench-deps: all present (${packages[*]})"
/usr/bin/python3 -c "import numpy, torch" 2>/dev/null \
  || { echo "install-bench-deps: ${packages[*]} are installed but /usr/bin/python3 cannot import numpy and torch" >&2; exit 1; }
