using System.Globalization;
using System.Text;
using System.Text.Json;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Bench;

/// <summary>
/// The two recurrent settings the peers of issue 19 run, and the random streams of one learning run
/// written to a file (`rnn-dump miconi|grad H FILE`) so that a numpy or PyTorch peer consumes exactly
/// the numbers the engine draws: the initial weights, and per learning trial its condition, inputs,
/// target, scoring mask, initial state and kicks. Everything else (the dynamics, traces, rewards,
/// weight changes) the peer computes itself. The tests link this file.
///
/// Format (read by bench/peers/rnn_streams.py): one line of JSON (the settings), then little-endian
/// float64 values: W (N×N, post × pre), W_in (N×K), and per trial: condition, T, x0 (N), inputs (T×K),
/// target (T), mask (T), the number M of kicks, then M triples (step, unit, amplitude).
/// </summary>
public static class StreamDump
{
    public enum Setting { Miconi, Grad }

    public static Setting Parse(string name) => name switch
    {
        "miconi" => Setting.Miconi,
        "grad" => Setting.Grad,
        _ => throw new ArgumentException($"unknown peer setting '{name}' (miconi or grad)"),
    };

    /// <summary>The episode the peers run (the engine's warm-up runs episode 0).</summary>
    public const int Episode = 1;

    /// <summary>The 3×3 family's point the meta-gradient is taken at (θ[k,l], k-major): away from the
    /// origin, where the trace and so ΔW vanish, so that learning and its tangents are all exercised.</summary>
    public static readonly double[] GradTheta = [0.1, -0.2, 0.3, 0.05, 1.0, -0.3, 0.02, 0.2, -0.1];

