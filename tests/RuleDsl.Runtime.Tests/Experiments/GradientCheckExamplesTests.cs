using Microsoft.FSharp.Core;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Experiments;

/// `ruledsl gradcheck` with its default options on every experiment shipped in examples/, each at a
/// reduced size (narrower layers, fewer samples and learning trials, the shipped data subsets) but
/// with its own rule, model, feedback, task and seed: a correct tangent passes wherever it is, and a
/// wrong one fails.
public class GradientCheckExamplesTests
{
    /// The session of <paramref name="file"/> (relative to the repository) at its reduced size.
    static ExperimentSession Load(string file)
    {
        var path = Path.Combine(Repo.Root, file);
        var text = ReducedSize.Text(File.ReadAllText(path), path);
        var disk = FileSystemModule.disk;
        var fs = new FileSystem(FuncConvert.FromFunc<string, FSharpOption<string>?>(p => Path.GetFullPath(p) == path ? FSharpOption<string>.Some(text) : disk.Read.Invoke(p)), disk.List);
        var loaded = ExperimentInput.Load(fs, path);
        Assert.True(loaded.IsOk, loaded.IsOk ? "" : ProblemsModule.Render(loaded.ErrorValue));
        return ExperimentSession.Of(loaded.ResultValue);
    }

    /// What the reduced inner loop reads: experiments equal in all of it run the same gradient check.
    static string LoopKey(ExperimentSession s)
    {
        var x = s.Spec;
        return string.Join("|", Path.GetFullPath(Path.Combine(Path.GetDirectoryName(x.File)!, x.RuleFile)), x.RuleName, string.Join(",", x.LayerRules),
            x.ModelFile == "" ? "" : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(x.File)!, x.ModelFile)), x.Setting,
            string.Join(" ", x.Layers), x.Feedback, x.Beta, x.Data, x.Classes, x.Train, x.Query, string.Join(" ", x.Tasks), x.Units, x.Horizon,
            x.LearnAfter, x.Gamma, x.Tau, x.Dt, x.Seed, x.Batch, x.Backend, x.Average, x.Readout, string.Join(" ", x.BiasUnits));
    }

    [Fact]
    public void Every_shipped_experiment_passes_the_default_gradient_check()
    {
        var root = Repo.Root;
        var files = Directory.GetFiles(Path.Combine(root, "examples"), "*.experiment", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();
        Assert.True(files.Length > 50, $"{files.Length} experiments found");
        var seen = new HashSet<string>();
        var failures = new List<string>();
        foreach (var file in files)
        {
            var session = Load(file);
            if (!seen.Add(LoopKey(session))) continue;
            var all = session.GradientCheck(0);
            // A meta-gradient that is all zeros would check nothing.
            if (all.Count > 0 && all.All(r => r.Tangent == 0)) failures.Add($"{file}: every meta-gradient is 0 at the reduced size");
            foreach (var row in all.Where(r => !r.Pass))
                failures.Add($"{file} {row.Name}: tangent {row.Tangent:G9}, finite difference {row.FiniteDifference:G9} at step {row.Step:G1}, " +
                             $"rel. error {row.RelativeError:G3}, estimate's error {row.ErrorEstimate:G3}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// The episode of another loop with its tangent of one θ off by a relative 1e-4.
    sealed class CorruptedTangent(IInnerLoop inner, int index) : IInnerLoop
    {
        public int ParameterCount => inner.ParameterCount;
        public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
        {
            var o = inner.Run(theta, directions, episode, cancel);
            var directional = o.Directional.ToArray();
            if (directional.Length > index) directional[index] *= 1 + 1e-4;
            return o with { Directional = directional };
        }
    }

    [Fact]
    public void The_default_gradient_check_passes_the_true_tangent_and_fails_one_off_by_a_ten_thousandth()
    {
        // neo_hebbian_meta: θ whose meta-gradients are a thousandth of the others' (the ones a single
        // default step used to fail), θ[2,2] among them.
        var session = Load("examples/neo_hebbian_meta.experiment");
        int index = Array.IndexOf(session.Theta.Names, "theta[2,2]");
        var rows = Runtime.Meta.GradientCheck.Run(session.LoopFactory()(0), session.Theta.Initial, session.Theta.Names);
        Assert.All(rows, r => Assert.True(r.Pass, $"{r.Name}: rel. error {r.RelativeError:G3}, estimate's error {r.ErrorEstimate:G3}"));
        var wrong = Runtime.Meta.GradientCheck.Run(new CorruptedTangent(session.LoopFactory()(0), index), session.Theta.Initial, session.Theta.Names);
        Assert.False(wrong[index].Pass, $"rel. error {wrong[index].RelativeError:G3}, estimate's error {wrong[index].ErrorEstimate:G3}");
        Assert.All(wrong.Where(r => r.Index != index), r => Assert.True(r.Pass));
    }
}
