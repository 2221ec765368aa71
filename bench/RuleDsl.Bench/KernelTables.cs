using System.Globalization;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Reports;

namespace RuleDsl.Bench;

/// <summary>
/// The tables of bench/README.md's "Compiled kernels vs hand-written C#", printed from the BenchmarkDotNet run's
/// own summaries (means in µs) as the blocks scripts/bench-tables.sh splices into the docs (`--kernels`).
/// A benchmark without a result (it threw, or was filtered out) prints no table: the run fails instead.
/// </summary>
static class KernelTables
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    sealed record Cell(string Class, string Method, string Rule, int D, double Scale, double MeanUs);

    /// <summary>Prints every table (the run's start and its load at the start in the header); returns the problems
    /// (a missing or failed benchmark), none when all printed.</summary>
    public static List<string> Print(IEnumerable<Summary> summaries, string command, DateTime started, string startLoad)
    {
        var problems = new List<string>();
        var cells = new List<Cell>();
        foreach (var summary in summaries)
            foreach (var report in summary.Reports)
            {
                var c = report.BenchmarkCase;
                string name = $"{c.Descriptor.Type.Name}.{c.Descriptor.WorkloadMethod.Name} {c.Parameters.PrintInfo}";
                if (!report.Success || report.ResultStatistics is null) { problems.Add($"{name}: no result"); continue; }
                object? Param(string p) => c.Parameters.Items.FirstOrDefault(i => i.Name == p)?.Value;
                cells.Add(new Cell(c.Descriptor.Type.Name, c.Descriptor.WorkloadMethod.Name, (string)Param("Rule")!,
                    Param("D") is int d ? d : 0, Param("Scale") is double s ? s : 1.0,
                    report.ResultStatistics.Mean / 1000));
            }
        double Need(string cls, string method, string rule, int d, double scale = 1.0)
        {
            var v = cells.FirstOrDefault(c => c.Class == cls && c.Method == method && c.Rule == rule && c.D == d && Math.Abs(c.Scale - scale) < 1e-9)?.MeanUs;
            if (v is null) { problems.Add($"{cls}.{method} {rule} D={d} scale {scale}: not run (run with --filter '*')"); return double.NaN; }
            return v.Value;
        }
        string Us(double v) => double.IsNaN(v) ? "—" : v.ToString("F1", Inv);
        string Name(string rule) => rule switch { "f0" => "F0", "pool" => "pool (10 terms)", "neo_hebbian" => "neo-Hebbian (trace step)", _ => rule };
        int[] ds = [0, 1, 3, 10];

        Console.WriteLine("# RuleDsl compiled kernels vs hand-written C# (BenchmarkDotNet)");
        Console.WriteLine();
        Machine.PrintRun("kernels", command, started, startLoad,
            $"BenchmarkDotNet {typeof(Summary).Assembly.GetName().Version?.ToString(3)}, .NET {Environment.Version}, "
            + $"{(Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : "no 256-bit SIMD")}, double precision, "
            + "in process (2 warm-up + 5 iterations of 150 ms; the mean of the 5)");
        Console.WriteLine();

        Console.WriteLine("<!-- table:kernels-vs-hand -->");
        Console.WriteLine("| rule | D | hand µs | compiled µs | speed compiled / hand |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        double worst = double.MaxValue, best = 0;
        foreach (var rule in Program.Rules)
            foreach (var d in ds)
            {
                double hand = Need("StepVsHand", "Hand", rule, d), compiled = Need("StepVsHand", "Compiled", rule, d);
                double speed = hand / compiled;
                if (!double.IsNaN(speed)) { worst = Math.Min(worst, speed); best = Math.Max(best, speed); }
                Console.WriteLine($"| {(d == 0 ? Name(rule) : rule == "pool" ? "pool" : Name(rule).Split(' ')[0])} | {d} | {Us(hand)} | {Us(compiled)} | {(double.IsNaN(speed) ? "—" : speed.ToString("F1", Inv) + "×")} |");
            }
        Console.WriteLine();
        Console.WriteLine(worst >= 0.8
            ? $"Goal \"compiled ≥ 0.8× hand-written\": met for every rule and D in this run ({worst.ToString("F1", Inv)}×–{best.ToString("F1", Inv)}×)."
            : $"Goal \"compiled ≥ 0.8× hand-written\": NOT met in this run (worst {worst.ToString("F2", Inv)}×).");
        Console.WriteLine("<!-- /table:kernels-vs-hand -->");
        Console.WriteLine();

        Console.WriteLine("<!-- table:kernels-paper-theta -->");
        Console.WriteLine("| rule | D = 0 µs | D = 10 µs | D = 10 / F0's D = 0 |");
        Console.WriteLine("|---|---:|---:|---:|");
        double f0Plain = Need("StepAtPaperTheta", "Compiled", "f0", 0);
        foreach (var rule in Program.Rules)
        {
            double d0 = Need("StepAtPaperTheta", "Compiled", rule, 0), d10 = Need("StepAtPaperTheta", "Compiled", rule, 10);
            Console.WriteLine($"| {Name(rule).Split(' ')[0]} | {Us(d0)} | {Us(d10)} | {(d10 / f0Plain).ToString("F1", Inv)}× |");
        }
        double poolPaper = Need("StepAtPaperTheta", "Compiled", "pool", 0), poolDense = Need("StepVsHand", "Compiled", "pool", 0);
        Console.WriteLine();
        Console.WriteLine($"At the paper's θ the ten-term pool's plain step costs {(poolPaper / f0Plain).ToString("F2", Inv)}× plain F0's "
            + $"(with every θ non-zero, `StepVsHand`: {(poolDense / Need("StepVsHand", "Compiled", "f0", 0)).ToString("F1", Inv)}× F0's): terms whose θ is 0 cost nothing. "
            + "The last column is one BenchmarkDotNet mean each, F0's and the pool's not in turn; `rnn-peers` times issue 19's row in turn.");
        Console.WriteLine("<!-- /table:kernels-paper-theta -->");
        Console.WriteLine();

        Console.WriteLine("<!-- table:kernels-scaling -->");
        Console.WriteLine("| n·m | F0, D=0 µs | pool, D=0 µs | F0, D=10 µs | pool, D=10 µs |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var scale in new[] { 1.0, 1.4142, 2.0 })
        {
            long nm = NetworkStep.SynapseCount(scale);
            Console.WriteLine($"| {nm.ToString("N0", Inv)} | {Us(Need("StepScaling", "Compiled", "f0", 0, scale))} | {Us(Need("StepScaling", "Compiled", "pool", 0, scale))} | "
                + $"{Us(Need("StepScaling", "Compiled", "f0", 10, scale))} | {Us(Need("StepScaling", "Compiled", "pool", 10, scale))} |");
        }
        Console.WriteLine("<!-- /table:kernels-scaling -->");
        Console.WriteLine();

        Console.WriteLine("<!-- table:kernels-backends -->");
        Console.WriteLine("| rule | D | Linq `Compile()` µs | FastExpressionCompiler µs | Fast / Linq |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var rule in new[] { "f0", "pool" })
            foreach (var d in new[] { 0, 10 })
            {
                double linq = Need("Backends", "Linq", rule, d), fast = Need("Backends", "Fast", rule, d);
                Console.WriteLine($"| {Name(rule).Split(' ')[0]} | {d} | {Us(linq)} | {Us(fast)} | {(fast / linq).ToString("F2", Inv)} |");
            }
        Console.WriteLine("<!-- /table:kernels-backends -->");
        Console.WriteLine();
        Console.WriteLine($"# load average at end: {MetaBench.LoadAverage()}");
        return problems;
    }
}
