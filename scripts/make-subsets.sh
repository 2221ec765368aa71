#!/usr/bin/env bash
# Remakes the subsets shipped in data/ from the installed full data (see data/README.md).
# Usage: scripts/make-subsets.sh [FASHION-DIR] [MNIST-PACKAGE-DIR] [OUT-DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-data.sh
exec dotnet run scripts/make-subsets.cs -- "$@"
