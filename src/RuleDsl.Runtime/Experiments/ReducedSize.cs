using Microsoft.FSharp.Collections;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Experiments;

/// <summary>An experiment's text with its size settings made small and everything else as written
/// (its rule, model, feedback, task and seed): what the examples' gradient-check test and the bench's
/// `examples-values` dump run, so that every shipped experiment is exercised in seconds. The settings are
/// written the way `--set KEY=VALUE` writes them (<see cref="ExperimentOverrides"/>), from the typed spec.</summary>
public static class ReducedSize
{
    public static string Text(string text, string file = "reduced.experiment")
    {
        var parsed = Experiment.parse(file, text);
        if (parsed.IsError) throw new ArgumentException($"{file}: not an experiment: {parsed.ErrorValue.Head.Message}");
        var spec = parsed.ResultValue;
        string[] sets = spec.Setting.IsRecurrent
            ? [
                // 12 units: enough for every shipped choice of bias units (Miconi's are 1 10 11).
                "units=12",
                // Enough learning trials for the per-condition reward baselines to make the rule's ΔW non-zero.
                "horizon=10",
                "learn_after=0",
            ]
            : [
                "layers=" + string.Join(" ", spec.Layers.Select((n, i) => i == 0 || i == spec.Layers.Length - 1 ? n : 6)),
                "data=" + (spec.Data.StartsWith("mnist", StringComparison.Ordinal) ? "mnist:subset" : "fashion-mnist:subset"),
                "train=2",
                "query=2",
            ];
        var written = ExperimentOverrides.Apply(text, ListModule.OfSeq(sets));
        if (written.IsError) throw new ArgumentException($"{file}: cannot reduce: {written.ErrorValue.Head.Message}");
        return written.ResultValue.Item1;
    }
}
