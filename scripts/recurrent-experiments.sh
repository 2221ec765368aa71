#!/usr/bin/env bash
# The recurrent results of docs/results/recurrent.md (issue 6), about 6 hours on 2 cores:
#   1. Miconi's rule on the four tasks, 6 seeds each (N = 100, dt = 5 ms), trials to criterion;
#   2. Miconi's DNMS at his own settings (N = 200, dt = 1 ms), 6 seeds;
#   3. discovery: the neo-Hebbian family meta-learned from Miconi's point (resumable);
#   4. the learned rule against Miconi's on held-out seeds and on a task it was not trained on;
#   5. analyses of the networks both rules produce (PCA, fixed points, CKA/RSA);
#   6. the Miconi-form family discovered on Go/NoGo and on perceptual decisions, and the pruned
#      two-term rule, each held out on 20 seeds;
#   7. the pre-registered paired test of two pruned rules on 100 new seeds (docs/preregistration-recurrent.md);
#   8. its second and third addenda: the pruned rule meta-trained on DNMS and the annealing rule
#      on Go/NoGo (about 1 h each with their held-out tests on 100 more seeds);
#   9. the fourth and fifth addenda: the annealing rule meta-trained on Go/NoGo and DNMS at once, with
#      its held-out tests and the replication on 700 seeds (1 h 40 min).
set -euo pipefail
cd "$(dirname "$0")/.."
ruledsl=${RULEDSL:-"dotnet run --project src/RuleDsl.Cli -c Release --"}
for t in dnms go-nogo perceptual-decision context-integration; do
  $ruledsl learn examples/miconi_$t.experiment --seeds 1-6 --trials 3000 --out results/learn/miconi_$t
done
$ruledsl learn examples/miconi_dnms_paper.experiment --seeds 1-6 --trials 2500 --out results/learn/miconi_dnms_paper
# Runs (or resumes) a discovery experiment whose output folder is results/NAME, then plots it.
discover() {
  if [ -f results/$1/summary.json ]; then echo "$1: done"
  elif [ -d results/$1 ]; then $ruledsl run examples/$1.experiment --resume
  else $ruledsl run examples/$1.experiment; fi
  $ruledsl plot results/$1
}
discover neo_hebbian_discovery
$ruledsl learn examples/neo_hebbian_discovery.experiment examples/miconi_dnms.experiment --seeds 101-106 --trials 3000 --learn-after 0 --out results/learn/heldout_dnms
$ruledsl learn examples/neo_hebbian_discovery.experiment examples/miconi_dnms.experiment --seeds 101-106 --trials 3000 --task go-nogo --learn-after 0 --out results/learn/heldout_gonogo
$ruledsl analyse examples/miconi_dnms.experiment examples/neo_hebbian_discovery.experiment --trials 3000 --out results/analysis
# The Miconi-form family: discovered on Go/NoGo, then on perceptual decisions; held out on 20 seeds.
discover miconi_family_discovery
$ruledsl learn examples/miconi_family_discovery.experiment examples/miconi_go-nogo.experiment --seeds 101-120 --learn-after 0 --out results/learn/family_heldout_gonogo
$ruledsl learn examples/miconi_family_discovery.experiment examples/miconi_go-nogo.experiment --task dnms --seeds 101-112 --learn-after 0 --out results/learn/family_heldout_dnms
discover miconi_family_perceptual
for t in perceptual-decision go-nogo; do
  $ruledsl learn examples/miconi_family_perceptual.experiment examples/miconi_perceptual-decision.experiment --task $t --seeds 101-120 --learn-after 0 --out results/learn/family_perceptual_$t
done
discover miconi_pruned_perceptual
for t in perceptual-decision go-nogo dnms; do
  $ruledsl learn examples/miconi_pruned_perceptual.experiment examples/miconi_perceptual-decision.experiment --task $t --seeds 101-120 --learn-after 0 --out results/learn/pruned_perceptual_$t
