#!/usr/bin/env bash
# Every number a change of the engine must leave bit-identical, written to one folder (default
# value-dumps/): the bench's feedforward values (fa, bio, pool under fa/bp/dfa feedback), one episode
# of every example at a reduced size with all its tangents, and Miconi's learner at full size on DNMS
# (per-trial rewards of three seeds). Compare two commits with `diff -r OLD NEW`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-value-dumps}
mkdir -p "$out"
dotnet build -c Release -v q -nologo bench/RuleDsl.Bench >/dev/null
dotnet build -c Release -v q -nologo src/RuleDsl.Cli >/dev/null
dotnet run -c Release --no-build --project bench/RuleDsl.Bench -- ff-values > "$out/ff-values.txt"
dotnet run -c Release --no-build --project bench/RuleDsl.Bench -- examples-values > "$out/examples-values.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src/RuleDsl.Cli/bin/Release/net10.0/ruledsl learn examples/miconi_dnms.experiment --seeds 1-3 --out "$tmp" >/dev/null
# Trials run in parallel: sort the rows so that the order they finished in does not count.
sort "$tmp/learning_trials.csv" > "$out/miconi_dnms_trials.csv"
sort "$tmp/learning.csv" > "$out/miconi_dnms_learning.csv"
echo "$out: $(cat "$out"/* | wc -l) lines"
