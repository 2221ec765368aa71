using System.Diagnostics;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Engine;
using RuleDsl.Runtime.Engine.Compiled;
using RuleDsl.Runtime.Engine.Feedforward;
using RuleDsl.Runtime.Meta;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Experiments;

/// <summary>Progress of a running experiment, for a progress display.</summary>
public sealed record Progress(int Trial, int Episode, int Done, int Total, double MetaLoss, double Accuracy, TimeSpan Elapsed, string? Failure);

/// <summary>
/// One experiment from its text to its results folder: builds the data, the network, the learner
/// and the meta-trainer from the spec, runs every trial (in parallel), appends each meta-step to
/// episodes.csv as it is produced, and writes summary.json with the discovered rule. Interrupted
/// runs resume from the folder. This is the library behind `ruledsl run`.
/// </summary>
public sealed class ExperimentSession
{
    public ExperimentSpec Spec { get; }
    /// <summary>The rule (of layer 1, when each layer has its own).</summary>
    public Rule Rule { get; }
    /// <summary>The rule of each layer of weights (feedforward, `rule = FILE A, B, …`), or just <see cref="Rule"/>.</summary>
    public IReadOnlyList<Rule> Rules { get; }
    /// <summary>θ: the union of the rules' parameters by name (one rule: its parameters).</summary>
    public IReadOnlyList<Param> Params { get; }
    public string DataMessage { get; private set; } = "";
    readonly string _text;

    /// <summary>The network's equations, from the experiment's .model file (or the shipped model).</summary>
    public LoadedModel Model { get; }

    public ExperimentSession(ExperimentSpec spec, Rule rule, string experimentText, LoadedModel? model = null) : this(spec, [rule], experimentText, model) { }

    /// <summary>A session whose layers learn with <paramref name="rules"/> (one rule for all, or one per layer).
    /// Without <paramref name="model"/>, the experiment's model file is read (the CLI reads it first, to
    /// print its diagnostics).</summary>
    public ExperimentSession(ExperimentSpec spec, IReadOnlyList<Rule> rules, string experimentText, LoadedModel? model = null)
    {
        if (rules.Count == 0) throw new ArgumentException("an experiment needs a rule");
        if (model is null)
        {
            var errors = new StringWriter();
            var loaded = Commands.LoadExperimentModel(FileSystemModule.disk, errors, spec);
            model = loaded.IsOk ? loaded.ResultValue : throw new ArgumentException(errors.ToString().Trim());
        }
        Model = model;
        Spec = spec;
        Rule = rules[0];
        Rules = rules;
        Params = FeedforwardLearner.UnionOfParams(rules);
        _text = experimentText;
    }

    public IKernelBackend Backend() => Spec.Backend switch
    {
        "interpreter" => new InterpretedBackend(),
        "compiled" => new CompiledBackend(),
        _ => new SpecBackend(),
    };

    public MetaSettings MetaSettings() => new(
        Episodes: Spec.Episodes,
        LearningRate: Spec.LearningRate,
        Penalty: new Penalty(Spec.Penalty switch { "l1" => PenaltyKind.L1, "l2" => PenaltyKind.L2, _ => PenaltyKind.None }, Spec.Lambda),
        Estimator: Spec.Estimator switch { "projections" => GradientEstimator.RandomProjection, "reinforce" => GradientEstimator.Reinforce, _ => GradientEstimator.Exact },
        Projections: Spec.Projections,
        Sigma: Spec.Sigma,
        Batch: Spec.Batch,
        StepScale: Params.Select(p => p.Step).ToArray(),
        Lower: Params.Select(p => p.Min).ToArray(),
        Upper: Params.Select(p => p.Max).ToArray(),
        OnDivergence: Spec.OnDivergence switch { "reduce" => DivergencePolicy.ReduceStep, "shrink" => DivergencePolicy.Shrink, "stop" => DivergencePolicy.Stop, _ => DivergencePolicy.Skip },
        Seed: Spec.Seed,
        ProximalL1: Spec.PenaltyStep == "proximal",
        Clip: Spec.Clip);

    public double[] InitialTheta => Params.Select(p => p.Init).ToArray();
    public string[] ThetaNames => Params.Select(p => p.Symbol.Name).ToArray();

