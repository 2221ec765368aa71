using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Engine.Recurrent;

namespace RuleDsl.Bench;

/// <summary>
/// `rnn-peers` (and `meta --pytorch`): the recurrent engine side by side with what a user would otherwise
/// write, in the same run on the same machine (issue 19): Miconi's learner against plain numpy
/// (bench/peers/miconi_numpy.py), and the exact meta-gradient of the 3×3 neo-Hebbian family against
/// PyTorch reverse-mode autograd through learning (bench/peers/meta_gradient_torch.py). Both sides read
/// the same random streams (<see cref="StreamDump"/>), each runs on one thread in a process of its own
/// (so a peak RSS is that side's alone), and <see cref="PeerChecks"/> must find that they computed the
/// same numbers before a ratio is printed; a disagreement or a diverged run fails the bench (exit 1).
/// </summary>
public static class RecurrentPeers
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>`rnn-peer-one miconi|grad H RESULT`: the engine's side of one row, in this process: a
    /// warm-up of two trials (kernels compile, the JIT settles), then the timed learning run.</summary>
    public static int EngineOne(string name, int horizon, string resultPath)
    {
        var setting = StreamDump.Parse(name);
        var theta = StreamDump.Theta(setting);
        var dirs = StreamDump.Directions(setting);
        StreamDump.Session(setting, 2).LoopFactory()(0).Run(theta, dirs, 0, default);
        var learner = (RecurrentLearner)StreamDump.Session(setting, horizon).LoopFactory()(0);
        var rewards = new List<double>(horizon);
        double[]? weights = null;
        learner.OnTrial = (_, reward, _) => rewards.Add(reward);
        learner.OnTrained = (w, _) => weights = w;
        double setup = RssMb("VmRSS:");
        var sw = Stopwatch.StartNew();
        var outcome = learner.Run(theta, dirs, StreamDump.Episode, default);
        double seconds = sw.Elapsed.TotalSeconds;
        if (RecurrentRows.Judge(outcome) is { } why) { Console.Error.WriteLine($"RuleDsl, {name}, H = {horizon}: {why}"); return 1; }
        // The loop minimises −J/H: its directional derivatives along unit vectors are −(∂J/∂θ_r)/H.
        double[]? gradient = dirs.Length == 0 ? null : outcome.Directional.Select(g => -g * horizon).ToArray();
        new PeerResult($"RuleDsl (.NET {Environment.Version})", seconds, [.. rewards], outcome.Metrics["J"], gradient,
            setting == StreamDump.Setting.Miconi ? weights : null, RssMb("VmHWM:"), setup).Write(resultPath);
        Console.WriteLine($"wrote {resultPath}");   // the parent reads the file; a last line says the child succeeded
        return 0;
    }

    static double RssMb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv) * 1024 / 1e6;
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>One side of a row, run <paramref name="repeat"/> times: the median time, the largest peak, and every
    /// run's result (each is checked against the other side).</summary>
    sealed record Side(double Seconds, double PeakRssMb, double SetupRssMb, List<PeerResult> Runs);

    static Side? Measure(int repeat, Func<int, PeerResult?> run)
    {
        var runs = new List<PeerResult>();
        for (int i = 0; i < repeat; i++)
        {
            if (run(i) is not { } r) return null;
            runs.Add(r);
        }
        var times = runs.Select(r => r.Seconds).Order().ToArray();
        double median = times.Length % 2 == 1 ? times[times.Length / 2] : (times[times.Length / 2 - 1] + times[times.Length / 2]) / 2;
        return new Side(median, runs.Max(r => r.PeakRssMb), runs.Min(r => r.SetupRssMb), runs);
    }

    /// <summary>`rnn-peers [--quick] [--repeat R] [--miconi-trials H] [--grad-trials H]`.</summary>
    public static int Run(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is not ("--quick" or "--repeat" or "--miconi-trials" or "--grad-trials"))
                throw new ArgumentException($"rnn-peers: unknown option '{args[i]}' (--quick, --repeat R, --miconi-trials H, --grad-trials H)");
            if (args[i] != "--quick") i++;
        }
        bool quick = args.Contains("--quick");
        int repeat = Math.Max(1, MetaBench.IntOption(args, "--repeat", 1));
        int miconiTrials = MetaBench.IntOption(args, "--miconi-trials", quick ? 20 : 120);
        int gradTrials = MetaBench.IntOption(args, "--grad-trials", quick ? 10 : 40);
        int[] memoryHorizons = [.. new[] { gradTrials / 4, gradTrials / 2, gradTrials }.Where(h => h >= 1).Distinct()];
        var problems = new List<string>();
        var dir = Directory.CreateTempSubdirectory("ruledsl-peers-").FullName;
        try
        {
            var numpy = PythonPeer.Find("numpy", out var numpyVersion, out var numpyWhy);
            var torch = PythonPeer.Find("numpy, torch", out var torchVersion, out var torchWhy);
            Console.WriteLine($"# RuleDsl recurrent peers (issue 19) — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            Console.WriteLine($"# machine: {Machine.Describe()}");
            Console.WriteLine($"# RuleDsl on .NET {Environment.Version}; peers: {numpy ?? "-"}: {(numpy is null ? numpyWhy : numpyVersion)}; {torch ?? "-"}: {(torch is null ? torchWhy : torchVersion)}; every side on one thread, in a process of its own");
            Console.WriteLine("# each side reads the same random streams (rnn-dump); the ratio is printed only when both computed the same numbers");
            Machine.PrintRun("rnn-peers", "rnn-peers" + string.Concat(args.Select(x => " " + x)));
            Console.WriteLine();

            // Miconi's learner: the engine vs numpy.
            string miconiDump = Path.Combine(dir, "miconi.bin");
            StreamDump.Write(miconiDump, StreamDump.Setting.Miconi, StreamDump.Session(StreamDump.Setting.Miconi, miconiTrials));
            var miconiEngine = Measure(repeat, i => EngineSide("miconi", miconiTrials, Path.Combine(dir, $"miconi-engine-{i}.json")));
            if (miconiEngine is null) problems.Add("Miconi's learner: the engine's run failed (its reason is above)");
            Side? miconiPeer = null;
            if (numpy is null) problems.Add($"Miconi's learner: the numpy peer was not run: {numpyWhy}");
            else miconiPeer = Measure(repeat, i => PeerSide(numpy, "miconi_numpy.py", miconiDump, Path.Combine(dir, $"miconi-numpy-{i}.json"), problems));
            var miconiCheck = Check("Miconi's learner", miconiEngine, miconiPeer, problems);

            // The meta-gradient: the engine's tangents vs PyTorch's reverse mode, at every H of the memory table.
            var grad = new List<(int H, Side? Engine, Side? Peer, PeerChecks.Agreement? Check)>();
            foreach (var h in memoryHorizons)
            {
                string dump = Path.Combine(dir, $"grad-{h}.bin");
                StreamDump.Write(dump, StreamDump.Setting.Grad, StreamDump.Session(StreamDump.Setting.Grad, h));
                var engine = Measure(repeat, i => EngineSide("grad", h, Path.Combine(dir, $"grad-{h}-engine-{i}.json")));
                if (engine is null) problems.Add($"meta-gradient, H = {h}: the engine's run failed (its reason is above)");
                Side? peer = null;
                if (torch is null) { if (h == gradTrials) problems.Add($"meta-gradient: the PyTorch peer was not run: {torchWhy}"); }
                else peer = Measure(repeat, i => PeerSide(torch, "meta_gradient_torch.py", dump, Path.Combine(dir, $"grad-{h}-torch-{i}.json"), problems));
                grad.Add((h, engine, peer, Check($"meta-gradient, H = {h}", engine, peer, problems)));
            }

            // The issue's third row has no peer: one plasticity step of the ten-term pool with 10 tangents over
            // one plain F0 step, on the paper's five layers at its starting θ (the `ratio` command, scale 1).
            var f0 = new NetworkStep("f0", 0, ThetaMode.Paper, 1, handWritten: false);
            var pool = new NetworkStep("pool", 10, ThetaMode.Paper, 1, handWritten: false);
            // F0 and the pool in turn, nine rounds: the pool streams ≈ 15 MB per step and F0's 1.4 MB stays in
            // cache, so the ratio moves with the bandwidth the host leaves; the cell gives the median and the range.
            var (f0Us, poolUs, ratios) = Program.TimeInterleaved(f0.RunCompiled, pool.RunCompiled);
            // The same two steps in float32 (the issue's "float32 halves the traffic"): both sides in one precision.
            var (f0Us32, poolUs32, ratios32) = Program.TimeInterleaved(NetworkStep32.Runner(f0, true), NetworkStep32.Runner(pool, true));
            static string Spread(double[] r) => $"{r[r.Length / 2]:F1}× ({r.Length} rounds in turn: {r[0]:F1}–{r[^1]:F1}×)";

            var main = grad[^1];
            // Each goal checked against this run's figures (a row without a figure meets nothing).
            bool miconiMet = miconiEngine is not null && miconiPeer is not null && miconiCheck is { Agrees: true }
                && miconiPeer.Seconds / miconiEngine.Seconds >= 10 && miconiTrials / miconiEngine.Seconds >= 120;
            bool gradMet = main.Engine is not null && main.Peer is not null && main.Check is { Agrees: true }
                && main.Peer.Seconds / main.Engine.Seconds >= 5 && grad.All(g => g.Engine is { PeakRssMb: < 100 });
            double pool64 = ratios[ratios.Length / 2], pool32 = ratios32[ratios32.Length / 2];
            string poolGoal = (pool64 <= 15, pool32 <= 15) switch
            {
                (true, true) => "met in float64 and float32",
                (false, true) => "met in float32, not in float64",
                (true, false) => "met in float64, not in float32",
                _ => "not met",
            };
            static string Met(bool met) => met ? "met" : "not met";
            Console.WriteLine("<!-- table:rnn-peers -->");
            Console.WriteLine("| measured side by side on one machine | RuleDsl | peer | ratio | goal (issue 19) |");
            Console.WriteLine("|---|---|---|---:|---|");
            Console.WriteLine($"| Miconi's learner at his settings (N = 200, dt = 1 ms, 1,000 steps per trial), plain learning, {miconiTrials} trials, 1 thread | "
                + Cell(miconiEngine, s => $"{miconiTrials / s.Seconds:F1} trials/s, {s.PeakRssMb:F0} MB") + " | "
                + Cell(miconiPeer, s => $"numpy: {miconiTrials / s.Seconds:F1} trials/s, {s.PeakRssMb:F0} MB") + " | "
                + Ratio(miconiEngine, miconiPeer, miconiCheck) + $" | ≥ 10× (≥ 120 trials/s): {Met(miconiMet)} |");
            Console.WriteLine($"| exact meta-gradient of the 3×3 neo-Hebbian family, N = 100, 200 steps per trial, H = {main.H} learning trials | "
                + Cell(main.Engine, s => $"{s.Seconds:F2} s, {s.PeakRssMb:F0} MB") + " | "
                + Cell(main.Peer, s => $"PyTorch reverse mode (autograd through learning), float64, 1 thread: {s.Seconds:F2} s, {s.PeakRssMb:F0} MB (+{s.PeakRssMb - s.SetupRssMb:F0} MB over its start)") + " | "
                + Ratio(main.Engine, main.Peer, main.Check) + $" | ≥ 5×, memory flat in H (< 100 MB at every H below): {Met(gradMet)} |");
            Console.WriteLine($"| pool + 10 tangents vs plain F0 step (feedforward, the paper's 784-170-130-100-70-5 at its starting θ) | pool + 10 tangents: {poolUs:F0} µs; float32: {poolUs32:F0} µs | (no peer) plain F0: {f0Us:F0} µs; float32: {f0Us32:F0} µs | {Spread(ratios)} the F0 step; float32: {Spread(ratios32)} | ≤ 15× (median): {poolGoal} |");
            Console.WriteLine("<!-- /table:rnn-peers -->");
            Console.WriteLine();
            Console.WriteLine($"Ratio = the peer's time / RuleDsl's time (higher is better), except the last row's (lower is better). Same numbers: Miconi's learner {Agreed(miconiCheck)}; meta-gradient at H = {main.H} {Agreed(main.Check)}.");
            Console.WriteLine();
            Console.WriteLine("Memory of the meta-gradient as the horizon grows (peak RSS of each side's process; PyTorch's growth = peak − RSS before its forward pass):");
            Console.WriteLine();
            Console.WriteLine("<!-- table:rnn-peers-memory -->");
            Console.WriteLine("| H | RuleDsl s | RuleDsl peak MB | PyTorch s | PyTorch peak MB | PyTorch growth MB | ratio |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (h, engine, peer, check) in grad)
                Console.WriteLine($"| {h} | {Cell(engine, s => s.Seconds.ToString("F2", Inv))} | {Cell(engine, s => s.PeakRssMb.ToString("F0", Inv))} | "
                    + $"{Cell(peer, s => s.Seconds.ToString("F2", Inv))} | {Cell(peer, s => s.PeakRssMb.ToString("F0", Inv))} | "
                    + $"{Cell(peer, s => (s.PeakRssMb - s.SetupRssMb).ToString("F0", Inv))} | {Ratio(engine, peer, check)} |");
            Console.WriteLine("<!-- /table:rnn-peers-memory -->");
            Console.WriteLine();
            Console.WriteLine($"# load average at end: {MetaBench.LoadAverage()}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
        if (problems.Count == 0) return 0;
        foreach (var p in problems) Console.Error.WriteLine($"rnn-peers: {p}");
        Console.Error.WriteLine($"rnn-peers: {problems.Count} problem(s): the rows concerned print no ratio");
        return 1;
    }

    static PeerResult? EngineSide(string setting, int horizon, string resultPath) =>
        MetaBench.Child(["rnn-peer-one", setting, horizon.ToString(Inv), resultPath]) is null ? null
            : Progress($"RuleDsl, {setting}, H = {horizon}", PeerResult.Read(resultPath));

    static PeerResult? PeerSide(string python, string script, string dump, string resultPath, List<string> problems)
    {
        var r = PythonPeer.Run(python, script, dump, resultPath, out var why);
        if (r is null) problems.Add(why);
        return r is null ? null : Progress($"{script}, {Path.GetFileNameWithoutExtension(dump)}", r);
    }

    /// <summary>Each side's figures on stderr as it finishes (the table comes at the end of the run).</summary>
    static PeerResult Progress(string what, PeerResult r)
    {
        Console.Error.WriteLine($"rnn-peers: {what}: {r.Seconds:F2} s, peak RSS {r.PeakRssMb:F0} MB");
        return r;
    }

    /// <summary>Every run of one side against every run of the other; the worst agreement, or null when a side is missing.</summary>
    static PeerChecks.Agreement? Check(string row, Side? engine, Side? peer, List<string> problems)
    {
        if (engine is null || peer is null) return null;
        PeerChecks.Agreement? worst = null;
        foreach (var e in engine.Runs)
            foreach (var p in peer.Runs)
            {
                var a = PeerChecks.Compare(e, p);
                if (worst is null || !a.Agrees || (worst.Agrees && a.Rewards + a.J > worst.Rewards + worst.J)) worst = a;
                if (!a.Agrees) break;
            }
        if (worst is { Agrees: false }) problems.AddRange(worst.Problems.Select(p => $"{row}: {p}"));
        return worst;
    }

    static string Cell(Side? side, Func<Side, string> format) => side is null ? "failed" : format(side);

    static string Ratio(Side? engine, Side? peer, PeerChecks.Agreement? check) =>
        engine is null || peer is null ? "" : check is { Agrees: true } ? $"{peer.Seconds / engine.Seconds:F1}×" : "different numbers";

    static string Agreed(PeerChecks.Agreement? check) =>
        check is null ? "not compared" : check.Agrees ? $"agree ({check.Describe()})" : $"DISAGREE ({check.Describe()})";
}

/// <summary>The machine a bench ran on: CPU model, cores, load average (printed with every table).</summary>
public static class Machine
{
    public static string Describe() => $"{Cpu()}, load average at start {MetaBench.LoadAverage()}";

    /// <summary>CPU model and core count.</summary>
    public static string Cpu()
    {
        string cpu = "unknown CPU";
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores";
    }

    /// <summary>The line the docs quote above a regenerated table (block NAME-run, see scripts/bench-tables.sh):
    /// when, where, under what load, by which command. A block printed after its run gives the run's start and
    /// the load then (started, load); detail: what else the reader needs to know of the run.</summary>
    public static void PrintRun(string name, string command, DateTime? started = null, string? load = null, string? detail = null)
    {
        var avg = (load ?? MetaBench.LoadAverage()).Split(' ');
        bool loaded = double.TryParse(avg[0], CultureInfo.InvariantCulture, out var one) && one > Environment.ProcessorCount - 0.5;
        Console.WriteLine($"<!-- table:{name}-run -->");
        Console.WriteLine($"Measured {started ?? DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `{command}` on {Cpu()}, "
            + $"load average {string.Join(" ", avg.Take(3))} at the start" + (detail is null ? "" : $"; {detail}")
            + (loaded ? ": the machine was shared and loaded, so treat the figures as indicative." : "."));
        Console.WriteLine($"<!-- /table:{name}-run -->");
    }
}
