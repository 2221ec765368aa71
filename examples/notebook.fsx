// RuleDsl from F# Interactive: a rule written inline, derived, checked, run, plotted.
// Run it with `dotnet fsi examples/notebook.fsx` (docs/library.md says where the package comes from);
// examples/notebook.ipynb holds the same cells for a .NET Interactive (Polyglot) notebook.
// Each section below (a line `// ---- NAME`) is one notebook cell; a test keeps the two equal.

// ---- Reference the library
#r "nuget: RuleDsl, 0.1.0"
open System.Threading
open RuleDsl

// ---- Write a rule as a string
// Feedback alignment's update (F0, with θ0 the learning rate) and a Hebbian error term F2.
let ruleText = """
rule mine : feedforward
  param theta0 = 1e-3
  param theta1 = 0
  dW = -theta0 * outer(e_post, y_pre) + theta1 * outer(e_post, e_pre)
"""
// A mistake comes back as located problems, never as an exception:
let wrong = Rules.ParseOne(ruleText.Replace("outer(e_post, e_pre)", "outer(e_pre, y_pre)"), path = "mine.rule")
printfn "ok: %b\n%s" wrong.Ok wrong.Report
let rule = Rules.ParseOne(ruleText, path = "mine.rule").Get()

// ---- Derive
// Every sensitivity, simplified: ∂ΔW/∂θ and the tangent equation δ(ΔW), each naming its source line.
let derivation = Rules.Derive rule
printfn "%s" derivation.Text
// The same equations as data: expression, text and LaTeX (to paste into a paper).
for eq in derivation.Equations do
    let name = match eq.Wrt with null -> $"δ({eq.Target})" | w -> $"∂{eq.Target}/∂{w}"
    printfn "%s = %s" name eq.Latex

// ---- Check
// Every derivative against central differences at random points (double precision), as data.
let table = Rules.Check rule
for row in table.Rows do
    printfn "%-14s rel. error %s  %s" row.Target (row.RelError.ToString "0.0e+00") (if row.Passed then "pass" else "FAIL")
printfn "all passed: %b" table.Passed

// ---- Run a short experiment
// The experiment names the rule by the path it was given above; the data is the Fashion-MNIST subset
// inside the package. 2 trials × 10 episodes: a few seconds.
let experimentText = """
experiment notebook
  rule      = mine.rule mine
  setting   = feedforward
  layers    = 784 170 130 100 70 5
  feedback  = fa
  data      = fashion-mnist:subset
  classes   = 5
  train     = 50
  query     = 10
  episodes  = 10
  trials    = 2
  seed      = 1
  output    = results/notebook
"""
let experiment = Experiments.Parse(experimentText, readOnlyDict [ ("mine.rule", ruleText) ]).Get()
printfn "%O" experiment
if System.IO.Directory.Exists experiment.Output then System.IO.Directory.Delete(experiment.Output, true)
let cancel = new CancellationTokenSource()
let summary =
    Experiments.Run(experiment, (fun (p: Runtime.Experiments.Progress) ->
        printfn "  [%d/%d] trial %d episode %d: accuracy %.1f %%" p.Done p.Total p.Trial p.Episode (100.0 * p.Accuracy)), cancel.Token).Get()
printfn "final accuracy: %.2f %% ± %.2f %%" (100.0 * summary.FinalAccuracyMean) (100.0 * summary.FinalAccuracySd)
printfn "discovered rule: %s" summary.Discovered

// ---- Read the results
// episodes.csv as records (docs/results-format.md lists every column), summary.json as a record.
let run = Results.Open(experiment.Output).Get()
printfn "%d episodes, θ columns %s" run.Episodes.Count (String.concat ", " run.ThetaNames)
let last = run.Episodes |> Seq.filter (fun e -> e.Trial = 0) |> Seq.last
printfn "trial 0, last episode: meta-loss %.4f, theta0 %.5f" last.MetaLoss last.Theta.["theta0"]

// ---- Plot
// The standard figures (accuracy and meta-loss with bands over trials, θ trajectories, angles) as PNG.
for file in Results.Plot(experiment.Output).Get() do
    printfn "wrote %s" file
