using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        // A bad option value or an unwritable file is a message and exit 2, not a stack trace.
        try { return Run(args); }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 2;
        }
    }

    static int Run(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "verify":
                return Verify();
            case "meta":
                return MetaBench.Tables(args.Skip(1).ToArray());
            case "ff-values":
                return MetaBench.FeedforwardValues();
            case "examples-values":
                return ExampleValues.Print();
            case "ff-one":
                return MetaBench.FeedforwardOne(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]), args[6], args.Contains("--all-terms"));
            case "ff-fuse-ab":
                return MetaBench.FeedforwardFuseAB(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]));
            case "rnn-speed":
                return RecurrentSpeed.Run(args.Skip(1).ToArray());
            case "block-matvec":
                return BlockMatVec.Run(args.Skip(1).ToArray());
            case "rnn-one":
                return MetaBench.RecurrentOne(int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3]), args.Length > 4 ? args[4] : null);
            case "rnn-dump":
                return StreamDump.Command(args.Skip(1).ToArray());
            case "rnn-peers":
                return RecurrentPeers.Run(args.Skip(1).ToArray());
            case "rnn-peer-one":
                return RecurrentPeers.EngineOne(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), args[3]);
            case "quick":
                Quick(args.Skip(1).ToArray());
                return 0;
            case "ratio":
                Ratio(args.Skip(1).ToArray());
                return 0;
            case "ratio-parts":
                return RatioParts.Run(args.Skip(1).ToArray());
            case "compile":
                CompileTimes();
                return 0;
            case "plan":
                Console.WriteLine(NetworkStep.Compile(NetworkStep.RuleByName(args[1]), int.Parse(args[2])).Plan);
                return 0;
        }
        if (Verify() != 0) return 1;
        // When and under what load the run started (the tables are printed after it).
        var (started, startLoad) = (DateTime.UtcNow, MetaBench.LoadAverage());
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new ShortConfig()).ToList();
        // `--filter '*'` runs every class: then the docs' tables are printed from the run (bench-tables.sh --kernels).
        if (!args.SequenceEqual(["--filter", "*"])) return 0;
        var problems = KernelTables.Print(summaries, "dotnet run -c Release --project bench/RuleDsl.Bench -- --filter '*'", started, startLoad);
        foreach (var p in problems) Console.Error.WriteLine($"bench: {p}");
        return problems.Count == 0 ? 0 : 1;
    }

    /// <summary>Few iterations, in process (no per-benchmark project build): the whole run stays under ~10 min.</summary>
    sealed class ShortConfig : ManualConfig
    {
        public ShortConfig()
        {
            AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(5)
                .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(150)));
            AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
            AddColumnProvider(BenchmarkDotNet.Columns.DefaultColumnProviders.Instance);
            AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
            AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
    }

    public static readonly string[] Rules = ["f0", "bio", "pool", "neo_hebbian"];

    /// <summary>The hand-written steps and the compiled kernels compute the same thing (else the ratio means nothing).</summary>
    static int Verify()
    {
        int bad = 0;
        foreach (var rule in Rules)
            foreach (var d in new[] { 0, 1, 3, 10 })
                foreach (var mode in new[] { ThetaMode.Paper, ThetaMode.Dense })
                {
                    var compiled = new NetworkStep(rule, d, mode, 0.5, handWritten: false, seed: 7);
                    var hand = new NetworkStep(rule, d, mode, 0.5, handWritten: true, seed: 7);
                    compiled.RunCompiled();
                    hand.RunHand();
                    for (int l = 0; l < compiled.Layers.Count; l++)
                        for (int s = 0; s < compiled.Layers[l].Arrays.Length; s++)
                        {
                            var a = compiled.Layers[l].Arrays[s]!;
                            var b = hand.Layers[l].Arrays[s]!;
                            double diff = 0, scale = 1e-300;
                            for (int q = 0; q < a.Length; q++)
                            {
                                diff = Math.Max(diff, Math.Abs(a[q] - b[q]));
                                scale = Math.Max(scale, Math.Abs(b[q]));
                            }
                            if (!(diff <= 1e-10 * scale))
                            {
                                bad++;
                                Console.WriteLine($"MISMATCH {rule} D={d} {mode} layer {l} {compiled.Kernel.Layout.ArraySymbols[s].Name}: {diff:E2} (scale {scale:E2})");
                            }
                        }
                }
        Console.WriteLine(bad == 0 ? "verify: compiled kernels equal the hand-written steps (1e-10)" : $"verify: {bad} mismatches");
        return bad == 0 ? 0 : 1;
    }

    /// <summary>A rough stopwatch table (for development; the figures to report come from BenchmarkDotNet).</summary>
    static void Quick(string[] args)
    {
        var rules = args.Length > 0 ? args : Rules;
        Console.WriteLine($"{"rule",-12} {"D",3} {"theta",-6} {"hand µs",10} {"compiled µs",12} {"ratio",6}");
        foreach (var rule in rules)
            foreach (var d in new[] { 0, 1, 3, 10 })
                foreach (var mode in new[] { ThetaMode.Dense, ThetaMode.Paper })
                {
                    var hand = new NetworkStep(rule, d, mode, 1, handWritten: true);
                    var comp = new NetworkStep(rule, d, mode, 1, handWritten: false);
                    double th = Time(hand.RunHand), tc = Time(comp.RunCompiled);
                    Console.WriteLine($"{rule,-12} {d,3} {mode,-6} {th,10:F1} {tc,12:F1} {th / tc,6:F2}");
                }
    }

    /// <summary>`--precision float32|float64` (default float64) among a command's arguments.</summary>
    internal static bool Float32(string[] args)
    {
        int i = Array.IndexOf(args, "--precision");
        if (i < 0) return false;
        return (i + 1 < args.Length ? args[i + 1] : "") switch
        {
            "float64" => false,
            "float32" => true,
            var v => throw new ArgumentException($"--precision takes float32 or float64, not '{v}'"),
        };
    }

    /// <summary>Pool with 10 tangents over plain F0, at four network scales (stopwatch), both sides in one
    /// precision. In float32 it first checks that the float32 step computes the float64 step's update.</summary>
    static void Ratio(string[] args)
    {
        bool f32 = Float32(args);
        if (f32) PrintDifference();
        Console.WriteLine($"precision {(f32 ? "float32" : "float64")}");
        Console.WriteLine($"{"scale",6} {"n·m",9} {"F0 µs",9} {"pool10 paper µs",16} {"ratio",6} {"pool10 dense µs",16} {"ratio",6}");
        foreach (var scale in new[] { 0.5, 1.0, 1.4142, 2.0 })
        {
            var f0 = new NetworkStep("f0", 0, ThetaMode.Paper, scale, handWritten: false);
            var pp = new NetworkStep("pool", 10, ThetaMode.Paper, scale, handWritten: false);
            var pd = new NetworkStep("pool", 10, ThetaMode.Dense, scale, handWritten: false);
            double t0 = Time(NetworkStep32.Runner(f0, f32)), t1 = Time(NetworkStep32.Runner(pp, f32)), t2 = Time(NetworkStep32.Runner(pd, f32));
            Console.WriteLine($"{scale,6} {NetworkStep.SynapseCount(scale),9} {t0,9:F1} {t1,16:F1} {t1 / t0,6:F1} {t2,16:F1} {t2 / t0,6:F1}");
        }
    }

    /// <summary>The float32 figures are of the float64 step's work only if they compute the same update.</summary>
    internal static void PrintDifference()
    {
        foreach (var (rule, d, mode) in new[] { ("f0", 0, ThetaMode.Paper), ("pool", 10, ThetaMode.Paper), ("pool", 10, ThetaMode.Dense) })
        {
            var (update, state, arrays) = NetworkStep32.Difference(rule, d, mode);
            // The change alone is compared less finely: W + ΔW in float keeps ΔW only to ulp(W)/|ΔW|.
            Console.WriteLine($"float32 vs float64, one step of {rule} D={d} {mode} from the same state: the {arrays} arrays written (W, U_d) "
                + $"differ by at most {state:E1} of their largest magnitude (their change alone: {update:E1} of its largest)");
        }
    }

    internal static double Time(Action a)
    {
        for (int w = 0; w < 5; w++) a();
        return BestWindow(a, 7);
    }

    /// <summary>µs per call of a: the mean over a 60 ms window, the fastest of <paramref name="windows"/>.</summary>
    static double BestWindow(Action a, int windows)
    {
        double best = double.MaxValue;
        for (int rep = 0; rep < windows; rep++)
        {
            var sw = Stopwatch.StartNew();
            int n = 0;
            while (sw.ElapsedMilliseconds < 60) { a(); n++; }
            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / n);
        }
        return best;
    }

    /// <summary>Two steps timed in turn over <paramref name="rounds"/> rounds (each round: the faster of two
    /// 60 ms windows of a, then of b), so that both see the host as it is at the time: the medians of a and
    /// of b, and b / a of each round, sorted (a host that leaves less bandwidth slows a memory-bound step
    /// only, and then the rounds spread).</summary>
    internal static (double A, double B, double[] Ratios) TimeInterleaved(Action a, Action b, int rounds = 9)
    {
        for (int w = 0; w < 5; w++) { a(); b(); }
        var ta = new double[rounds];
        var tb = new double[rounds];
        var ratios = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            ta[r] = BestWindow(a, 2);
            tb[r] = BestWindow(b, 2);
            ratios[r] = tb[r] / ta[r];
        }
        Array.Sort(ta); Array.Sort(tb); Array.Sort(ratios);
        return (ta[rounds / 2], tb[rounds / 2], ratios);
    }

    static void CompileTimes()
    {
        Console.WriteLine($"{"rule",-12} {"D",3} {"spec ms",8} {"lower ms",9} {"Linq ms",9} {"Fast ms",9} {"backend used",-12}");
        foreach (var rule in Rules)
            foreach (var d in new[] { 0, 10 })
            {
                var r = NetworkStep.RuleByName(rule);
                var sw = Stopwatch.StartNew();
                var spec = RuleKernels.Spec(r, NetworkStep.KindOf(r), d, ["dt"]);
                double specMs = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                foreach (var o in spec.Outputs) RuleDsl.Symbolic.Lower.lower(o.Value);
                double lowerMs = sw.Elapsed.TotalMilliseconds;
                KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Linq); // warm the compilers
                KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Fast);
                var linq = KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Linq).Value;
                var fast = KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Fast).Value;
                Console.WriteLine($"{rule,-12} {d,3} {specMs,8:F1} {lowerMs,9:F1} {linq.CompileTime.TotalMilliseconds,9:F1} {fast.CompileTime.TotalMilliseconds,9:F1} {fast.Backend,-12}");
            }
    }
}

