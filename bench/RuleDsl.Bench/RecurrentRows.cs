using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Bench;

/// <summary>
/// What a recurrent row of `meta` runs, and the guard that refuses a row whose run diverged: its trials per
/// second would time a run that stopped early (neo_hebbian4, timed here before, exploded in learning trial 4
/// and reported more trials/s with tangents than without). The tests link this file.
/// </summary>
public static class RecurrentRows
{
    /// <summary>The rules folder of the repository (the bench and the tests run from inside it).</summary>
    public static string RulesDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "rules", "terms.rule"))) return Path.Combine(dir.FullName, "rules");
        throw new InvalidOperationException("cannot find the repository's rules/ folder above " + AppContext.BaseDirectory);
    }

    /// <summary>Plain learning: Miconi's rule. With tangents: miconi_family (16 θ) at its start θ33 = −1, which is
    /// Miconi's rule exactly, so every column learns alike and differs only by its D tangents; his reward factor
    /// and clip (±3·10⁻⁴ per weight and trial) keep it stable at every N.</summary>
    public static string RuleOf(int directions) => directions == 0 ? "miconi.rule miconi" : "neo_hebbian.rule miconi_family";

    /// <summary>The recurrent experiment `ruledsl run` would build (shipped rnn.model, DNMS, Miconi's
    /// conventions, dt = 5 ms), with N units and a meta-step of <paramref name="horizon"/> learning trials.</summary>
    public static ExperimentSession Session(int units, int horizon, string rule)
    {
        var parts = rule.Split(' ', 2);
        var ruleFile = Path.Combine(RulesDir(), parts[0]);
        var text = $"experiment bench_rnn\n  setting = recurrent\n  rule = {ruleFile} {parts[1]}\n  task = dnms\n" +
                   $"  units = {units}\n  horizon = {horizon}\n  output = unused\n";
        var spec = Experiment.parse(Path.Combine(RulesDir(), "bench.experiment"), text);
        if (spec.IsError) throw new InvalidOperationException(string.Join("\n", spec.ErrorValue.Select(d => d.Message)));
        var checkedRules = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([ruleFile]));
        if (checkedRules.HasErrors) throw new InvalidOperationException(Check.Render(checkedRules));
        return new ExperimentSession(spec.ResultValue, checkedRules.Rules.Single(r => r.Name == parts[1]), text);
    }

    /// <summary>A row's inner loop, θ (the rule's start) and its D random directions (none for plain learning).</summary>
    public static (IInnerLoop Loop, double[] Theta, double[][] Directions) Row(int units, int directions, int horizon, string rule)
    {
        var session = Session(units, horizon, rule);
        var theta = session.Theta.Initial;
        double[][] dirs = directions == 0 ? []
            : Runtime.Meta.Directions.Draw(GradientEstimator.RandomProjection, theta.Length, directions, Runtime.Data.Rng.For(7, 2, 2));
        return (session.LoopFactory()(0), theta, dirs);
    }

    /// <summary>Why a timed run may not be reported, or null: it diverged or produced non-finite numbers.</summary>
    public static string? Judge(EpisodeOutcome outcome) =>
        outcome.Diverged is { } why ? $"the timed run diverged ({why}); its speed would be that of an aborted run" : null;
}
