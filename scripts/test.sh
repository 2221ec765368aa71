#!/usr/bin/env bash
# The test command: builds everything and runs the default test suite (a few minutes on 2 cores).
# Long experiments are not part of it; see docs/experiments.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the machine needs beyond the .NET SDK (fonts for the PNG plots the tests draw); idempotent.
./scripts/install-deps.sh
# A one-node Slurm for SlurmArrayTests (idempotent; needs root). If it cannot start, the suite still
# runs and that test fails saying why.
./scripts/install-slurm.sh || echo "test.sh: Slurm did not start (see above); SlurmArrayTests will fail" >&2
results=$(mktemp -d)
status=0
dotnet test RuleDsl.sln -c Release --logger "trx" --results-directory "$results" "$@" || status=$?
# One plain closing line over all test assemblies: "tests: N passed, N failed".
passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c"); passed=$((passed + ${p:-0}))
  q=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c"); failed=$((failed + ${q:-0}))
  # Skipped tests are not in notExecuted (always 0 in xunit's trx): they are total − executed.
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$c"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$c")
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
