#!/usr/bin/env bash
# Table 1 of docs/results/feedforward.md: the seven per-layer rule assignments (examples/paper/table1_row*.experiment),
# then each row's alignment angles over episodes 100–149. About 15 minutes on 2 cores; resumable.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-data.sh >/dev/null
ruledsl=${RULEDSL:-"dotnet run --project src/RuleDsl.Cli -c Release --"}
for i in 1 2 3 4 5 6 7; do
  out=results/paper/table1_row$i
  if [ -f "$out/summary.json" ]; then continue; fi
  resume=""; [ -d "$out" ] && resume="--resume"
  $ruledsl run examples/paper/table1_row$i.experiment $resume >/dev/null
done
for i in 1 2 3 4 5 6 7; do
  for l in 1 2; do
    echo "row $i angle_$l: $($ruledsl compare results/paper/table1_row$i results/paper/table1_row1 --column angle_$l --window 50 | grep '^100-149')"
  done
done