    /// <summary>Miconi's learner at his settings (as examples/miconi_dnms_paper.experiment: N = 200,
    /// dt = 1 ms, τ = 30 ms, 1,000 steps per DNMS trial), or the 3×3 neo-Hebbian family at N = 100,
    /// dt = 5 ms (200 steps per trial); <paramref name="horizon"/> learning trials. <paramref name="learnAfter"/>
    /// overrides the trials before the first weight change (Miconi: 101), so a short run can change weights.</summary>
    public static ExperimentSession Session(Setting setting, int horizon, int? learnAfter = null)
    {
        var (ruleFile, rule, extra) = setting switch
        {
            Setting.Miconi => ("miconi.rule", "miconi",
                $"  learn_after = {learnAfter ?? 101}\n  xbar = carry\n  readout = after\n  bias_units = 1 10 11\n  units = 200\n  tau = 0.03\n  dt = 0.001\n"),
            _ => ("neo_hebbian.rule", "neo_hebbian", $"  learn_after = {learnAfter ?? 0}\n  units = 100\n"),
        };
        var path = Path.Combine(RecurrentRows.RulesDir(), ruleFile);
        var text = $"experiment bench_peers\n  setting = recurrent\n  rule = {path} {rule}\n  task = dnms\n" +
                   $"  horizon = {horizon}\n  output = unused\n" + extra;
        var spec = Experiment.parse(Path.Combine(RecurrentRows.RulesDir(), "bench.experiment"), text);
        if (spec.IsError) throw new InvalidOperationException(string.Join("\n", spec.ErrorValue.Select(d => d.Message)));
        var checkedRules = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([path]));
        if (checkedRules.HasErrors) throw new InvalidOperationException(Check.Render(checkedRules));
        return new ExperimentSession(spec.ResultValue, checkedRules.Rules.Single(r => r.Name == rule), text);
    }

    /// <summary>θ of a setting: Miconi's rule has none; the family runs at <see cref="GradTheta"/>.</summary>
    public static double[] Theta(Setting setting) => setting == Setting.Miconi ? [] : (double[])GradTheta.Clone();

    /// <summary>The exact gradient's directions: one unit vector per θ (none for plain learning).</summary>
    public static double[][] Directions(Setting setting) => setting == Setting.Miconi ? []
        : Runtime.Meta.Directions.Draw(GradientEstimator.Exact, GradTheta.Length, 0, Runtime.Data.Rng.For(1, 1, 1));

    /// <summary>Writes the streams of <see cref="Episode"/> of the session's first trial to <paramref name="path"/>.</summary>
    public static void Write(string path, Setting setting, ExperimentSession session)
    {
        var config = session.RecurrentConfig();
        var task = session.RecurrentTask();
        int seed = session.TrialSeed(0), n = config.Units, k = task.InputCount;
        var header = new Dictionary<string, object>
        {
            ["format"] = "ruledsl-rnn-streams 1",
            ["rule"] = setting == Setting.Miconi ? "miconi" : "neo_hebbian",
            ["units"] = n,
            ["inputs"] = k,
            ["trials"] = config.Horizon,
            ["conditions"] = task.ConditionCount,
            ["dt"] = config.Dt,
            ["tau"] = session.Spec.Tau,
            // models/rnn.model's constants (the peers write the model's equations by hand).
            ["alpha_x"] = 0.05,
            ["alpha_r"] = 0.75,
            ["gamma"] = config.Gamma,
            // The rules' constants: rules/miconi.rule (η, clip) and rules/neo_hebbian.rule (η).
            ["eta"] = setting == Setting.Miconi ? 0.1 : 1e-3,
            ["clip"] = setting == Setting.Miconi ? 3e-4 : 0.0,
            ["theta"] = Theta(setting),
            ["trace_from_step"] = config.TraceFromStep,
            ["learn_after"] = config.LearnAfterTrial,
            ["carry_average"] = config.CarryAverage,
            ["readout_after"] = config.ReadoutAfterStep,
            ["output_unit"] = config.OutputUnit,
            ["clamped"] = (config.Clamped ?? []).Select(c => new object[] { c.Unit, c.Value }).ToArray(),
            ["seed"] = seed,
            ["episode"] = Episode,
        };
        using var file = File.Create(path);
        file.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header) + "\n"));
        using var w = new BinaryWriter(file);
        // The engine's draws in the engine's order (RecurrentLearner.Run).
        var init = RecurrentStreams.Init((ulong)seed, Episode);
        double sd = config.Gain / Math.Sqrt(n);
        for (int i = 0; i < n * n; i++) w.Write(sd * init.Normal());
        var win = new double[n * k];
        for (int i = 0; i < win.Length; i++) win[i] = 2 * init.NextDouble() - 1;
        Array.Clear(win, config.OutputUnit * k, k);
        foreach (var v in win) w.Write(v);
        var trials = new CognitiveTrials(task, (ulong)seed);
        for (int h = 0; h < config.Horizon; h++)
        {
            var trial = trials.Get(Episode, h);
            var noise = RecurrentStreams.Trial((ulong)seed, Episode, h);
            int steps = trial.Target.Length;
            w.Write((double)trial.Condition);
            w.Write((double)steps);
            for (int i = 0; i < n; i++) w.Write(config.InitialState * (2 * noise.NextDouble() - 1));
            for (int t = 0; t < steps; t++)
                for (int q = 0; q < k; q++) w.Write(trial.Inputs[t][q]);
            foreach (var v in trial.Target) w.Write(v);
            foreach (var v in trial.Mask) w.Write(v);
            var kicks = new List<(int T, int I, double A)>();
            for (int t = 0; t < steps; t++)
                for (int i = 0; i < n; i++)
                    if (t >= config.PerturbationFromStep && noise.NextDouble() < config.PerturbationProbability)
                        kicks.Add((t, i, config.PerturbationAmplitude * (2 * noise.NextDouble() - 1)));
            w.Write((double)kicks.Count);
            foreach (var (t, i, a) in kicks) { w.Write((double)t); w.Write((double)i); w.Write(a); }
        }
    }

    /// <summary>`rnn-dump miconi|grad H FILE`.</summary>
    public static int Command(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) || h < 1)
        {
            Console.Error.WriteLine("usage: rnn-dump miconi|grad H FILE   (H ≥ 1 learning trials)");
            return 2;
        }
        Setting setting;
        try { setting = Parse(args[0]); }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
        Write(args[2], setting, Session(setting, h));
        Console.WriteLine($"wrote {args[2]}");
        return 0;
    }
}