    /// <summary>The inner loop of trial <paramref name="trial"/> (its own data stream and weights).</summary>
    public Func<int, IInnerLoop> LoopFactory()
    {
        if (Spec.Setting == "recurrent") return RecurrentFactory();
        var resolved = DataCatalog.Default().Resolve(Spec.Data);
        DataMessage = resolved.Message;
        var data = resolved.Dataset;
        if (Spec.Layers.Head != data.Rows * data.Cols)
            throw new ArgumentException($"{Spec.File}: layers start with {Spec.Layers.Head} inputs but {data.Name} images have {data.Rows * data.Cols} pixels");
        if (Spec.Layers.Last() != Spec.Classes)
            throw new ArgumentException($"{Spec.File}: the output layer has {Spec.Layers.Last()} units but episodes have {Spec.Classes} classes");
        var model = Model is LoadedModel.FeedforwardNet ff ? ff.Item : throw new ArgumentException($"{Spec.File}: the model is not a feedforward network");
        var config = new FeedforwardConfig(Spec.Layers.ToArray(), Spec.Feedback);
        if (Rules.Count != 1 && Rules.Count != config.Depth)
            throw new ArgumentException($"{Spec.File}: {Rules.Count} rules for {config.Depth} layers of weights; name one rule, or one per layer");
        return trial => FeedforwardLoop(Spec.Seed + 1000 * trial, Spec.Train, data);
    }

    /// <summary>A fresh feedforward inner loop: network and episodes from <paramref name="seed"/>,
    /// <paramref name="trainPerClass"/> online samples per class (the experiment's K unless told).</summary>
    public FeedforwardLearner FeedforwardLoop(int seed, int trainPerClass, Dataset? data = null)
    {
        data ??= DataCatalog.Default().Resolve(Spec.Data).Dataset;
        var model = Model is LoadedModel.FeedforwardNet ff ? ff.Item : throw new ArgumentException($"{Spec.File}: the model is not a feedforward network");
        var config = new FeedforwardConfig(Spec.Layers.ToArray(), Spec.Feedback);
        var sampler = new EpisodeSampler(data, (ulong)seed, Spec.Classes, trainPerClass, Spec.Query);
        return Rules.Count == 1
            ? new FeedforwardLearner(config, model, Rule, new SampledEpisodes(sampler), Backend(), seed)
            : new FeedforwardLearner(config, model, Rules, new SampledEpisodes(sampler), Backend(), seed);
    }

    /// <summary>Rate RNNs on a cognitive task with Miconi's (2017) network conventions: an output unit
    /// without external input, three clamped bias units (1, 1, −1), perturbations at 3 Hz per unit of
    /// amplitude ±16, x̄ ← 0.05 x̄ + 0.95 x, a per-condition reward baseline R̄ ← 0.75 R̄ + 0.25 R.</summary>
    Func<int, IInnerLoop> RecurrentFactory()
    {
        var tasks = TaskNames.Select(RecurrentTask).ToArray();
        // The experiment parser has made sure the batch splits evenly between the tasks.
        DataMessage = string.Join("; ", tasks.Select(t => $"task {t.Name} ({t.ConditionCount} conditions, {t.TrialSteps(Spec.Dt * 1000)} steps of {Spec.Dt * 1000:G3} ms)"));
        if (tasks.Length > 1) DataMessage += $"; each meta-step's {Spec.Batch} networks split evenly between the {tasks.Length} tasks";
        var model = RecurrentModel();
        var config = RecurrentConfig();
        var backend = Backend();
        return trial =>
        {
            int seed = TrialSeed(trial);
            IInnerLoop Learner(Tasks.Cognitive.ICognitiveTask task) =>
                new Engine.Recurrent.RecurrentLearner(config, model, Rule, new Engine.Recurrent.CognitiveTrials(task, (ulong)seed), backend, seed);
            return tasks.Length == 1 ? Learner(tasks[0])
                : new Engine.Recurrent.TaskMixture(tasks.Select(t => (t.Name, Learner(t))).ToArray());
        };
    }

    /// <summary>The seed of trial (meta-training run) <paramref name="trial"/>.</summary>
    public int TrialSeed(int trial) => Spec.Seed + 1000 * trial;

    /// <summary>The tasks the experiment meta-trains on: `task = dnms go-nogo` names two.</summary>
    public IReadOnlyList<string> TaskNames => Spec.Tasks;