done
discover miconi_pruned_gonogo
for t in go-nogo perceptual-decision; do
  $ruledsl learn examples/miconi_pruned_gonogo.experiment examples/miconi_go-nogo.experiment --task $t --seeds 101-120 --learn-after 0 --out results/learn/pruned_gonogo_$t
  $ruledsl learn examples/miconi_pruned_gonogo.experiment examples/miconi_go-nogo.experiment --task $t --seeds 201-260 --learn-after 0 --out results/learn/pruned_gonogo_${t}_201
done
# The pre-registered held-out test (docs/preregistration-recurrent.md): paired by seed, seeds 301–400.
discover miconi_pruned_perceptual8
$ruledsl learn examples/miconi_pruned_perceptual8.experiment examples/miconi_perceptual-decision.experiment --task perceptual-decision --seeds 301-400 --learn-after 0 --out results/learn/prereg_p8_perceptual --resume
$ruledsl learn examples/miconi_pruned_perceptual8.experiment examples/miconi_perceptual-decision.experiment --task go-nogo --seeds 301-400 --learn-after 0 --out results/learn/prereg_p8_gonogo --resume
$ruledsl learn examples/miconi_pruned_gonogo.experiment examples/miconi_go-nogo.experiment --task go-nogo --seeds 301-400 --learn-after 0 --out results/learn/prereg_gonogo_gonogo --resume
$ruledsl learn examples/miconi_pruned_gonogo.experiment examples/miconi_go-nogo.experiment --task dnms --seeds 301-360 --learn-after 0 --out results/learn/prereg_gonogo_dnms --resume
# Exploratory, after H4: the Go/NoGo-trained rule on the one task it had not yet been tested on.
$ruledsl learn examples/miconi_pruned_gonogo.experiment examples/miconi_context-integration.experiment --task context-integration --seeds 501-530 --learn-after 0 --out results/learn/explore_gonogo_context --resume
# The second addendum (docs/preregistration-recurrent.md): the pruned rule meta-trained on DNMS, held out
# on DNMS seeds 601–700 (H5) and on two tasks it was not trained on (H6 Go/NoGo, H7 perceptual decisions).
discover miconi_pruned_dnms
for t in dnms go-nogo perceptual-decision; do
  $ruledsl learn examples/miconi_pruned_dnms.experiment examples/miconi_dnms.experiment --task $t --seeds 601-700 --learn-after 0 --out results/learn/prereg_dnms_$t --resume
done
# The third addendum: Miconi's reward factor opened up ((−R̄)^(1+θ_R)), meta-trained on Go/NoGo over
# 1,000 trials (30 min), held out on seeds 801–900 (H8 Go/NoGo, H9 DNMS, H10 perceptual decisions).
discover miconi_anneal_gonogo
for t in go-nogo dnms perceptual-decision; do
  $ruledsl learn examples/miconi_anneal_gonogo.experiment examples/miconi_go-nogo.experiment --task $t --seeds 801-900 --learn-after 0 --out results/learn/prereg_anneal_$t --resume
done
# The fourth addendum: the annealing rule meta-trained on Go/NoGo and DNMS at once (4 + 4 networks per
# meta-step, 36 min), held out on Go/NoGo seeds 901–1000 (H11), perceptual decisions, a task it never
# saw, on seeds 901–1100 (H12), and DNMS seeds 901–1000 (H13).
discover miconi_anneal_mixed
$ruledsl learn examples/miconi_anneal_mixed.experiment examples/miconi_go-nogo.experiment --task go-nogo --seeds 901-1000 --learn-after 0 --out results/learn/prereg_mixed_go-nogo --resume
$ruledsl learn examples/miconi_anneal_mixed.experiment examples/miconi_go-nogo.experiment --task perceptual-decision --seeds 901-1100 --learn-after 0 --out results/learn/prereg_mixed_perceptual-decision --resume
$ruledsl learn examples/miconi_anneal_mixed.experiment examples/miconi_go-nogo.experiment --task dnms --seeds 901-1000 --learn-after 0 --out results/learn/prereg_mixed_dnms --resume
# The fifth addendum: H12 repeated alone with the same θ on 700 new seeds (H14, 40 min).
$ruledsl learn examples/miconi_anneal_mixed.experiment examples/miconi_go-nogo.experiment --task perceptual-decision --seeds 1101-1800 --learn-after 0 --out results/learn/prereg_mixed_perceptual_1101 --resume
