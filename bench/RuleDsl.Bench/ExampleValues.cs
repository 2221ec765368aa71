using RuleDsl.Syntax;
using System.Globalization;
using Microsoft.FSharp.Core;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;

namespace RuleDsl.Bench;

/// <summary>`examples-values`: every experiment in examples/ at its reduced size (<see cref="ReducedSize"/>),
/// one episode of its inner loop at its initial θ with the exact tangents of every θ: the objective,
/// every directional derivative and every metric in round-trip format. `diff` two outputs to show that
/// a change of the engine left every number bit-identical, in both settings, for every rule and task
/// the examples use.</summary>
static class ExampleValues
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Print()
    {
        var root = Path.GetDirectoryName(RecurrentRows.RulesDir())!;
        var files = Directory.GetFiles(Path.Combine(root, "examples"), "*.experiment", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();
        int failed = 0;
        foreach (var file in files)
        {
            var path = Path.Combine(root, file);
            var text = ReducedSize.Text(File.ReadAllText(path), path);
            var disk = FileSystemModule.disk;
            var fs = new FileSystem(FuncConvert.FromFunc<string, FSharpOption<string>?>(p => Path.GetFullPath(p) == path ? FSharpOption<string>.Some(text) : disk.Read.Invoke(p)), disk.List);
            var loaded = ExperimentInput.Load(fs, path);
            if (!loaded.IsOk) { Console.Error.WriteLine($"{file}: {ProblemsModule.Render(loaded.ErrorValue)}"); failed++; continue; }
            var session = ExperimentSession.Of(loaded.ResultValue);
            var theta = session.Theta.Initial;
            var unit = Directions.Draw(GradientEstimator.Exact, theta.Length, 0, new RuleDsl.Runtime.Data.Rng(0));
            var o = session.LoopFactory()(0).Run(theta, unit, 0, default);
            Console.WriteLine($"{file}: {o.Objective.ToString("R", Inv)} [{string.Join(", ", o.Directional.Select(x => x.ToString("R", Inv)))}] "
                + string.Join(" ", o.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value.ToString("R", Inv)}")) + $" {o.Failure}");
        }
        return failed == 0 ? 0 : 1;
    }
}
