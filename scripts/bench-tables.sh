#!/usr/bin/env bash
# Regenerates the speed tables of README.md and bench/README.md in one command (issue 19), and the raw
# outputs bench/results/meta.md and bench/results/rnn-peers.md:
#   ./scripts/bench-tables.sh            `meta --pytorch`: feedforward and recurrent rows, the PyTorch and
#                                        numpy peers, all in one run (~10 min on 2 idle cores), then --kernels
#   ./scripts/bench-tables.sh --quick    the same at reduced sizes (~2 min)
#   ./scripts/bench-tables.sh --peers    only `rnn-peers` (the recurrent peers table, ~2 min)
#   ./scripts/bench-tables.sh --kernels  the BenchmarkDotNet run (`--filter '*'`): bench/README.md's tables of
#                                        compiled kernels vs hand-written C# (~5 min), raw in bench/results/kernels.md
#   ... --peers --repeat 3               further arguments go to the bench (meta: --episodes N; rnn-peers:
#                                        --repeat R, --miconi-trials H, --grad-trials H)
# Every table is a block the bench prints between `<!-- table:NAME -->` and `<!-- /table:NAME -->`; each
# doc's block of the same NAME is replaced by it, the rest of the doc is left alone. The bench prints the
# machine (CPU model, cores, load average) in a NAME-run block above its tables. When the bench fails (a
# diverged run, peers that computed different numbers), nothing is rewritten and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=full
case "${1:-}" in
  --quick) mode=quick; shift ;;
  --peers) mode=peers; shift ;;
  --kernels) mode=kernels; shift ;;
esac
# Anything else goes to the bench: `meta` options (--episodes N) or `rnn-peers` options (--repeat R, ...).
extra=("$@")
./scripts/install-bench-deps.sh
dotnet build -c Release bench/RuleDsl.Bench -v q -nologo >/dev/null
bench=(dotnet bench/RuleDsl.Bench/bin/Release/net10.0/RuleDsl.Bench.dll)
out=$(mktemp -d)
case $mode in
  full)  args=(meta --pytorch "${extra[@]}") ;;
  quick) args=(meta --pytorch --quick "${extra[@]}") ;;
  peers) args=(rnn-peers "${extra[@]}") ;;
  kernels) args=(--filter '*') ;;
esac
echo "bench-tables: ${args[*]} (writing as it goes to $out/bench.md)"
if ! "${bench[@]}" "${args[@]}" | tee "$out/bench.md"; then
  echo "bench-tables: the bench failed (the reasons are above); no table was rewritten" >&2
  exit 1
fi

# The raw outputs: the meta part and the peers part, each headed by the command that made it.
cmd="dotnet run -c Release --project bench/RuleDsl.Bench -- ${args[*]}"
[ "$mode" = kernels ] && cmd="dotnet run -c Release --project bench/RuleDsl.Bench -- --filter '*'"
peers_start=$(grep -n '^# RuleDsl recurrent peers' "$out/bench.md" | head -1 | cut -d: -f1 || true)
if [ "$mode" = kernels ]; then
  # BenchmarkDotNet's log stays in BenchmarkDotNet.Artifacts/; the tables printed from its summaries are kept.
  start=$(grep -n '^# RuleDsl compiled kernels' "$out/bench.md" | head -1 | cut -d: -f1)
  { echo "<!-- Written by scripts/bench-tables.sh: \`$cmd\`, the tables it printed after BenchmarkDotNet's log. -->"; echo
    tail -n +"$start" "$out/bench.md"
  } > bench/results/kernels.md
elif [ "$mode" != peers ]; then
  { echo "<!-- Written by scripts/bench-tables.sh: \`$cmd\`, its output verbatim. -->"; echo
    if [ -n "$peers_start" ]; then head -n $((peers_start - 1)) "$out/bench.md"; else cat "$out/bench.md"; fi
  } > bench/results/meta.md
fi
if [ -n "$peers_start" ]; then
  { echo "<!-- Written by scripts/bench-tables.sh: \`$cmd\`, its output verbatim. -->"; echo
    tail -n +"$peers_start" "$out/bench.md"
  } > bench/results/rnn-peers.md
fi

# Splice every block of the output into the docs that hold a block of the same name.
splice() {
  awk -v blocks="$out/bench.md" '
    BEGIN {
      while ((getline line < blocks) > 0) {
        if (match(line, /^<!-- table:[A-Za-z0-9-]+ -->$/)) { name = substr(line, 12, length(line) - 15); text[name] = ""; have[name] = 1; continue }
        if (line ~ /^<!-- \/table:[A-Za-z0-9-]+ -->$/) { name = ""; continue }
        if (name != "") text[name] = text[name] line "\n"
      }
    }
    /^<!-- table:[A-Za-z0-9-]+ -->$/ { print; n = substr($0, 12, length($0) - 15); if (n in have) { printf "%s", text[n]; skip = 1 }; next }
    /^<!-- \/table:[A-Za-z0-9-]+ -->$/ { skip = 0; print; next }
    !skip { print }
  ' "$1" > "$1.tmp" && mv "$1.tmp" "$1"
}
for doc in README.md bench/README.md; do splice "$doc"; done
echo "bench-tables: rewrote the tables of README.md and bench/README.md, and bench/results/ (git diff shows what changed)"
# The full run goes on with the BenchmarkDotNet tables, so one command regenerates every table.
if [ "$mode" = full ]; then exec "$0" --kernels; fi