    /// <summary>The cognitive task <paramref name="name"/> (default: the experiment's one task), at the experiment's time step.</summary>
    public Tasks.Cognitive.ICognitiveTask RecurrentTask(string? name = null)
    {
        if (name is null && TaskNames.Count != 1)
            throw new ArgumentException($"{Spec.File}: the experiment names {TaskNames.Count} tasks ({string.Join(", ", TaskNames)}); choose one with --task");
        name ??= TaskNames[0];
        if (!Tasks.Cognitive.CognitiveTasks.Names.Contains(name))
        {
            var near = Syntax.Suggest.nearest(name, Tasks.Cognitive.CognitiveTasks.Names);
            throw new ArgumentException($"{Spec.File}: unknown task '{name}' (tasks: {string.Join(", ", Tasks.Cognitive.CognitiveTasks.Names)})"
                + (near.IsEmpty ? "" : $"; did you mean {near.Head}?"));
        }
        return Tasks.Cognitive.CognitiveTasks.Create(name, Spec.Dt * 1000);
    }

    /// <summary>The network's equations (the recurrent setting).</summary>
    public RecurrentModel RecurrentModel() =>
        Model is LoadedModel.RecurrentNet rnn ? rnn.Item : throw new ArgumentException($"{Spec.File}: the model is not a recurrent network");

    /// <summary>Network size and conventions (the recurrent setting).</summary>
    public Engine.Recurrent.RecurrentConfig RecurrentConfig() => new(
        Units: Spec.Units, Horizon: Spec.Horizon, Gamma: Spec.Gamma, Dt: Spec.Dt,
        // Miconi's kicks: 3 Hz per unit, each moving x by up to 16·(1 ms)/τ whatever the step
        // (amplitude 16 at dt = 1 ms, scaled by 1 ms/dt), from the fourth step of a trial.
        PerturbationProbability: 3.0 * Spec.Dt, PerturbationAmplitude: 16 * 0.001 / Spec.Dt,
        Clamped: Spec.BiasUnits.Zip<int, double>([1.0, 1.0, -1.0]).ToArray(), LearnAfterTrial: Spec.LearnAfter,
        CarryAverage: Spec.Average == "carry", ReadoutAfterStep: Spec.Readout == "after");

