using RuleDsl.Syntax;
using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Runtime.Engine.Feedforward;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;

namespace RuleDsl.Bench;

/// <summary>
/// The speed benchmarks of issues 5 and 6: seconds per meta-episode and peak memory on the paper's
/// network (feedforward), learning trials per second of the rate RNN (recurrent). Every row runs in a
/// child process of its own, so its peak resident set (VmHWM) is that row's alone; inside it the
/// episode runs on one thread (parallelism is per trial, not inside an episode).
/// </summary>
public static class MetaBench
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A rule from rules/FILE.rule, through the language front end.</summary>
    public static Rule LoadRule(string file, string name)
    {
        var path = Path.Combine(RecurrentRows.RulesDir(), file + ".rule");
        var result = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([path]));
        if (result.HasErrors) throw new InvalidOperationException(Check.Render(result));
        return result.Files.SelectMany(f => f.Rules).First(r => r.Name == name);
    }

    // ------------------------------------------------------------------ feedforward

    /// <summary>Random images of MNIST's shape (784 values in [0, 1)), M classes, K training and Q query
    /// per class, drawn from one fixed pool so that the data's memory is the same for every K.</summary>
    public sealed class RandomEpisodes : IEpisodeSource
    {
        readonly double[][] _pool;
        readonly int _m, _k, _q, _pixels;

        public RandomEpisodes(int pixels, int m, int k, int q, int poolPerClass = 510)
        {
            _m = m; _k = k; _q = q; _pixels = pixels;
            if (k + q > poolPerClass) throw new ArgumentException("pool too small");
            var rng = new Random(12345);
            _pool = Enumerable.Range(0, m * poolPerClass).Select(_ => Enumerable.Range(0, pixels).Select(_ => rng.NextDouble()).ToArray()).ToArray();
        }

        public EpisodeData Get(int episode)
        {
            var rng = new Random(episode);
            int per = _pool.Length / _m;
            var train = new List<(double[], int)>();
            var query = new List<(double[], int)>();
            for (int c = 0; c < _m; c++)
            {
                for (int i = 0; i < _k; i++) train.Add((_pool[c * per + i], c));
                for (int i = 0; i < _q; i++) query.Add((_pool[c * per + _k + i], c));
            }
            var order = train.OrderBy(_ => rng.Next()).ToArray(); // online order shuffled
            return new EpisodeData(order.Select(t => t.Item1).ToArray(), order.Select(t => t.Item2).ToArray(),
                query.Select(t => t.Item1).ToArray(), query.Select(t => t.Item2).ToArray());
        }
    }

    /// <summary>The rows of the feedforward table: name, rule file, rule, estimator (exact or k projections).</summary>
    // "all terms": the pool's θ that start at 0 set to 1e-6, as after the first meta-step, so that no term is
    // skipped (what a meta-learning run pays from its second meta-step on; PyTorch computes every term always).
    static readonly (string Name, string File, string Rule, int Projections, bool AllTerms)[] FeedforwardRows =
    [
        ("FA (1 θ, exact)", "fa", "fa", 0, false),
        ("bio (3 θ, exact)", "bio", "bio", 0, false),
        ("pool (10 θ, exact)", "pool", "pool", 0, false),
        ("pool (10 θ, exact, all terms)", "pool", "pool", 0, true),
        ("pool (10 θ, 2 projections)", "pool", "pool", 2, false),
    ];

    /// <summary>The paper's network (784-170-130-100-70-5, softplus β = 10) learning with a rule, compiled kernels, seed 1.</summary>
    static FeedforwardLearner PaperLearner(Rule rule, string feedback, IEpisodeSource data) =>
        new(new FeedforwardConfig(NetworkStep.PaperWidths, feedback), ModelFile.Feedforward(10.0), rule, data, new SimdBackend(), seed: 1);

    /// <summary>One feedforward row in this process: prints "seconds allocated rss phases" on one line.</summary>
    public static int FeedforwardOne(string file, string ruleName, int projections, int k, int episodes, string feedback, bool allTerms = false)
    {
        var rule = LoadRule(file, ruleName);
        var learner = PaperLearner(rule, feedback, new RandomEpisodes(784, 5, k, 10));
        learner.FuseForward = Environment.GetEnvironmentVariable("RULEDSL_NOFUSE") != "1";
        // RULEDSL_SEPARATE=1: Phase A's products as separate calls (RowOps.FusedPasses off; the same bits), for A/B.
        RowOps<double>.FusedPasses = Environment.GetEnvironmentVariable("RULEDSL_SEPARATE") != "1";
        var theta = rule.Params.Select(p => p.Init).ToArray();
        // `--all-terms`: every θ that starts at 0 set to 1e-6, as after the first meta-step (Adam moves every θ
        // whose gradient is non-zero), so that no term is skipped: what a meta-learning run pays from then on.
        if (allTerms) for (int r = 0; r < theta.Length; r++) if (theta[r] == 0) theta[r] = 1e-6;
        var rng = RuleDsl.Runtime.Data.Rng.For(7, 1, 1);
        double[][] Dirs() => Directions.Draw(projections > 0 ? GradientEstimator.RandomProjection : GradientEstimator.Exact, theta.Length, projections, rng);
        // Warm-up: kernels compile, the JIT reaches its final tier.
        learner.Run(theta, Dirs(), 0, default);
        if (k <= 100) learner.Run(theta, Dirs(), 1, default);
        var phases = new FeedforwardPhases();
        learner.Phases = phases;
        var times = new List<double>();
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        for (int e = 0; e < episodes; e++)
        {
            var dirs = Dirs();
            var sw = Stopwatch.StartNew();
            var outcome = learner.Run(theta, dirs, 2 + e, default);
            times.Add(sw.Elapsed.TotalSeconds);
            if (RecurrentRows.Judge(outcome) is { } why) { Console.Error.WriteLine($"{file}, K = {k}: {why}"); return 1; }
        }
        long alloc = (GC.GetTotalAllocatedBytes(true) - alloc0) / episodes;
        double n = episodes;
        string P(long t) => (FeedforwardPhases.Seconds(t) / n).ToString("F4", Inv);
        Console.WriteLine(string.Join(' ', Median(times).ToString("F4", Inv), alloc.ToString(Inv), PeakRss().ToString(Inv),
            P(phases.Forward), P(phases.Backward), P(phases.Update), P(phases.Query), P(phases.Setup)));
        return 0;
    }

    /// <summary>`ff-fuse-ab RULEFILE RULE K ROUNDS`: one learner, episodes alternating with and without the fused
    /// forward pass (FuseForward), in one process: per round the training seconds (forward + backward + update)
    /// of each, then the medians, and a check that both give the same meta-loss and tangents bit for bit.</summary>
    public static int FeedforwardFuseAB(string file, string ruleName, int k, int rounds)
    {
        var rule = LoadRule(file, ruleName);
        var learner = PaperLearner(rule, "fa", new RandomEpisodes(784, 5, k, 10));
        var theta = rule.Params.Select(p => p.Init).ToArray();
        var dirs = Directions.Draw(GradientEstimator.Exact, theta.Length, 0, RuleDsl.Runtime.Data.Rng.For(7, 1, 1));
        var seconds = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (int round = -1; round < rounds; round++)
        {
            var outcomes = new Dictionary<bool, EpisodeOutcome>();
            foreach (var fuse in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var phases = new FeedforwardPhases();
                learner.Phases = phases;
                learner.FuseForward = fuse;
                outcomes[fuse] = learner.Run(theta, dirs, 5, default);
                if (RecurrentRows.Judge(outcomes[fuse]) is { } why) { Console.Error.WriteLine(why); return 1; }
                double train = FeedforwardPhases.Seconds(phases.Forward + phases.Backward + phases.Update);
                if (round >= 0) seconds[fuse].Add(train);
            }
            bool same = outcomes[true].Objective.Equals(outcomes[false].Objective) && outcomes[true].Directional.SequenceEqual(outcomes[false].Directional);
            if (!same) { Console.Error.WriteLine("ff-fuse-ab: the fused and unfused episodes differ"); return 1; }
            if (round >= 0) Console.WriteLine($"round {round}: fused {seconds[true][^1]:F3} s, unfused {seconds[false][^1]:F3} s (training, {k * 5} steps)");
        }
        double fused = Median(seconds[true]), plain = Median(seconds[false]);
        Console.WriteLine($"medians: fused {fused:F3} s, unfused {plain:F3} s, fused/unfused {fused / plain:F3}; same values bit for bit");
        return 0;
    }

    /// <summary>`ff-values`: the meta-loss and its directional derivatives of two episodes, printed in
    /// round-trip format, so that an optimisation can be checked to be bit-identical.</summary>
    public static int FeedforwardValues()
    {
        var data = new RandomEpisodes(784, 5, 20, 10);
        foreach (var (file, name, feedback) in new[] { ("fa", "fa", "fa"), ("bio", "bio", "fa"), ("pool", "pool", "fa"), ("pool", "pool", "bp"), ("pool", "pool", "dfa") })
        {
            var rule = LoadRule(file, name);
            var learner = PaperLearner(rule, feedback, data);
            // Every θ non-zero, so that every term and its tangent is exercised.
            var theta = rule.Params.Select((p, r) => r == 0 ? 1e-2 : 1e-4 * (r % 3 - 1 + 0.5)).ToArray();
            var dirs = Directions.Draw(GradientEstimator.Exact, theta.Length, 0, RuleDsl.Runtime.Data.Rng.For(1, 1, 1));
            foreach (var ep in new[] { 0, 1 })
            {
                var o = learner.Run(theta, dirs, ep, default);
                Console.WriteLine($"{name}/{feedback} episode {ep}: {o.Objective:R} [{string.Join(", ", o.Directional.Select(x => x.ToString("R", Inv)))}] {string.Join(" ", o.Metrics.OrderBy(m => m.Key).Select(m => $"{m.Key}={m.Value:R}"))} {o.Failure}");
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------ recurrent

    /// <summary>One recurrent row in this process: trials per second of one meta-step of
    /// <paramref name="horizon"/> learning trials with D random directions (D = 16 costs what the exact
    /// gradient costs) of the learner `ruledsl run` builds (<see cref="RecurrentRows"/>); prints
    /// "trials/s rss allocated accuracy", or fails (exit 1, the reason on stderr) when the run diverged.</summary>
    public static int RecurrentOne(int units, int directions, int horizon, string? rule = null)
    {
        rule ??= RecurrentRows.RuleOf(directions);
        var (learner, theta, dirs) = RecurrentRows.Row(units, directions, horizon, rule);
        RecurrentRows.Row(units, directions, 2, rule).Loop.Run(theta, dirs, 0, default); // warm-up: JIT tiers
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        var outcome = learner.Run(theta, dirs, 1, default);
        double seconds = sw.Elapsed.TotalSeconds;
        long alloc = GC.GetTotalAllocatedBytes(true) - alloc0;
        if (RecurrentRows.Judge(outcome) is { } why) { Console.Error.WriteLine($"N = {units}, D = {directions}, {horizon} trials, {rule}: {why}"); return 1; }
        Console.WriteLine(string.Join(' ', (horizon / seconds).ToString("F2", Inv), PeakRss().ToString(Inv), alloc.ToString(Inv),
            outcome.Metrics["accuracy"].ToString("F3", Inv)));
        return 0;
    }

    // ------------------------------------------------------------------ the tables

    /// <summary>`meta`: both tables. Options: --episodes N (feedforward timed episodes per row, default 3),
    /// --quick (K = 50 only, fewer recurrent rows), --no-recurrent, --no-feedforward, --pytorch (also
    /// time bench/pytorch/algorithm1.py when python3 with torch is present).</summary>
    public static int Tables(string[] args)
    {
        int episodes = IntOption(args, "--episodes", 3);
        bool quick = args.Contains("--quick");
        var ci = CultureInfo.InvariantCulture;
        // A row whose run diverged prints no figure and fails the benchmark (its reason is on stderr).
        var failed = new List<string>();
        Console.WriteLine($"# RuleDsl meta benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, one thread per row");
        Console.WriteLine($"# load average at start: {LoadAverage()}");
        Machine.PrintRun("meta", "meta" + (quick ? " --quick" : "") + (args.Contains("--pytorch") ? " --pytorch" : ""));
        if (!args.Contains("--no-feedforward"))
        {
            bool torch = false;
            if (args.Contains("--pytorch"))
            {
                torch = PyTorch.Available(out var why);
                if (!torch) Console.WriteLine($"# PyTorch baseline not run: {why}");
            }
            Console.WriteLine();
            Console.WriteLine("## Feedforward meta-episode, 784-170-130-100-70-5, M = 5, Q = 10, random data of MNIST's shape, double precision");
            Console.WriteLine("peak RSS = the process's VmHWM (runtime + compiled kernels + data pool + learner); alloc = managed memory allocated per episode (after warm-up);");
            Console.WriteLine("forward/backward/update/query = seconds per episode in each phase (forward and backward include their state tangents)");
            Console.WriteLine();
            Console.WriteLine("<!-- table:meta-feedforward -->");
            Console.WriteLine(torch
                ? "| estimator | K | inner steps | s / episode | peak RSS MB | alloc KB / ep | PyTorch s / ep | PyTorch peak RSS MB | speed-up | forward | backward | update | query |"
                : "| estimator | K | inner steps | s / episode | peak RSS MB | alloc KB / ep | forward | backward | update | query |");
            Console.WriteLine(torch ? "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var torchRuns = new Dictionary<(string, int), (double Seconds, double RssMb, string? Failure)>();
            foreach (var k in quick ? new[] { 50 } : [50, 500])
                foreach (var row in FeedforwardRows)
                {
                    int eps = k == 500 ? Math.Max(1, episodes / 3) : episodes;
                    var r = Child(["ff-one", row.File, row.Rule, row.Projections.ToString(ci), k.ToString(ci), eps.ToString(ci), "fa", .. row.AllTerms ? new[] { "--all-terms" } : []]);
                    if (r is null) { failed.Add($"{row.Name}, K = {k}"); Console.WriteLine($"| {row.Name} | {k} | {5 * k} | failed | | | |"); continue; }
                    var f = r.Split(' ').Select(x => double.Parse(x, ci)).ToArray();
                    string torchCols = "";
                    if (torch)
                    {
                        // Reverse mode gives the whole gradient at once: random projections have no PyTorch
                        // counterpart, so the pool row with projections is compared with PyTorch's pool.
                        if (!torchRuns.TryGetValue((row.File, k), out var pt))
                            torchRuns[(row.File, k)] = pt = PyTorch.Run(row.File, k, Math.Max(1, eps / 2));
                        torchCols = pt.Failure is { } why ? $"| {why} | | " : $"| {pt.Seconds:F3} | {pt.RssMb:F0} | {pt.Seconds / f[0]:F1}× ";
                    }
                    Console.WriteLine($"| {row.Name} | {k} | {5 * k} | {f[0]:F3} | {f[2] / 1e6:F0} | {f[1] / 1e3:F0} {torchCols}| {f[3]:F3} | {f[4]:F3} | {f[5]:F3} | {f[6]:F3} |");
                }
            Console.WriteLine("<!-- /table:meta-feedforward -->");
        }
        if (!args.Contains("--no-recurrent"))
        {
            Console.WriteLine();
            var task = RecurrentRows.Session(100, 1, RecurrentRows.RuleOf(0)).RecurrentTask();
            Console.WriteLine($"## Rate RNN (RecurrentLearner as `ruledsl run` builds it), DNMS trials of {task.TrialSteps(5)} Euler steps of 5 ms ({task.TrialSteps(5) * 5} ms); "
                + "plain = Miconi's rule, D > 0 = miconi_family (16 θ) at its start θ33 = −1 (Miconi's rule) with D random directions");
            Console.WriteLine("each cell times one meta-step of max(4, 4000 / N / (1 + D/4)) learning trials; a run that diverges fails the benchmark");
            Console.WriteLine();
            Console.WriteLine("<!-- table:meta-recurrent -->");
            Console.WriteLine("| N | plain trials/s | D = 1 | D = 4 | D = 16 |");
            Console.WriteLine("|---:|---:|---:|---:|---:|");
            foreach (var n in quick ? new[] { 100 } : [100, 200, 400])
            {
                var cells = new List<string>();
                foreach (var d in new[] { 0, 1, 4, 16 })
                {
                    int horizon = Math.Max(4, (int)(40.0 * 100 / n / (1 + d / 4.0)));
                    var r = Child(["rnn-one", n.ToString(ci), d.ToString(ci), horizon.ToString(ci)]);
                    if (r is null) failed.Add($"N = {n}, D = {d}");
                    cells.Add(r is null ? "failed" : double.Parse(r.Split(' ')[0], ci).ToString("F1", ci));
                }
                Console.WriteLine($"| {n} | {string.Join(" | ", cells)} |");
            }
            Console.WriteLine("<!-- /table:meta-recurrent -->");
            Console.WriteLine();
            Console.WriteLine("Memory of one meta-step (N = 100, D = 16): peak RSS and managed bytes allocated, 100 vs 1,000 learning trials; accuracy = fraction of the last 100 learning trials answered correctly");
            Console.WriteLine();
            Console.WriteLine("<!-- table:meta-recurrent-memory -->");
            Console.WriteLine("| learning trials | trials/s | peak RSS MB | allocated MB | accuracy |");
            Console.WriteLine("|---:|---:|---:|---:|---:|");
            foreach (var h in quick ? new[] { 10, 100 } : [100, 1000])
            {
                var r = Child(["rnn-one", "100", "16", h.ToString(ci)]);
                if (r is null) { failed.Add($"memory row, {h} trials"); Console.WriteLine($"| {h} | failed | | | |"); continue; }
                var f = r.Split(' ').Select(x => double.Parse(x, ci)).ToArray();
                Console.WriteLine($"| {h} | {f[0]:F1} | {f[1] / 1e6:F0} | {f[2] / 1e6:F1} | {f[3]:F2} |");
            }
            Console.WriteLine("<!-- /table:meta-recurrent-memory -->");
        }
        Console.WriteLine($"# load average at end: {LoadAverage()}");
        // --pytorch: the recurrent peers of issue 19 (numpy, PyTorch) in the same run.
        int peers = 0;
        if (args.Contains("--pytorch") && !args.Contains("--no-recurrent"))
        {
            Console.WriteLine();
            peers = RecurrentPeers.Run(quick ? ["--quick"] : []);
            if (peers != 0) failed.Add("the recurrent peers (above)");
        }
        if (failed.Count == 0) return 0;
        Console.Error.WriteLine($"meta: {failed.Count} row(s) failed and report no figure: {string.Join("; ", failed)} (the reasons are above)");
        return 1;
    }

    internal static int IntOption(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        if (i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1) return v;
        throw new ArgumentException($"{name} needs a whole number ≥ 1{(i + 1 < args.Length ? $", not '{args[i + 1]}'" : "")}");
    }

    /// <summary>Runs this program again with the given arguments; its last stdout line, or null (its stderr is shown).</summary>
    internal static string? Child(string[] args)
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var entry = System.Reflection.Assembly.GetEntryAssembly()!.Location;
        if (Path.GetFileNameWithoutExtension(exe) is "dotnet") psi.ArgumentList.Add(entry);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        var err = stderr.Result;
        if (err.Length > 0) Console.Error.Write(err);
        return p.ExitCode == 0 && lines.Length > 0 ? lines[^1] : null;
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>The peak resident set of this process in bytes (Linux VmHWM; 0 elsewhere).</summary>
    public static long PeakRss()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    internal static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}

/// <summary>The PyTorch baseline (bench/pytorch/algorithm1.py), run in the same benchmark when a
/// python3 with torch is installed (Debian: python3-torch).</summary>
static class PyTorch
{
    static string? python;

    static string? Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "bench", "pytorch", "algorithm1.py");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public static bool Available(out string why)
    {
        why = "";
        if (Script() is null) { why = "bench/pytorch/algorithm1.py not found"; return false; }
        // The Debian package installs into the system python; a python3 earlier on PATH may lack it.
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            var r = PythonPeer.Exec(candidate, ["-c", "import torch; print(torch.__version__)"]);
            if (r is { Code: 0 }) { python = candidate; return true; }
        }
        why = "no python3 with torch (apt-get install -y python3-torch)";
        return false;
    }

    /// <summary>The PyTorch run's address-space cap: its autograd graph grows with K (several GB at
    /// K = 500) and the machine is shared.</summary>
    public const double CapGb = 8;

    /// <summary>Median seconds per meta-episode and peak RSS (MB) of the PyTorch Algorithm 1, or why not.</summary>
    public static (double Seconds, double RssMb, string? Failure) Run(string rule, int k, int episodes)
    {
        if (python is null || Script() is not { } script) return (0, 0, "not run");
        var r = PythonPeer.Exec(python, [script, "--rule", rule, "--k", k.ToString(CultureInfo.InvariantCulture),
            "--episodes", episodes.ToString(CultureInfo.InvariantCulture), "--max-gb", CapGb.ToString(CultureInfo.InvariantCulture)]);
        if (r is { Code: 3 }) return (0, 0, $"> {CapGb} GB");
        if (r is not { Code: 0 }) { Console.Error.WriteLine(r?.Err); return (0, 0, "failed"); }
        var f = r.Value.Out.Trim().Split('\n')[^1].Split(' ');
        return (double.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture) / 1e6, null);
    }
}