/// <summary>
/// One plasticity step of a rule over every layer of the paper's network (784-170-130-100-70-5),
/// with D tangent directions: compiled kernel vs the hand-written step (the baseline; ratio column).
/// θ and directions dense (nothing skippable): the compiled code gets no help from zeros.
/// </summary>
public class StepVsHand
{
    [Params("f0", "bio", "pool", "neo_hebbian")] public string Rule = "f0";
    [Params(0, 1, 3, 10)] public int D;

    NetworkStep hand = null!, compiled = null!;

    [GlobalSetup]
    public void Setup()
    {
        hand = new NetworkStep(Rule, D, ThetaMode.Dense, 1, handWritten: true);
        compiled = new NetworkStep(Rule, D, ThetaMode.Dense, 1, handWritten: false);
    }

    [Benchmark(Baseline = true)] public void Hand() => hand.RunHand();
    [Benchmark] public void Compiled() => compiled.RunCompiled();
}

/// <summary>The compiled step at the paper's starting θ (θ0 only, unit directions): zero terms skipped.</summary>
public class StepAtPaperTheta
{
    [Params("f0", "bio", "pool", "neo_hebbian")] public string Rule = "f0";
    [Params(0, 10)] public int D;

    NetworkStep compiled = null!;

    [GlobalSetup]
    public void Setup() => compiled = new NetworkStep(Rule, D, ThetaMode.Paper, 1, handWritten: false);