    /// <summary>
    /// A finished or interrupted run whose experiment differs from this one only in a larger
    /// `episodes` is continued to the new length: every trial goes on from its last checkpoint, and
    /// run.json records the change. Any other difference is refused by <see cref="RunFolder.CreateOrResume"/>.
    /// </summary>
    void ExtendIfOnlyLonger()
    {
        if (!File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile))) return;
        var old = RunFolder.Open(Spec.Output).ExperimentText;
        if (old == _text) return;
        var parsed = Experiment.parse(Spec.File, old);
        if (parsed.IsOk && Experiment.extends(parsed.ResultValue, Spec))
            RunFolder.Extend(Spec.Output, _text, parsed.ResultValue.Episodes, Spec.Episodes);
    }

    /// <summary>A stored experiment text is this experiment when it parses to the same settings: a
    /// reworded comment or realigned `=` does not make a run unresumable. The text that ran stays in
    /// run.json.</summary>
    bool SameExperiment(string stored)
    {
        var parsed = Experiment.parse(Spec.File, stored);
        return parsed.IsOk && parsed.ResultValue.Equals(Spec);
    }

    /// <summary>Runs (or resumes) the experiment into its output folder.</summary>
    public RunSummary Run(bool resume, Action<Progress>? progress = null, CancellationToken cancel = default)
    {
        var factory = LoopFactory();
        if (resume) ExtendIfOnlyLonger();
        var folder = RunFolder.CreateOrResume(Spec.Output, _text, new { Spec.Name, Rule = string.Join(", ", Rules.Select(r => r.Name).Distinct()), Spec.Setting, Data = DataMessage }, SameExperiment);
        if (folder.Resumed && !resume)
            throw new InvalidOperationException($"{Spec.Output} already holds a run of this experiment; pass --resume to continue it, or choose another output folder");
        var plan = new TrialPlan(Spec.Trials, Spec.Seed, MetaSettings(), InitialTheta);
        var total = Spec.Trials * Spec.Episodes;
        var clock = Stopwatch.StartNew();
        using var episodes = folder.OpenEpisodes();
        int done = episodes.Completed.Count;
        var gate = new object();
        var log = new CallbackLog((trial, step) =>
        {
            lock (gate)
            {
                // A crash between a row and its checkpoint replays that episode: the same row again.
                if (episodes.IsComplete(trial, step.Episode)) return;
                episodes.Append(Row(trial, step));
                done++;
                progress?.Invoke(new Progress(trial, step.Episode, done, total, step.Objective,
                    step.Metrics.TryGetValue("accuracy", out var a) ? a : double.NaN, clock.Elapsed, step.Failure));
            }
        });
        var finals = new ExperimentRunner(Spec.Output, plan, factory, log).Run(resume, cancel);
        var summary = Summarise(folder, finals);
        folder.WriteSummary(summary);
        return summary;
    }

    CsvRow Row(int trial, MetaStep step)
    {
        var row = new CsvRow().Add("trial", trial).Add("episode", step.Episode)
            .Add("meta_loss", step.Objective).Add("penalised", step.Penalised);
        foreach (var key in new[] { "accuracy" }) row.Add(key, step.Metrics.TryGetValue(key, out var v) ? v : double.NaN);
        for (int r = 0; r < ThetaNames.Length; r++) row.Add(ThetaNames[r], step.ThetaAfter[r]);
        // The same columns on every row, failed episodes included (NaN where an episode measured nothing).
        foreach (var k in MetricColumns()) row.Add(k, step.Metrics.TryGetValue(k, out var v) ? v : double.NaN);
        return row.Add("grad_norm", step.GradientNorm).Add("lr", step.LearningRate).Add("seconds", step.Seconds)
            .Add("failure", step.Failure ?? "");
    }

    /// <summary>The per-episode measurements of this setting, besides accuracy and the meta-loss.</summary>
    public IReadOnlyList<string> MetricColumns()
    {
        // With a batch, each row is the mean over its networks and says how many of them diverged.
        string[] batch = Spec.Batch > 1 ? ["batch_failed"] : [];
        if (Spec.Setting == "recurrent")
        {
            // Several tasks: each one's J and accuracy besides the means over all of them.
            string[] perTask = TaskNames.Count > 1
                ? [.. TaskNames.SelectMany(t => new[] { "J", "accuracy" }.Select(m => Engine.Recurrent.TaskMixture.MetricKey(m, t)))] : [];
            return ["J", "final_reward", "trials_to_criterion", .. perTask, .. batch];
        }
        int L = Spec.Layers.Length - 1;
        return [.. Enumerable.Range(1, L - 1).Select(l => $"angle_{l}"), .. Enumerable.Range(1, L).Select(l => $"orth_{l}"), .. batch];
    }

    /// <summary>What a researcher reads first: final accuracy over trials and the rule that was learned.</summary>
    public sealed record RunSummary(string Experiment, string Rule, string Data, int Trials, int Episodes,
        double FinalAccuracyMean, double FinalAccuracySd, double FinalMetaLossMean, string[] Theta, double[] ThetaMean,
        string Discovered, string DiscoveredLatex, int Failures, double[] ThetaSd, int[] ThetaPositive, int[] ThetaZero,
        string[] Warnings, int FinalEpisodes, int FinalDiverged, double FinalAccuracyWithDivergedAtChance);

    RunSummary Summarise(RunFolder folder, double[][] finals)
    {
        var table = folder.ReadEpisodes();
        var acc = table.Doubles("accuracy");
        var loss = table.Doubles("meta_loss");
        var episode = table.Longs("episode");
        var diverged = RunFolder.Diverged(table);
        // "Final" = the last tenth of the episodes (at least one), averaged per trial then over trials.
        long from = Spec.Episodes - Math.Max(1, Spec.Episodes / 10);
        var last = Enumerable.Range(0, acc.Length).Where(i => episode[i] >= from && double.IsFinite(acc[i])).ToArray();
        double mean = last.Length == 0 ? double.NaN : last.Average(i => acc[i]);
        double sd = last.Length < 2 ? 0 : Math.Sqrt(last.Sum(i => (acc[i] - mean) * (acc[i] - mean)) / (last.Length - 1));
        // Diverged episodes have no accuracy; a network whose learning blew up answers no better than
        // chance, so the mean that counts them at 1/M is the fair one when many diverge.
        var final = Enumerable.Range(0, acc.Length).Where(i => episode[i] >= from).ToArray();
        int finalDiverged = final.Count(i => diverged[i]);
        double chance = Spec.Setting == "feedforward" ? 1.0 / Spec.Classes : double.NaN;
        double withChance = final.Length == 0 ? double.NaN
            : final.Average(i => !diverged[i] && double.IsFinite(acc[i]) ? acc[i] : chance);
        var finiteLoss = last.Where(i => double.IsFinite(loss[i])).ToArray();
        double lossMean = finiteLoss.Length == 0 ? double.NaN : finiteLoss.Average(i => loss[i]);
        var thetaMean = Enumerable.Range(0, ThetaNames.Length).Select(r => finals.Average(f => f[r])).ToArray();
        // How consistent each θ is across trials: a coefficient L1 keeps at zero has no consistent sign.
        var thetaSd = Enumerable.Range(0, ThetaNames.Length).Select(r => finals.Length < 2 ? 0
            : Math.Sqrt(finals.Sum(f => (f[r] - thetaMean[r]) * (f[r] - thetaMean[r])) / (finals.Length - 1))).ToArray();
        var thetaPositive = Enumerable.Range(0, ThetaNames.Length).Select(r => finals.Count(f => f[r] > 0)).ToArray();
        // A proximal L1 step (penalty_step = proximal) puts a coefficient exactly on 0.
        var thetaZero = Enumerable.Range(0, ThetaNames.Length).Select(r => finals.Count(f => f[r] == 0)).ToArray();
        // Terms whose |θ| is below 1 % of the largest are dropped from the printed rule.
        double threshold = 0.01 * thetaMean.Select(Math.Abs).DefaultIfEmpty(0).Max();
        // Each distinct rule with its own θ (by name) from the union; per-layer rules are printed per layer.
        var index = ThetaNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        Expr Discovered(Rule r) => RuleOf.Discovered(r, Microsoft.FSharp.Collections.ListModule.OfSeq(r.Params.Select(p => thetaMean[index[p.Symbol.Name]])), threshold);
        // Where θ sits in a trace (the neo-Hebbian family), the trace is part of the discovered rule.
        Expr DiscoveredRate(Rule r, Semantics.Trace t) => RuleOf.DiscoveredExpr(r, Microsoft.FSharp.Collections.ListModule.OfSeq(r.Params.Select(p => thetaMean[index[p.Symbol.Name]])), threshold, t.Rate);
        string text, latex, ruleName;
        if (Rules.Distinct().Count() == 1)
        {
            var d = Discovered(Rule);
            var traces = Rule.Traces.Select(t => (Text: $"{t.Symbol.Name}{(t.Continuous ? "' =" : " +=")} {Print.Text(DiscoveredRate(Rule, t))}; ",
                Latex: $"{(t.Continuous ? $"\\dot{{{Print.latexName(t.Symbol.Name)}}} =" : $"{Print.latexName(t.Symbol.Name)} \\mathrel{{+}}=")} {Print.Latex(DiscoveredRate(Rule, t))}, \\quad ")).ToArray();
            (text, latex, ruleName) = (string.Concat(traces.Select(t => t.Text)) + "dW = " + Print.Text(d),
                string.Concat(traces.Select(t => t.Latex)) + "\\Delta W = " + Print.Latex(d), Rule.Name);
        }
        else
        {
            var layers = Rules.Select((r, l) => (r, l: l + 1)).GroupBy(x => x.r).Select(g => (Rule: g.Key, Layers: string.Join(",", g.Select(x => x.l)))).ToList();
            text = string.Join("; ", layers.Select(x => $"layer {x.Layers} ({x.Rule.Name}): dW = {Print.Text(Discovered(x.Rule))}"));
            latex = string.Join(" \\\\ ", layers.Select(x => $"\\text{{layer {x.Layers}}}: \\Delta W = {Print.Latex(Discovered(x.Rule))}"));
            ruleName = string.Join(", ", Rules.Select(r => r.Name));
        }
        return new RunSummary(Spec.Name, ruleName, DataMessage, Spec.Trials, Spec.Episodes, mean, sd, lossMean,
            ThetaNames, thetaMean, text, latex, diverged.Count(d => d), thetaSd, thetaPositive, thetaZero,
            [.. GradientNotes.Of(table, ThetaNames, Spec.Clip), .. GradientNotes.Agreement(table, ThetaNames)],
            final.Length, finalDiverged, withChance);
    }

    sealed class CallbackLog(Action<int, MetaStep> append) : IRunLog
    {
        public void Append(int trial, MetaStep step) => append(trial, step);
    }

    /// <summary>`ruledsl gradcheck`: the meta-gradient of one episode by tangent propagation against
    /// central differences of its meta-loss, per θ.</summary>
    public IReadOnlyList<GradientCheckRow> GradientCheck(int episode, double[]? theta = null, double? step = null)
    {
        var loop = LoopFactory()(0);
        return Meta.GradientCheck.Run(loop, theta ?? InitialTheta, ThetaNames, episode, step);
    }
}
