namespace RuleDsl.Semantics

open System
open RuleDsl.Syntax

/// The commented starting points `ruledsl new rule|experiment NAME` writes: each checks and runs as
/// written (the experiment names a rule of the standard library, so it runs from any folder).
module Templates =
    /// A name a rule or experiment may have: a letter or _, then letters, digits and _.
    [<CompiledName "IsValidName">]
    let isValidName (name: string) =
        name <> "" && (Char.IsAsciiLetter name.[0] || name.[0] = '_') && name |> Seq.forall (fun c -> Char.IsAsciiLetterOrDigit c || c = '_')

    /// A rule of the setting, named `name`, with two coefficients θ and comments saying what each line is.
    [<CompiledName "Rule">]
    let rule (name: string) (setting: Setting) : string =
        match setting with
        | Setting.Feedforward ->
            $"""# {name}.rule: a plasticity rule for deep feedforward networks learning online through feedback
# (docs/language.md). Check it, and see every derivative verified numerically:
#   ruledsl check {name}.rule        ruledsl derive {name}.rule
# Run it: `ruledsl new experiment {name}`, then `rule = {name}.rule {name}` in {name}.experiment.

# The ten candidate terms F[0] … F[9] of Shervani-Tabar & Rosenbaum (2023), from ruledsl's standard library.
include "std/terms.rule"

rule {name} : feedforward
  # θ: the coefficients meta-learning tunes, each with its initial value (`min 0` or `max 0` bound one).
  param theta0 = 1e-3
  param theta2 = 0
  # The update of W (post × pre): F[0] = -outer(e_post, y_pre) is feedback alignment's pseudo-gradient,
  # F[2] = -outer(e_post, e_pre) a Hebbian error term. `ruledsl vars` lists what a rule may read.
  dW = theta0 * F[0] + theta2 * F[2]
"""
        | Setting.Recurrent ->
            $"""# {name}.rule: a three-factor plasticity rule for rate RNNs learning from delayed reward
# (docs/language.md). Check it, and see every derivative verified numerically:
#   ruledsl check {name}.rule        ruledsl derive {name}.rule
# Run it: `ruledsl new experiment {name} --setting recurrent`, then `rule = {name}.rule {name}` there.

rule {name} : recurrent
  # θ: the coefficients meta-learning tunes, each with its initial value.
  param theta0 = 1
  param theta1 = 0
  # A fixed learning rate (const: not meta-learned).
  const eta = 1e-3
  # The eligibility trace, a continuous one (E' = …: low-pass filtered over a trial): Hebbian
  # co-fluctuation of the postsynaptic state around its average with the presynaptic rate, and the
  # fluctuation alone. `ruledsl vars` lists what a rule may read.
  trace E' = theta0 * outer(x - xbar, r) + theta1 * outer(x - xbar, ones_pre)
  # The third factor: the reward of the trial against its running average.
  dW = eta * E * (R - Rbar)
"""

    /// An experiment of the setting, named `name`, meta-learning a rule of the standard library.
    [<CompiledName "Experiment">]
    let experiment (name: string) (setting: Setting) : string =
        match setting with
        | Setting.Feedforward ->
            $"""# {name}.experiment: meta-learn a rule's θ (docs/experiments.md; every setting: `ruledsl settings`).
#   ruledsl run {name}.experiment --check     (check it)       ruledsl run {name}.experiment
#   ruledsl plot results/{name}
experiment {name}
  setting  = feedforward
  # The rule file and the rule in it: feedback alignment from the standard library. Your own rule:
  # `ruledsl new rule {name}`, then `rule = {name}.rule {name}`.
  rule     = std/fa.rule fa
  # The network, input first (784 pixels) to one unit per class; feedback alignment (fa), backprop
  # (bp) or direct feedback alignment (dfa).
  layers   = 784 170 130 100 70 5
  feedback = fa
  # Episodes: 5-way tasks from the Fashion-MNIST subset shipped with ruledsl, 50 training and 10
  # query images per class.
  data     = fashion-mnist:subset
  classes  = 5
  train    = 50
  query    = 10
  # Meta-learning: episodes per trial, independent trials (in parallel), Adam's learning rate.
  episodes = 30
  trials   = 2
  seed     = 1
  lr       = 0.001
  output   = results/{name}
"""
        | Setting.Recurrent ->
            $"""# {name}.experiment: meta-learn a recurrent rule's θ (docs/experiments.md; every setting: `ruledsl settings`).
#   ruledsl run {name}.experiment --check     (check it)       ruledsl run {name}.experiment
#   ruledsl plot results/{name}
experiment {name}
  setting  = recurrent
  # The rule file and the rule in it: the neo-Hebbian family from the standard library. Your own
  # rule: `ruledsl new rule {name} --setting recurrent`, then `rule = {name}.rule {name}`.
  rule     = std/neo_hebbian.rule neo_hebbian
  # The task (dnms, perceptual-decision, context-integration, go-nogo; docs/tasks.md) and the network.
  task     = dnms
  units    = 50
  # Meta-learning: each episode is a fresh network learning over `horizon` trials.
  horizon  = 20
  episodes = 10
  trials   = 2
  lr       = 0.01
  output   = results/{name}
"""
