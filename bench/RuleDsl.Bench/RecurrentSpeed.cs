using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Bench;

/// <summary>
/// `rnn-speed`: the recurrent engine's speed, before and after its fast paths, in one run on one thread.
/// Miconi's learner at his settings (examples/miconi_dnms_paper.experiment: N = 200, dt = 1 ms) in
/// trials per second, and the exact meta-gradient of the 3×3 neo-Hebbian family (N = 100, dt = 5 ms,
/// H learning trials, 9 tangents) in seconds. "before" runs the learner with its fast paths switched off
/// (<see cref="RecurrentSpeedups.None"/>), "after" with the defaults; both must give the same J (and
/// gradient) or the bench fails, so the ratio compares equal work.
/// A second table times the same runs (fast paths on) in float32 against float64 (<c>precision = float32</c>),
/// with how far float32's J, gradient and weights are from float64's.
/// Options: --trials N (Miconi trials timed, default 200), --horizons 40,200, --quick (fewer trials),
/// --no-miconi, --no-gradient, --no-roofline, --no-float32, --factored-tangents ("after" defers the trace tangents too),
/// --block ("before" is the defaults less the tangent block: one kernel per direction), --rule miconi_family (the
/// gradient row's rule from rules/neo_hebbian.rule, one tangent per θ: miconi_family has 16).
/// </summary>
public static class RecurrentSpeed
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static bool FactoredTangents, BlockOnly;
    static string GradientRule = "neo_hebbian";

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        FactoredTangents = args.Contains("--factored-tangents");
        BlockOnly = args.Contains("--block");
        GradientRule = StringOption(args, "--rule", "neo_hebbian");
        int trials = IntOption(args, "--trials", quick ? 60 : 200);
        var horizons = StringOption(args, "--horizons", quick ? "10" : "40,200").Split(',').Select(int.Parse).ToArray();
        int failed = 0;
        Console.WriteLine($"# RuleDsl recurrent speed — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, one thread");
        Console.WriteLine($"# load average at start: {Load()}");
        Console.WriteLine();
        Console.WriteLine("Times are the timing thread's CPU time (the fastest of 3 runs each, before and after alternating), wall time in brackets.");
        Console.WriteLine();
        Console.WriteLine("| run | before | after | speed-up | alloc before | alloc after | same numbers |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        if (!args.Contains("--no-miconi")) failed += Miconi(trials);
        if (!args.Contains("--no-gradient")) foreach (int h in horizons) failed += NeoHebbian(h);
        if (!args.Contains("--no-float32")) Float32Table(trials, horizons, args);
        Console.WriteLine();
        Console.WriteLine($"# peak RSS {MetaBench.PeakRss() / 1e6:F0} MB; load average at end: {Load()}");
        if (!args.Contains("--no-roofline")) Roofline(200);
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Miconi's learner at his settings, plain learning: trials per second, before and after.</summary>
    static int Miconi(int trials)
    {
        var session = PaperSession(trials);
        var (before, after) = Pair(Learner(session, RecurrentSpeedups.None), Learner(session, RecurrentSpeedups.Default), [], []);
        return Row($"Miconi DNMS, N = 200, dt = 1 ms, {trials} trials (trials/s)", before, after, trials, perSecond: true);
    }

    /// <summary>The 3×3 neo-Hebbian family's exact meta-gradient (9 tangents) over H learning trials.</summary>
    static int NeoHebbian(int horizon)
    {
        var (session, theta, dirs) = NeoHebbianRow(horizon);
        var fast = FactoredTangents ? RecurrentSpeedups.Default with { FactoredTangents = true } : RecurrentSpeedups.Default;
        var plain = BlockOnly ? fast with { BlockTangents = false } : RecurrentSpeedups.None;
        var (before, after) = Pair(Learner(session, plain), Learner(session, fast), theta, dirs);
        return Row($"{GradientLabel} exact gradient ({dirs.Length} tangents), N = 100, H = {horizon} (s)", before, after, horizon, perSecond: false);
    }

    /// <summary>The neo-Hebbian family's session, θ and its 9 unit directions.</summary>
    static (ExperimentSession Session, double[] Theta, double[][] Directions) NeoHebbianRow(int horizon)
    {
        var session = RecurrentRows.Session(100, horizon, "neo_hebbian.rule " + GradientRule);
        var theta = session.Theta.Initial;
        // Away from the origin so that the trace and the weights move (at θ = 0 nothing learns).
        var rng = Runtime.Data.Rng.For(7, 2, 3);
        for (int i = 0; i < theta.Length; i++) theta[i] = 0.5 * (2 * rng.NextDouble() - 1);
        var dirs = Enumerable.Range(0, theta.Length).Select(i => Enumerable.Range(0, theta.Length).Select(j => i == j ? 1.0 : 0).ToArray()).ToArray();
        return (session, theta, dirs);
    }

    static string GradientLabel => GradientRule == "neo_hebbian" ? "neo-Hebbian 3×3" : GradientRule;

    static RecurrentLearner Learner(ExperimentSession session, RecurrentSpeedups speedups, Precision? precision = null)
    {
        var learner = (RecurrentLearner)session.LoopFactory(session.Backend(precision ?? Precision.Float64))(0);
        learner.Speedups = speedups;
        return learner;
    }

    /// <summary>Seconds: the thread's CPU time (wall time where it cannot be read); Wall: wall-clock time.</summary>
    sealed record Timing(double Seconds, long Allocated, EpisodeOutcome Outcome)
    {
        public double Wall { get; init; }
    }

    /// <summary>Times before and after alternately, <see cref="Repeats"/> times each, and keeps each one's
    /// fastest run: on a loaded machine the fastest is the one least disturbed by other processes.</summary>
    static (Timing Before, Timing After) Pair(RecurrentLearner before, RecurrentLearner after, double[] theta, double[][] dirs)
    {
        before.Run(theta, dirs, 0, default); // warm-up: the JIT's tiers (the same trials, another network)
        after.Run(theta, dirs, 0, default);
        Timing? b = null, a = null;
        for (int k = 0; k < Repeats; k++)
        {
            var tb = Time(before, theta, dirs);
            var ta = Time(after, theta, dirs);
            if (b is null || tb.Seconds < b.Seconds) b = tb;
            if (a is null || ta.Seconds < a.Seconds) a = ta;
        }
        return (b!, a!);
    }

    const int Repeats = 3;

    static Timing Time(RecurrentLearner learner, double[] theta, double[][] dirs)
    {
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        double cpu0 = ThreadCpuSeconds();
        var sw = Stopwatch.StartNew();
        var outcome = learner.Run(theta, dirs, 1, default);
        double wall = sw.Elapsed.TotalSeconds, cpu = ThreadCpuSeconds() - cpu0;
        // On a shared machine the thread's CPU time is the work done; wall time adds the waits for a core.
        return new Timing(double.IsNaN(cpu) ? wall : cpu, GC.GetAllocatedBytesForCurrentThread() - alloc0, outcome) { Wall = wall };
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    struct TimeSpec { public long Seconds, Nanoseconds; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, out TimeSpec t);

    /// <summary>CPU seconds this thread has run (Linux CLOCK_THREAD_CPUTIME_ID); NaN elsewhere.</summary>
    static double ThreadCpuSeconds()
    {
        try { return ClockGetTime(3, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return double.NaN; }
    }

    static int Row(string name, Timing before, Timing after, int trials, bool perSecond)
    {
        string? why = RecurrentRows.Judge(before.Outcome) ?? RecurrentRows.Judge(after.Outcome);
        double dJ = Math.Abs(before.Outcome.Objective - after.Outcome.Objective) / Math.Max(1e-300, Math.Abs(before.Outcome.Objective));
        double dG = before.Outcome.Directional.Zip(after.Outcome.Directional, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max()
                    / Math.Max(1e-300, before.Outcome.Directional.Select(Math.Abs).DefaultIfEmpty(1).Max());
        // Equal work: the fast paths keep the arithmetic order, so J and the gradient agree to rounding.
        if (why is null && (dJ > 1e-12 || dG > 1e-9)) why = $"before and after differ (J by {dJ:G2} rel., gradient by {dG:G2} rel.)";
        if (why is not null)
        {
            Console.Error.WriteLine($"{name}: {why}");
            Console.WriteLine($"| {name} | failed | failed | | | | |");
            return 1;
        }
        string F(Timing t) => perSecond ? $"{(trials / t.Seconds).ToString("F1", Inv)} ({(trials / t.Wall).ToString("F1", Inv)})"
            : $"{t.Seconds.ToString("F2", Inv)} ({t.Wall.ToString("F2", Inv)})";
        double speedup = before.Seconds / after.Seconds;
        string same = dJ == 0 && dG == 0 ? "bit-identical" : $"J {dJ:G2}, ∇ {dG:G2} rel.";
        Console.WriteLine($"| {name} | {F(before)} | {F(after)} | {speedup.ToString("F2", Inv)}× | {before.Allocated / 1e6:F1} MB | {after.Allocated / 1e6:F1} MB | {same} |");
        return 0;
    }

    /// <summary>The runs of the first table with the fast paths on, float64 against float32.</summary>
    static void Float32Table(int trials, int[] horizons, string[] args)
    {
        Console.WriteLine();
        Console.WriteLine("float32 (`precision = float32`) against float64, both with the fast paths; differences relative to the largest |value| of float64's:");
        Console.WriteLine();
        Console.WriteLine("| run | float64 | float32 | speed-up | ΔJ rel. | max Δ∇ rel. | max ΔW rel. | max ΔR rel. |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        if (!args.Contains("--no-miconi"))
        {
            var session = PaperSession(trials);
            Float32Row($"Miconi DNMS, N = 200, dt = 1 ms, {trials} trials (trials/s)", session, [], [], trials, perSecond: true);
        }
        if (!args.Contains("--no-gradient"))
            foreach (int h in horizons)
            {
                var (session, theta, dirs) = NeoHebbianRow(h);
                Float32Row($"neo-Hebbian 3×3 exact gradient, N = 100, H = {h} (s)", session, theta, dirs, h, perSecond: false);
            }
    }

    static void Float32Row(string name, ExperimentSession session, double[] theta, double[][] dirs, int trials, bool perSecond)
    {
        var f64 = Learner(session, RecurrentSpeedups.Default, Precision.Float64);
        var f32 = Learner(session, RecurrentSpeedups.Default, Precision.Float32);
        // The weights and rewards of the last timed run of each (every run learns the same episode).
        double[] w64 = [], w32 = [];
        var r64 = new List<double>();
        var r32 = new List<double>();
        f64.OnTrained = (w, _) => w64 = w;
        f32.OnTrained = (w, _) => w32 = w;
        f64.OnTrial = (h, r, _) => { if (h == 0) r64.Clear(); r64.Add(r); };
        f32.OnTrial = (h, r, _) => { if (h == 0) r32.Clear(); r32.Add(r); };
        var (a, b) = Pair(f64, f32, theta, dirs);
        string? why = RecurrentRows.Judge(a.Outcome) ?? RecurrentRows.Judge(b.Outcome);
        if (why is not null)
        {
            Console.Error.WriteLine($"{name} (float32): {why}");
            Console.WriteLine($"| {name} | failed | failed | | | | | |");
            return;
        }
        static double Rel(IReadOnlyList<double> x, IReadOnlyList<double> y) => x.Count == 0 ? 0
            : x.Zip(y, (p, q) => Math.Abs(p - q)).Max() / Math.Max(1e-300, x.Max(Math.Abs));
        double dJ = Math.Abs(a.Outcome.Objective - b.Outcome.Objective) / Math.Max(1e-300, Math.Abs(a.Outcome.Objective));
        string dG = a.Outcome.Directional.Length == 0 ? "–" : Rel(a.Outcome.Directional, b.Outcome.Directional).ToString("G2", Inv);
        string F(Timing t) => perSecond ? $"{(trials / t.Seconds).ToString("F1", Inv)} ({(trials / t.Wall).ToString("F1", Inv)})"
            : $"{t.Seconds.ToString("F2", Inv)} ({t.Wall.ToString("F2", Inv)})";
        Console.WriteLine($"| {name} | {F(a)} | {F(b)} | {(a.Seconds / b.Seconds).ToString("F2", Inv)}× | {dJ.ToString("G2", Inv)} | {dG} | " +
                          $"{Rel(w64, w32).ToString("G2", Inv)} | {Rel(r64, r32).ToString("G2", Inv)} |");
    }

    /// <summary>examples/miconi_dnms_paper.experiment with its horizon set to <paramref name="trials"/>.</summary>
    public static ExperimentSession PaperSession(int trials)
    {
        var rules = RecurrentRows.RulesDir();
        var file = Path.Combine(rules, "..", "examples", "miconi_dnms_paper.experiment");
        var lines = File.ReadAllLines(file).Select(l =>
            l.TrimStart().StartsWith("horizon", StringComparison.Ordinal) ? $"  horizon = {trials}"
            : l.TrimStart().StartsWith("rule ", StringComparison.Ordinal) ? $"  rule = {Path.Combine(rules, "miconi.rule")} miconi" : l);
        var text = string.Join('\n', lines) + "\n";
        var spec = Experiment.parse(file, text);
        if (spec.IsError) throw new InvalidOperationException(string.Join("\n", spec.ErrorValue.Select(d => d.Message)));
        var checkedRules = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([Path.Combine(rules, "miconi.rule")]));
        if (checkedRules.HasErrors) throw new InvalidOperationException(Check.Render(checkedRules));
        return new ExperimentSession(spec.ResultValue, checkedRules.Rules.Single(r => r.Name == "miconi"), text);
    }

    static int IntOption(string[] args, string name, int fallback) => int.Parse(StringOption(args, name, fallback.ToString(Inv)), Inv);

    static string StringOption(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    static string Load()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    // ------------------------------------------------------------------ the hot loops against the machine

    /// <summary>The hot loops of Miconi's step at N (the trace update, per step and as a rank-16 update, and
    /// W·r) in GFLOP/s and GB/s, next to this machine's peaks measured in the same run: arithmetic by
    /// independent 512-bit (or Vector&lt;T&gt;) mul + add chains in registers (no FMA, as the kernels), bandwidth
    /// by summing an array that fits in L2 (the N×N matrices do) and one far larger than the caches.</summary>
    static void Roofline(int n)
    {
        var rng = new Random(1);
        double[] Fill(int len) { var a = new double[len]; for (int i = 0; i < len; i++) a[i] = rng.NextDouble() - 0.5; return a; }
        var e = Fill(n * n);
        var w = Fill(n * n);
        var a = Fill(n);
        var b = Fill(n);
        var y = new double[n];
        const int K = 16;
        double flops = 2.0 * n * n, bytes = 8.0 * n * n;
        // Per step: E[i, :] = c_i · b + E[i, :] (read and write E: 16 bytes per element).
        var srcs = new[] { b };
        var offs = new[] { 0 };
        var coefs = new double[1];
        double perStep = Seconds(() =>
        {
            for (int i = 0; i < n; i++) { coefs[0] = a[i]; Runtime.Kernels.Compiler.RowOps<double>.Combine(e, i * n, true, 1.0, srcs, offs, coefs, 1, n); }
        });
        // Deferred: 16 steps recorded, then one flush (timed alone: the rank-16 update).
        var rows = new Runtime.Kernels.Compiler.DeferredRows<double>(K);
        Runtime.Kernels.Compiler.DeferredRows<double>.Current = rows;
        double record = double.MaxValue, flush = double.MaxValue;
        for (int rep = 0; rep < 200 + Repeats2; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (int t = 0; t < K; t++)
            {
                // As a compiled kernel does: the thread's DeferredRows found once per step, the rows' coefficients
                // into a table (here a itself: one source), then the whole step in one call.
                var sink = Runtime.Kernels.Compiler.DeferredRows<double>.OfThisThread();
                sink.AddRows(e, n, true, null, srcs, a, n, 1);
            }
            double r = sw.Elapsed.TotalSeconds;
            sw.Restart();
            rows.Flush();
            double f = sw.Elapsed.TotalSeconds;
            if (rep >= 200) { record = Math.Min(record, r / K); flush = Math.Min(flush, f / K); }
        }
        Runtime.Kernels.Compiler.DeferredRows<double>.Current = null;
        double matVec = Seconds(() => Runtime.Kernels.Compiler.RowOps<double>.MatVec(w, n, n, b, y));
        // The learner's W·r within a trial: from W packed in tiles of four rows (the same sums: checked here).
        double packedMatVec = double.NaN;
        if (Runtime.Kernels.Compiler.PackedMatrices<double>.Supported)
        {
            var copies = new Runtime.Kernels.Compiler.PackedMatrices<double>();
            copies.Pack(w, n, n);
            var yp = new double[n];
            try
            {
                Runtime.Kernels.Compiler.PackedMatrices<double>.Current = copies;
                packedMatVec = Seconds(() => Runtime.Kernels.Compiler.RowOps<double>.MatVec(w, n, n, b, yp));
            }
            finally { Runtime.Kernels.Compiler.PackedMatrices<double>.Current = null; }
            if (!yp.AsSpan().SequenceEqual(y)) throw new InvalidOperationException("packed W·r differs from W·r: not a figure");
        }
        double peakFlops = PeakFlops(), l2 = ReadBandwidth(n * n), dram = ReadBandwidth(16 << 20);
        Console.WriteLine();
        Console.WriteLine($"## Hot loops of Miconi's step, N = {n}, one thread, against this machine's peaks (measured in the same run)");
        Console.WriteLine();
        Console.WriteLine($"peaks: {peakFlops / 1e9:F1} GFLOP/s (independent mul + add chains in registers, no FMA); read bandwidth " +
                          $"{l2 / 1e9:F1} GB/s from an {8.0 * n * n / 1024:F0} KB array (L2), {dram / 1e9:F1} GB/s from a 128 MB array (memory)");
        Console.WriteLine();
        Console.WriteLine("| loop | µs per step | GFLOP/s | % of peak FLOP/s | GB/s moved (read + write) | % of L2 read bandwidth |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        void Line(string name, double sec, double f, double by) =>
            Console.WriteLine($"| {name} | {sec * 1e6:F2} | {f / sec / 1e9:F1} | {100 * f / sec / peakFlops:F0} % | {by / sec / 1e9:F1} | {100 * by / sec / l2:F0} % |");
        Line("trace E += a bᵀ, per step (RowOps.Combine: E read and written)", perStep, flops, 2 * bytes);
        Line($"trace, rank-{K} update (DeferredRows.Flush, per step of the {K})", flush, flops, 2 * bytes / K);
        Line("trace, recording a step (DeferredRows.AddRows)", record, 0, 0);
        Line("W·r (RowOps.MatVec, 4 rows at a time)", matVec, flops, bytes);
        if (!double.IsNaN(packedMatVec)) Line("W·r from W in tiles of 4 rows (PackedMatrices, as within a trial)", packedMatVec, flops, bytes);
    }

    const int Repeats2 = 200;

    /// <summary>Seconds per call of <paramref name="body"/>: the fastest of five batches of <see cref="Repeats2"/> calls.</summary>
    static double Seconds(Action body)
    {
        for (int k = 0; k < 200; k++) body(); // warm-up: JIT tiers
        double best = double.MaxValue;
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (int k = 0; k < Repeats2; k++) body();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / Repeats2);
        }
        return best;
    }

    static double PeakFlops()
    {
        const int iters = 2_000_000;
        double best = 0;
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            double lanes = MulAddChains(iters);
            best = Math.Max(best, 16.0 * iters * lanes / sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Eight independent x ← x·c + d chains per iteration (2 flops per lane each); returns the lane count.</summary>
    static double MulAddChains(int iters)
    {
        var c = System.Runtime.Intrinsics.Vector512.Create(0.999999);
        var d = System.Runtime.Intrinsics.Vector512.Create(1e-7);
        var x0 = c; var x1 = d; var x2 = c + d; var x3 = c - d; var x4 = c * c; var x5 = d * d; var x6 = c + c; var x7 = d + d;
        for (int i = 0; i < iters; i++)
        {
            x0 = x0 * c + d; x1 = x1 * c + d; x2 = x2 * c + d; x3 = x3 * c + d;
            x4 = x4 * c + d; x5 = x5 * c + d; x6 = x6 * c + d; x7 = x7 * c + d;
        }
        var sum = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
        if (System.Runtime.Intrinsics.Vector512.Sum(sum) == 42.0) Console.Write(""); // keep the chains alive
        return System.Runtime.Intrinsics.Vector512<double>.Count;
    }

    /// <summary>Σ a, eight independent 512-bit chains (enough to keep the loads, not the adds, the limit).</summary>
    static double Sum(double[] a)
    {
        var z = System.Runtime.Intrinsics.Vector512<double>.Zero;
        System.Runtime.Intrinsics.Vector512<double> s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
        int w = System.Runtime.Intrinsics.Vector512<double>.Count, j = 0;
        ref double r = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(a);
        for (; j <= a.Length - 8 * w; j += 8 * w)
        {
            s0 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)j);
            s1 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + w));
            s2 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 2 * w));
            s3 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 3 * w));
            s4 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 4 * w));
            s5 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 5 * w));
            s6 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 6 * w));
            s7 += System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref r, (nuint)(j + 7 * w));
        }
        double sum = System.Runtime.Intrinsics.Vector512.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
        for (; j < a.Length; j++) sum += a[j];
        return sum;
    }

    /// <summary>Bytes per second read from an array of <paramref name="length"/> doubles (summed, four chains).</summary>
    static double ReadBandwidth(int length)
    {
        var a = new double[length];
        Array.Fill(a, 1.0);
        int passes = Math.Max(1, (1 << 27) / length);
        double best = 0, keep = 0;
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (int p = 0; p < passes; p++) keep += Sum(a);
            best = Math.Max(best, 8.0 * length * passes / sw.Elapsed.TotalSeconds);
        }
        if (keep == 42.0) Console.Write("");
        return best;
    }
}