    [Benchmark] public void Compiled() => compiled.RunCompiled();
}

/// <summary>Time per step as the network's widths grow by √2 (synapse count n·m doubling).</summary>
public class StepScaling
{
    [Params("f0", "pool")] public string Rule = "f0";
    [Params(0, 10)] public int D;
    [Params(1.0, 1.4142, 2.0)] public double Scale = 1;

    NetworkStep compiled = null!;

    [GlobalSetup]
    public void Setup() => compiled = new NetworkStep(Rule, D, ThetaMode.Dense, Scale, handWritten: false);

    [Benchmark] public void Compiled() => compiled.RunCompiled();
}

/// <summary>System.Linq.Expressions' Compile() vs FastExpressionCompiler's CompileFast(): run time of the delegates.</summary>
public class Backends
{
    [Params("f0", "pool")] public string Rule = "f0";
    [Params(0, 10)] public int D;

    NetworkStep linq = null!, fast = null!;

    [GlobalSetup]
    public void Setup()
    {
        linq = new NetworkStep(Rule, D, ThetaMode.Dense, 1, handWritten: false, CompilerBackend.Linq);
        fast = new NetworkStep(Rule, D, ThetaMode.Dense, 1, handWritten: false, CompilerBackend.Fast);
    }

    [Benchmark(Baseline = true)] public void Linq() => linq.RunCompiled();
    [Benchmark] public void Fast() => fast.RunCompiled();
}
