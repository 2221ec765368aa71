#!/usr/bin/env bash
# The feedforward experiments of Shervani-Tabar & Rosenbaum (2023) on Fashion-MNIST and on MNIST digits,
# 10 trials each (examples/paper/*.experiment), then the figures and the Mann–Whitney comparisons the
# results report (docs/results/feedforward.md). About 5.5 hours on 2 cores (the exact pools take more than half of it). Resumable: run it again
# after an interruption and every experiment continues from its last completed episode. Usage: scripts/paper-experiments.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-data.sh
ruledsl=${RULEDSL:-"dotnet run --project src/RuleDsl.Cli -c Release --"}
fashion="fa bp ehebb dfa bio_scaled oja_scaled oja_bounded oja_bounded_rep oja_units oja_from_fa oja_from_fa_b4 pool_units pool_prox pool_prox_shrink pool_precond pool_scaled bio oja"
mnist="fa_mnist bp_mnist oja_mnist"
names=${*:-"$fashion $mnist"}
for n in $names; do
  out=results/paper/$n
  if [ -f "$out/summary.json" ]; then echo "paper: $n done ($out)"; continue; fi
  resume=""; [ -d "$out" ] && resume="--resume"
  $ruledsl run examples/paper/$n.experiment $resume
done
# The λ pilot of pool_prox (2 trials × 100 episodes each, seeds 9001+).
if [ -z "${*:-}" ]; then
  for l in l005 l01 l02; do
    [ -f results/paper/pool_prox_pilot/$l/summary.json ] && continue
    resume=""; [ -d results/paper/pool_prox_pilot/$l ] && resume="--resume"
    $ruledsl run examples/paper/pool_prox_pilot/pool_prox_$l.experiment $resume
  done
fi
for n in $names; do $ruledsl plot results/paper/$n >/dev/null; done
# The findings: BP above FA; bio, Oja, eHebb and the pool above FA (one-sided, one sample per trial).
for n in bp ehebb dfa bio_scaled oja_scaled oja_bounded oja_bounded_rep oja_units oja_from_fa oja_from_fa_b4 pool_units pool_prox pool_prox_shrink pool_precond pool_scaled bio oja; do
  [ -f results/paper/$n/summary.json ] && $ruledsl compare results/paper/$n results/paper/fa --window 50
done
# The pool with L1 as proximal steps: against the subgradient run, and shrinking θ on divergence against skipping.
[ -f results/paper/pool_prox/summary.json ] && $ruledsl compare results/paper/pool_prox results/paper/pool_units --window 50 --diverged 0.2
[ -f results/paper/pool_prox_shrink/summary.json ] && $ruledsl compare results/paper/pool_prox_shrink results/paper/pool_prox --window 50 --diverged 0.2
for n in bp_mnist oja_mnist; do
  [ -f results/paper/$n/summary.json ] && $ruledsl compare results/paper/$n results/paper/fa_mnist --window 50
done
# Oja's rule at fixed θ₀ = 0.0085 and θ₉ swept (not meta-learned): accuracy after 50 samples per class.
$ruledsl samples examples/paper/oja_sweep/oja_{m1e3,m3e4,m1e4,0,1e4,3e4,1e3,2e3,3e3,5e3,1e2}.experiment --samples 50 --networks 30 --out results/paper/oja_sweep
true
