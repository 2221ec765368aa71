using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Numerics;
using RuleDsl.Runtime.Kernels.Compiler;
using static RuleDsl.Bench.MetaBench;

namespace RuleDsl.Bench;

/// <summary>
/// `ratio-parts`: where the step of the pool with ten tangents spends its time against plain F0 (issue 19's
/// third row), per layer, next to two floors over the same matrices: W and the ten U_d each read and
/// written once with one rank-one source (the least any step writing them moves), and with the sources
/// the pool's rows have at the paper's θ (RowOps.Combine, the same loop and arithmetic as the kernel).
/// Each figure is the fastest single step of rounds that alternate between them (the machine is shared).
/// `ratio-parts RULE [dense]` runs that rule's step with ten tangents for five seconds (for a profiler; `dense`:
/// every θ and direction component non-zero); `ratio-parts ab` times the network's step with RowOps.CombineRows
/// four rows at a time against row by row; `ab512`, `abprefetch`, `abfused`, `spread`, `fused-pass` and
/// `deferred-floor` are described at their methods. `--precision float32` runs the step modes in float32
/// (default float64).
/// </summary>
public static class RatioParts
{
    /// <summary>Reports how each compiled step was jitted: a large method is compiled without
    /// optimisation (tier 1, MinOpts), which is why a kernel is split into several methods.</summary>
    sealed class JitListener : EventListener
    {
        public readonly List<string> Lines = [];

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x10);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is null || !e.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal)) return;
            var names = e.PayloadNames!;
            var name = e.Payload![names.IndexOf("MethodName")]?.ToString() ?? "";
            uint size = Convert.ToUInt32(e.Payload[names.IndexOf("MethodSize")]);
            uint tier = (Convert.ToUInt32(e.Payload[names.IndexOf("MethodFlags")]) >> 7) & 7;
            // Compiled steps are dynamic methods; FastExpressionCompiler leaves their name empty.
            if (name.Length == 0 || name.StartsWith("step_", StringComparison.Ordinal))
                lock (Lines) Lines.Add($"{size} bytes, {(tier == 1 ? "MinOpts (not optimised)" : tier == 2 ? "optimised" : $"tier {tier}")}");
        }
    }

    /// <summary>The fastest single run of a within about 40 ms.</summary>
    static double Fastest(Action a)
    {
        a();
        var sw = Stopwatch.StartNew();
        double best = double.MaxValue;
        while (sw.ElapsedMilliseconds < 40)
        {
            long t0 = Stopwatch.GetTimestamp();
            a();
            best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
        }
        return best;
    }

    public static int Run(string[] args)
    {
        bool f32 = Program.Float32(args);
        args = args.Where((a, i) => a != "--precision" && (i == 0 || args[i - 1] != "--precision")).ToArray();
        if (args.Length > 0 && args[0] == "ab") return f32 ? AB<float>() : AB<double>();
        if (args.Length > 0 && args[0] is "ab512" or "abprefetch" or "abfused") return f32 ? AB512<float>(args) : AB512<double>(args);
        if (args.Length > 0 && args[0] == "spread") return Spread(f32);
        if (args.Length > 1 && args[0] == "fused-pass") return FusedPass(int.Parse(args[1]));
        if (args.Length > 0 && args[0] == "deferred-floor") return DeferredFloor(args.Length > 1 ? int.Parse(args[1]) : 9);
        if (args.Length > 0)
        {
            var step = new NetworkStep(args[0], 10, args.Contains("dense") ? ThetaMode.Dense : ThetaMode.Paper, 1, handWritten: false);
            var run = NetworkStep32.Runner(step, f32);
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 5000) run();
            return 0;
        }
        var listener = new JitListener();
        var f0 = new NetworkStep("f0", 0, ThetaMode.Paper, 1, handWritten: false);
        var pool = new NetworkStep("pool", 10, ThetaMode.Paper, 1, handWritten: false);
        Console.WriteLine($"precision {(f32 ? "float32" : "float64")}");
        if (f32)
        {
            var (g0, gp) = (new NetworkStep32(f0), new NetworkStep32(pool));
            Table(g0.Kernel, g0.Layers, gp.Kernel, gp.Layers, g0.RunCompiled, gp.RunCompiled);
        }
        else Table(f0.Kernel, f0.Layers, pool.Kernel, pool.Layers, f0.RunCompiled, pool.RunCompiled);
        lock (listener.Lines) Console.WriteLine("compiled steps as jitted: " + string.Join("; ", listener.Lines));
        listener.Dispose();
        return 0;
    }

    /// <summary>The per-layer table and the network's step, in precision T.</summary>
    static void Table<T>(Kernel<T> f0K, List<KernelArgs<T>> f0, Kernel<T> poolK, List<KernelArgs<T>> pool, Action netF0Step, Action netPoolStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tiny = T.CreateTruncating(1e-9);
        var rows = new List<(string Layer, Action F0, Action Pool, Action Floor, Action Sources)>();
        for (int l = 0; l < f0.Count; l++)
        {
            var a0 = f0[l];
            var ap = pool[l];
            int n = ap.Sizes[ap.Layout.DimSlot("post")], m = ap.Sizes[ap.Layout.DimSlot("pre")];
            var w = ap.Array("W");
            var u = Enumerable.Range(0, 10).Select(d => ap.Array($"δW#{d}")).ToArray();
            var e = ap.Array("e_post");
            var y = ap.Array("y_pre");
            var vectors = Enumerable.Range(0, 3).Select(k => y.Select(x => x * T.CreateTruncating(k + 1)).ToArray()).ToArray();
            // The pool's rows at the paper's θ: W one source; U_d two (e ⊗ δy_d, δe_d ⊗ y), and a third for
            // the directions whose own term has another left vector (d = 1, 4, 6, 8, 9) or is W (d = 3).
            var plan = new List<(T[] Dst, T[][] Srcs, int[] Offs)> { (w, [vectors[0]], [0]) };
            for (int d = 0; d < 10; d++)
                plan.Add(d switch
                {
                    0 or 2 or 5 or 7 => (u[d], [vectors[0], vectors[1]], [0, 0]),
                    3 => (u[d], [vectors[0], vectors[1], w], [0, 0, -1]),
                    _ => (u[d], [vectors[0], vectors[1], vectors[2]], [0, 0, 0]),
                });
            var coefs = new T[3];
            var offs = new int[3];
            void Floor()
            {
                RowOpsFloor(w, n, m, e, y, tiny);
                foreach (var x in u) RowOpsFloor(x, n, m, e, y, tiny);
            }
            void Sources()
            {
                foreach (var (dst, srcs, o) in plan)
                    for (int i = 0; i < n; i++)
                    {
                        for (int k = 0; k < srcs.Length; k++)
                        {
                            coefs[k] = tiny * e[i];
                            offs[k] = o[k] < 0 ? i * m : 0;
                        }
                        RowOps<T>.Combine(dst, i * m, true, T.One, srcs, offs, coefs, srcs.Length, m);
                    }
            }
            rows.Add(($"{n}×{m}", () => f0K.Step(a0), () => poolK.Step(ap), Floor, Sources));
        }
        var best = new double[rows.Count, 4];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < 4; c++) best[r, c] = double.MaxValue;
        for (int round = 0; round < 12; round++)
            for (int r = 0; r < rows.Count; r++)
            {
                var (_, a, b, c, d) = rows[r];
                best[r, 0] = Math.Min(best[r, 0], Fastest(a));
                best[r, 1] = Math.Min(best[r, 1], Fastest(b));
                best[r, 2] = Math.Min(best[r, 2], Fastest(c));
                best[r, 3] = Math.Min(best[r, 3], Fastest(d));
            }
        Console.WriteLine($"{"layer",-10} {"F0 µs",8} {"pool10 µs",10} {"ratio",6} {"floor 1 source µs",18} {"ratio",6} {"floor pool's sources µs",24} {"ratio",6}");
        var sum = new double[4];
        for (int r = 0; r < rows.Count; r++)
        {
            for (int c = 0; c < 4; c++) sum[c] += best[r, c];
            Console.WriteLine($"{rows[r].Layer,-10} {best[r, 0],8:F1} {best[r, 1],10:F1} {best[r, 1] / best[r, 0],6:F1} {best[r, 2],18:F1} {best[r, 2] / best[r, 0],6:F1} {best[r, 3],24:F1} {best[r, 3] / best[r, 0],6:F1}");
        }
        Console.WriteLine($"{"all",-10} {sum[0],8:F1} {sum[1],10:F1} {sum[1] / sum[0],6:F1} {sum[2],18:F1} {sum[2] / sum[0],6:F1} {sum[3],24:F1} {sum[3] / sum[0],6:F1}");
        // The whole network per step, as `ratio` runs it (every layer's matrices in turn, so the working set
        // is all of them): fastest single step, and `ratio`'s mean (wall clock, so it counts preemption too).
        double netF0 = double.MaxValue, netPool = double.MaxValue;
        for (int round = 0; round < 12; round++)
        {
            netF0 = Math.Min(netF0, Fastest(netF0Step));
            netPool = Math.Min(netPool, Fastest(netPoolStep));
        }
        double meanF0 = Program.Time(netF0Step), meanPool = Program.Time(netPoolStep);
        Console.WriteLine($"{"network",-10} {netF0,8:F1} {netPool,10:F1} {netPool / netF0,6:F1}   (fastest step; `ratio`'s mean: {meanF0:F1} and {meanPool:F1} µs, {meanPool / meanF0:F1}×)");
    }

    /// <summary>`ratio-parts fused-pass COLS`: Phase A's pass over a 168 × COLS matrix with one M x and two Mᵀx
    /// (the pool's pass over W at the paper's θ), as one DotAxpys4 per four rows and as separate calls, in turn,
    /// four rounds; the outputs of the two are checked equal bit for bit.</summary>
    static int FusedPass(int cols)
    {
        const int rows = 168;
        var rng = new Random(1);
        double[] V(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] m = V(rows * cols), dx = V(cols), xa = V(rows), xb = V(rows);
        var outs = new[] { true, false }.ToDictionary(f => f, _ => (Dy: new double[rows], Ya: new double[cols], Yb: new double[cols]));
        Action Pass(bool fused) => () =>
        {
            RowOps<double>.FusedPasses = fused;
            var (dy, ya, yb) = outs[fused];
            Array.Clear(ya); Array.Clear(yb);
            for (int i = 0; i < rows; i += 4) RowOps<double>.DotAxpys4(m, i, cols, dx, dy, ya, xa, yb, xb, null, null, null, null);
        };
        for (int round = 0; round < 4; round++)
        {
            double tf = Program.Time(Pass(true)), ts = Program.Time(Pass(false));
            Console.WriteLine($"{rows} × {cols}: fused {tf:F2} µs, separate {ts:F2} µs, {ts / tf:F2}×");
        }
        RowOps<double>.FusedPasses = true;
        if (!outs[true].Dy.SequenceEqual(outs[false].Dy) || !outs[true].Ya.SequenceEqual(outs[false].Ya) || !outs[true].Yb.SequenceEqual(outs[false].Yb))
        {
            Console.Error.WriteLine("fused-pass: the fused and separate passes computed different numbers");
            return 1;
        }
        return 0;
    }

    /// <summary>`ratio-parts deferred-floor [ROUNDS]`: what a step of the pool with ten tangents could cost if each U_d
    /// were kept as a dense part plus its pending rank-one steps and written back only every r steps (option (c) of
    /// the pool row), at the floor of bytes: per step, every layer's eleven matrices read once (one mat-vec each: the
    /// next forward pass's U_d·y′ and W·y′, which must still read them), and every r-th step the read-and-write pass
    /// of today's step (one Axpy per row, `floor 1 source`). Against F0's compiled step with and without its own
    /// W·y′ (the same mat-vec), timed in turn over the rounds; medians. No values are checked: these loops are
    /// floors of memory traffic, not the rule.</summary>
    static int DeferredFloor(int rounds)
    {
        var d0 = new NetworkStep("f0", 0, ThetaMode.Paper, 1, handWritten: false);
        var dp = new NetworkStep("pool", 10, ThetaMode.Paper, 1, handWritten: false);
        var layers = dp.Layers.Select(a =>
        {
            int n = a.Sizes[a.Layout.DimSlot("post")], m = a.Sizes[a.Layout.DimSlot("pre")];
            var mats = new[] { a.Array("W") }.Concat(Enumerable.Range(0, 10).Select(d => a.Array($"δW#{d}"))).ToArray();
            return (n, m, mats, e: a.Array("e_post"), y: a.Array("y_pre"), z: new double[n]);
        }).ToArray();
        var f0Layers = d0.Layers.Select(a => (n: a.Sizes[a.Layout.DimSlot("post")], m: a.Sizes[a.Layout.DimSlot("pre")], w: a.Array("W"), y: a.Array("y_pre"))).ToArray();
        var f0z = f0Layers.Select(l => new double[l.n]).ToArray();
        void ReadAll() { foreach (var l in layers) foreach (var x in l.mats) RowOps<double>.MatVec(x, l.n, l.m, l.y, l.z); }
        void WriteAll() { foreach (var l in layers) foreach (var x in l.mats) RowOpsFloor(x, l.n, l.m, l.e, l.y, 1e-9); }
        void F0WithProduct() { d0.RunCompiled(); for (int l = 0; l < f0Layers.Length; l++) RowOps<double>.MatVec(f0Layers[l].w, f0Layers[l].n, f0Layers[l].m, f0Layers[l].y, f0z[l]); }
        double sink = 0;
        void SumAll() { foreach (var l in layers) foreach (var x in l.mats) sink += System.Numerics.Tensors.TensorPrimitives.Sum<double>(x); }
        var steps = new List<(string Name, Action Step)> { ("F0", d0.RunCompiled), ("F0 + W·y′", F0WithProduct), ("pool (compiled)", dp.RunCompiled),
            ("read+write (today's floor)", WriteAll), ("read once (U·y′)", ReadAll), ("read once (a sum: bytes only)", SumAll) };
        foreach (int r in new[] { 4, 8, 16 })
        {
            int s = 0;
            steps.Add(($"deferred r = {r}", () => { ReadAll(); if (++s % r == 0) WriteAll(); }));
        }
        var t = steps.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int k = 0; k < steps.Count; k++) t[k].Add(Program.Time(steps[k].Step));
        double f0 = Median(t[0]), f0p = Median(t[1]);
        Console.WriteLine($"{"step",-28} {"µs",8} {"/ F0",6} {"/ F0 + W·y′",12}");
        for (int k = 0; k < steps.Count; k++)
            Console.WriteLine($"{steps[k].Name,-28} {Median(t[k]),8:F1} {Median(t[k]) / f0,6:F1} {Median(t[k]) / f0p,12:F1}");
        Console.WriteLine($"load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {rounds} rounds in turn, medians of each step's mean time");
        GC.KeepAlive(sink); // the sums are read, so the loop reads the bytes
        return 0;
    }

    /// <summary>`ratio-parts spread`: each single step of the network's F0 and pool + 10 tangents, timed one by
    /// one for two seconds each, alternating: percentiles of the step times, and `ratio`'s mean beside them.</summary>
    static int Spread(bool f32)
    {
        var d0 = new NetworkStep("f0", 0, ThetaMode.Paper, 1, handWritten: false);
        var dp = new NetworkStep("pool", 10, ThetaMode.Paper, 1, handWritten: false);
        Action f0Step = NetworkStep32.Runner(d0, f32), poolStep = NetworkStep32.Runner(dp, f32);
        static double[] Steps(Action a, int ms)
        {
            for (int w = 0; w < 20; w++) a();
            var times = new List<double>();
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < ms)
            {
                long t0 = Stopwatch.GetTimestamp();
                a();
                times.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
            }
            return [.. times.Order()];
        }
        static string Row(string name, double[] t) =>
            $"{name,-8} n {t.Length,6}  min {t[0],7:F1}  p10 {t[t.Length / 10],7:F1}  p50 {t[t.Length / 2],7:F1}  p90 {t[t.Length * 9 / 10],7:F1}  p99 {t[t.Length * 99 / 100],7:F1}  max {t[^1],8:F1}  mean {t.Average(),7:F1}";
        for (int round = 0; round < 3; round++)
        {
            var a = Steps(f0Step, 2000); var b = Steps(poolStep, 2000);
            Console.WriteLine(Row("F0", a));
            Console.WriteLine(Row("pool10", b));
            Console.WriteLine($"ratio of medians {b[b.Length / 2] / a[a.Length / 2]:F1}x  of means {b.Average() / a.Average():F1}x  of minima {b[0] / a[0]:F1}x  `ratio`'s: {Program.Time(poolStep) / Program.Time(f0Step):F1}x  load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        return 0;
    }

    /// <summary>`ratio-parts ab`: the whole network's step with CombineRows four rows at a time and row by row
    /// (RowOps.OneRowAtATime), alternating in one process, eight rounds: fastest step and `ratio`'s mean.</summary>
    static int AB<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d0 = new NetworkStep("f0", 0, ThetaMode.Paper, 1, handWritten: false);
        var dp = new NetworkStep("pool", 10, ThetaMode.Paper, 1, handWritten: false);
        bool f32 = typeof(T) == typeof(float);
        Action f0Step = NetworkStep32.Runner(d0, f32), poolStep = NetworkStep32.Runner(dp, f32);
        for (int round = 0; round < 8; round++)
            foreach (var rowByRow in new[] { true, false })
            {
                RowOps<T>.OneRowAtATime = rowByRow;
                double fa = double.MaxValue, fb = double.MaxValue;
                for (int k = 0; k < 5; k++) { fa = Math.Min(fa, Fastest(f0Step)); fb = Math.Min(fb, Fastest(poolStep)); }
                double ma = Program.Time(f0Step), mb = Program.Time(poolStep);
                Console.WriteLine($"{(rowByRow ? "row by row " : "four rows  ")} fastest: F0 {fa,5:F1} pool10 {fb,6:F1} µs {fb / fa,5:F1}×   "
                    + $"mean: F0 {ma,5:F1} pool10 {mb,6:F1} µs {mb / ma,5:F1}×   load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            }
        RowOps<T>.OneRowAtATime = false;
        return 0;
    }

    /// <summary>`ratio-parts ab512 [ROUNDS]`: the network's step and layer 1's with Rows4's 512-bit path and without
    /// (RowOps.Only256), alternating in one process: per round the fastest step of each, then medians over rounds.
    /// `ratio-parts abprefetch [ROUNDS]`: the same with the 512-bit path's prefetches and without (RowOps.Prefetch);
    /// `ratio-parts abfused [ROUNDS] [dense]`: Phase A's mat-vec passes as one DotAxpys4 per four rows and as separate calls
    /// (RowOps.FusedPasses); `dense`: every θ and direction component non-zero (each matrix then has its pass).</summary>
    static int AB512<T>(string[] args) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 10;
        string what = args[0];
        var mode = args.Contains("dense") ? ThetaMode.Dense : ThetaMode.Paper;
        var d0 = new NetworkStep("f0", 0, mode, 1, handWritten: false);
        var dp = new NetworkStep("pool", 10, mode, 1, handWritten: false);
        bool f32 = typeof(T) == typeof(float);
        Action f0Step, poolStep, f0L1, poolL1;
        if (f32)
        {
            var (g0, gp) = (new NetworkStep32(d0), new NetworkStep32(dp));
            (f0Step, poolStep) = (g0.RunCompiled, gp.RunCompiled);
            (f0L1, poolL1) = (() => g0.Kernel.Step(g0.Layers[0]), () => gp.Kernel.Step(gp.Layers[0]));
        }
        else
        {
            (f0Step, poolStep) = (d0.RunCompiled, dp.RunCompiled);
            (f0L1, poolL1) = (() => d0.Kernel.Step(d0.Layers[0]), () => dp.Kernel.Step(dp.Layers[0]));
        }
        var names = new[] { "net F0", "net pool", "net F0 mean", "net pool mean", "L1 F0", "L1 pool" };
        var res = new List<double>[2, names.Length];
        for (int v = 0; v < 2; v++) for (int c = 0; c < names.Length; c++) res[v, c] = [];
        for (int round = 0; round < rounds; round++)
            foreach (int v in round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
            {
                if (what == "abprefetch") RowOps<T>.Prefetch = v == 1;
                else if (what == "abfused") RowOps<T>.FusedPasses = v == 1;
                else RowOps<T>.Only256 = v == 0;
                res[v, 0].Add(Fastest(f0Step)); res[v, 1].Add(Fastest(poolStep));
                res[v, 2].Add(Program.Time(f0Step)); res[v, 3].Add(Program.Time(poolStep));
                res[v, 4].Add(Fastest(f0L1)); res[v, 5].Add(Fastest(poolL1));
            }
        (RowOps<T>.Only256, RowOps<T>.Prefetch, RowOps<T>.FusedPasses) = (false, true, true);
        Console.WriteLine($"{"",-8} " + string.Join(" ", names.Select(n => $"{n,14}")) + "   net ratio (fastest, mean)");
        for (int v = 0; v < 2; v++)
        {
            var m = Enumerable.Range(0, names.Length).Select(c => Median(res[v, c])).ToArray();
            string label = what switch { "abprefetch" => v == 0 ? "no pf" : "prefetch", "abfused" => v == 0 ? "separate" : "fused", _ => v == 0 ? "256-bit" : "512-bit" };
            Console.WriteLine($"{label,-8} " + string.Join(" ", m.Select(x => $"{x,14:F1}")) + $"   {m[1] / m[0],5:F1} {m[3] / m[2],5:F1}");
        }
        return 0;
    }

    static void RowOpsFloor<T>(T[] w, int n, int m, T[] e, T[] y, T tiny) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++) RowOps<T>.Axpy(w, i * m, tiny * e[i], y, 0, m);
    }
}
