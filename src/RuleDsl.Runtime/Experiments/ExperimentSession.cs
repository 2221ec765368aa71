using System.Diagnostics;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Kernels;
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
public sealed partial class ExperimentSession
{
    public ExperimentSpec Spec { get; }
    /// <summary>The rule (of layer 1, when each layer has its own).</summary>
    public Rule Rule { get; }
    /// <summary>The rule of each layer of weights (feedforward, `rule = FILE A, B, …`), or just <see cref="Rule"/>.</summary>
    public IReadOnlyList<Rule> Rules { get; }
    /// <summary>θ: the union of the rules' parameters by name (one rule: its parameters).</summary>
    public Theta Theta { get; }
    public string DataMessage { get; private set; } = "";
    readonly string _text;
    /// <summary>The experiment file's text.</summary>
    public string ExperimentText => _text;
    /// <summary>The other files the experiment reads (its rule files, their includes, its model), as they
    /// were read, keyed by their path relative to the experiment's folder: run.json keeps them.</summary>
    public IReadOnlyList<SourceFile> Sources { get; }

    /// <summary>The network's equations, from the experiment's .model file (or the shipped model).</summary>
    public LoadedModel Model { get; }

    public ExperimentSession(ExperimentSpec spec, Rule rule, string experimentText, LoadedModel? model = null) : this(spec, [rule], experimentText, model) { }

    /// <summary>A session whose layers learn with <paramref name="rules"/> (one rule for all, or one per layer).
    /// Without <paramref name="model"/>, the experiment's model file is read (the CLI reads it first, to
    /// print its diagnostics). The files the rules and model came from are read through <paramref name="files"/>
    /// (default: the disk) to be recorded with the run.</summary>
    public ExperimentSession(ExperimentSpec spec, IReadOnlyList<Rule> rules, string experimentText, LoadedModel? model = null, FileSystem? files = null)
    {
        if (rules.Count == 0) throw new ArgumentException("an experiment needs a rule");
        files ??= FileSystemModule.disk;
        if (model is null)
        {
            var loaded = ExperimentInput.Model(files, spec);
            model = loaded.IsOk ? loaded.ResultValue.Item1 : throw new ArgumentException(ProblemsModule.Render(loaded.ErrorValue).Trim());
        }
        Model = model;
        Spec = spec;
        Rule = rules[0];
        Rules = rules;
        Theta = Theta.Of(rules);
        _text = experimentText;
        Sources = ReadSources(files);
    }

    /// <summary>The session of an experiment as <see cref="ExperimentInput.Load"/> read it (its rules, model and
    /// text), its files read through <paramref name="files"/> (default: the disk) to be recorded with the run.</summary>
    public static ExperimentSession Of(LoadedExperiment loaded, FileSystem? files = null) =>
        new(loaded.Spec, loaded.Rules.ToList(), loaded.Text, loaded.Model, files);

    /// <summary>The rule files, their includes and the model, each under its path relative to the
    /// experiment's folder (so a run resumed from another working directory finds them the same).</summary>
    IReadOnlyList<SourceFile> ReadSources(FileSystem files)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(Spec.File)) ?? ".";
        return Semantics.Sources.OfExperiment(files, Spec, Rules.Select(r => r.File).Distinct()).Select(s => s.Shipped
            ? new SourceFile("ruledsl:" + s.Path, s.Text, s.Path + " (shipped with ruledsl)")
            : new SourceFile(Path.GetRelativePath(folder, Path.GetFullPath(s.Path)).Replace('\\', '/'), s.Text, s.Path)).ToList();
    }

    /// <summary>An error in the experiment's input located at the line that gives <paramref name="key"/>
    /// (the file alone when the setting has its default).</summary>
    public ExperimentInputException InputError(string key, string message, string? hint = null) =>
        new(Experiment.SettingError(Spec.File, _text, key, message, hint ?? ""), Experiment.RenderSettingError(Spec.File, _text, key, message, hint ?? ""));

    /// <summary>The experiment's backend in its precision, or in <paramref name="precision"/> (the analyses
    /// of a trained network run in float64 whatever the run's).</summary>
    public IKernelBackend Backend(Precision? precision = null) =>
        Spec.Backend.IsInterpreter ? new InterpretedBackend() : new SimdBackend(precision ?? Spec.Precision);

    public MetaSettings MetaSettings() => new(
        Episodes: Spec.Episodes,
        LearningRate: Spec.LearningRate,
        Projections: Spec.Projections,
        Sigma: Spec.Sigma,
        Batch: Spec.Batch,
        Seed: Spec.Seed,
        ProximalL1: Spec.PenaltyStep.IsProximal,
        Clip: Spec.Clip,
        MaxDiverged: Spec.MaxDiverged)
    {
        Penalty = new Penalty(Spec.Penalty, Spec.Lambda),
        Estimator = Spec.Estimator,
        OnDivergence = Spec.OnDivergence,
    };

    /// <summary>The inner loop of trial <paramref name="trial"/> (its own data stream and weights), its
    /// equations run by <paramref name="backend"/> (default: the experiment's). Everything the experiment's
    /// settings name is resolved here — data read, episodes possible, tasks known — so `run --check` calls it
    /// too; what cannot be used is an <see cref="ExperimentInputException"/> at its line.</summary>
    public Func<int, IInnerLoop> LoopFactory(IKernelBackend? backend = null)
    {
        if (Spec.Setting.IsRecurrent) return RecurrentFactory(backend ?? Backend());
        ResolvedDataset resolved;
        try
        {
            resolved = DataCatalog.Default().Resolve(Spec.Data);
            // The sampler checks that episodes can be drawn: enough classes for the ways, enough images per class.
            _ = new EpisodeSampler(resolved.Dataset, (ulong)Spec.Seed, Spec.Classes, Spec.Train, Spec.Query);
        }
        catch (DataException e)
        {
            throw InputError("data", e.Message);
        }
        DataMessage = resolved.Message;
        var data = resolved.Dataset;
        if (Spec.Layers.Head != data.Rows * data.Cols)
            throw InputError("layers", $"layers start with {Spec.Layers.Head} inputs but {data.Name} images have {data.Rows * data.Cols} pixels");
        if (Spec.Layers.Last() != Spec.Classes)
            throw InputError("layers", $"the output layer has {Spec.Layers.Last()} units but episodes have {Spec.Classes} classes");
        var model = Model is LoadedModel.FeedforwardNet ff ? ff.Item : throw new ArgumentException($"{Spec.File}: the model is not a feedforward network");
        var config = new FeedforwardConfig(Spec.Layers.ToArray(), Spec.Feedback);
        if (Rules.Count != 1 && Rules.Count != config.Depth)
            throw new ArgumentException($"{Spec.File}: {Rules.Count} rules for {config.Depth} layers of weights; name one rule, or one per layer");
        return trial => FeedforwardLoop(Spec.Seed + 1000 * trial, Spec.Train, data, backend);
    }

    /// <summary>A fresh feedforward inner loop: network and episodes from <paramref name="seed"/>,
    /// <paramref name="trainPerClass"/> online samples per class (the experiment's K unless told).</summary>
    public FeedforwardLearner FeedforwardLoop(int seed, int trainPerClass, Dataset? data = null, IKernelBackend? backend = null)
    {
        backend ??= Backend();
        data ??= DataCatalog.Default().Resolve(Spec.Data).Dataset;
        var model = Model is LoadedModel.FeedforwardNet ff ? ff.Item : throw new ArgumentException($"{Spec.File}: the model is not a feedforward network");
        var config = new FeedforwardConfig(Spec.Layers.ToArray(), Spec.Feedback);
        var sampler = new EpisodeSampler(data, (ulong)seed, Spec.Classes, trainPerClass, Spec.Query);
        return Rules.Count == 1
            ? new FeedforwardLearner(config, model, Rule, new SampledEpisodes(sampler), backend, seed)
            : new FeedforwardLearner(config, model, Rules, new SampledEpisodes(sampler), backend, seed);
    }

    /// <summary>Rate RNNs on a cognitive task with Miconi's (2017) network conventions: an output unit
    /// without external input, three clamped bias units (1, 1, −1), perturbations at 3 Hz per unit of
    /// amplitude ±16, x̄ ← 0.05 x̄ + 0.95 x, a per-condition reward baseline R̄ ← 0.75 R̄ + 0.25 R.</summary>
    Func<int, IInnerLoop> RecurrentFactory(IKernelBackend backend)
    {
        var tasks = TaskNames.Select(t => RecurrentTask(t, fromSpec: true)).ToArray();
        // The experiment parser has made sure the batch splits evenly between the tasks.
        DataMessage = string.Join("; ", tasks.Select(t => $"task {t.Name} ({t.ConditionCount} conditions, {t.TrialSteps(Spec.Dt * 1000)} steps of {Spec.Dt * 1000:G3} ms)"));
        if (tasks.Length > 1) DataMessage += $"; each meta-step's {Spec.Batch} networks split evenly between the {tasks.Length} tasks";
        var model = RecurrentModel();
        var config = RecurrentConfig();
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

    /// <summary>The cognitive task <paramref name="name"/> (default: the experiment's one task), at the experiment's time step.
    /// A name <paramref name="fromSpec"/> that is not a task is an error at the experiment's `task` line.</summary>
    public Tasks.Cognitive.ICognitiveTask RecurrentTask(string? name = null, bool fromSpec = false)
    {
        if (name is null && TaskNames.Count != 1)
            throw new ArgumentException($"{Spec.File}: the experiment names {TaskNames.Count} tasks ({string.Join(", ", TaskNames)}); choose one with --task");
        fromSpec |= name is null;
        name ??= TaskNames[0];
        if (!Tasks.Cognitive.CognitiveTasks.Names.Contains(name))
        {
            var near = Syntax.Suggest.nearest(name, Tasks.Cognitive.CognitiveTasks.Names);
            var message = $"unknown task '{name}' (tasks: {string.Join(", ", Tasks.Cognitive.CognitiveTasks.Names)})";
            if (fromSpec)
                throw InputError("task", message, near.IsEmpty ? null : $"did you mean {near.Head}?");
            throw new ArgumentException($"{Spec.File}: {message}" + (near.IsEmpty ? "" : $"; did you mean {near.Head}?"));
        }
        try { return Tasks.Cognitive.CognitiveTasks.Create(name, Spec.Dt * 1000); }
        catch (ArgumentException e) when (e.ParamName is "dt" or "trialMs")
        {
            // A time step the task cannot be built at (no step in a trial): the experiment's dt line.
            throw InputError("dt", e.Message.Replace($" (Parameter '{e.ParamName}')", "").TrimEnd('.'));
        }
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
        CarryAverage: Spec.Average.IsCarry, ReadoutAfterStep: Spec.Readout.IsAfter,
        Criterion: Spec.Criterion, CriterionWindow: Spec.CriterionWindow);

    /// <summary>
    /// A finished or interrupted run whose experiment differs from this one only in a larger
    /// `episodes` is continued to the new length: every trial goes on from its last checkpoint, and
    /// run.json records the change. Any other difference is refused by <see cref="RunFolder.CreateOrResume"/>.
    /// </summary>
    void ExtendIfOnlyLonger()
    {
        if (!File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile))) return;
        var existing = RunFolder.Open(Spec.Output);
        var old = existing.ExperimentText;
        if (old == _text) return;
        // A run whose rules or model changed is refused as it stands, before run.json records a longer run.
        if (RunFolder.SourcesChanged(existing, Sources) is not null) return;
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
        if (Cluster.RunUnits.IsUnitRun(Spec.Output)) return RunRemainingUnits(resume, progress, cancel);
        var folder = RunFolder.CreateOrResume(Spec.Output, _text, RunSettings(), SameExperiment, Sources);
        if (folder.Resumed && !resume)
            throw new InvalidOperationException($"{Spec.Output} already holds a run of this experiment; pass --resume to continue it, or choose another output folder");
        var plan = new TrialPlan(Spec.Trials, Spec.Seed, MetaSettings(), Theta);
        var total = Spec.Trials * Spec.Episodes;
        var clock = Stopwatch.StartNew();
        var episodes = folder.OpenEpisodes();
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
        var runner = new ExperimentRunner(Spec.Output, plan, factory, log);
        double[][] finals;
        try { finals = runner.Run(resume, cancel); }
        finally { episodes.Dispose(); }
        // Rows in (trial, episode) order, not in the order parallel trials finished them: the file a
        // run by units merges to, and a summary that does not depend on timing.
        Cluster.RunUnits.SortEpisodes(folder.File(RunFolder.EpisodesFile));
        // A trial that stopped for divergence says so in its checkpoint (and stays stopped on --resume).
        var stopped = Enumerable.Range(0, Spec.Trials).Select(t => (t, Why: runner.LoadCheckpoint(t)?.Stopped))
            .Where(x => x.Why is not null).Select(x => $"trial {x.t}: {x.Why}").ToArray();
        var summary = Summarise(folder, finals, stopped);
        folder.WriteSummary(summary);
        return summary;
    }

    CsvRow Row(int trial, MetaStep step)
    {
        var row = new CsvRow().Add("trial", trial).Add("episode", step.Episode)
            .Add("meta_loss", step.Objective).Add("penalised", step.Penalised);
        foreach (var key in new[] { "accuracy" }) row.Add(key, step.Metrics.TryGetValue(key, out var v) ? v : double.NaN);
        for (int r = 0; r < Theta.Count; r++) row.Add(Theta.Entries[r].Name, step.ThetaAfter[r]);
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
        if (Spec.Setting.IsRecurrent)
        {
            // Several tasks: each one's J and accuracy besides the means over all of them.
            string[] perTask = TaskNames.Count > 1
                ? [.. TaskNames.SelectMany(t => new[] { "J", "accuracy" }.Select(m => Engine.Recurrent.TaskMixture.MetricKey(m, t)))] : [];
            return ["J", "final_reward", "trials_to_criterion", .. perTask, .. batch];
        }
        int L = Spec.Layers.Length - 1;
        return [.. Enumerable.Range(1, L - 1).Select(l => $"angle_{l}"), .. Enumerable.Range(1, L).Select(l => $"orth_{l}"), .. batch];
    }

    /// <summary>What a researcher reads first: final accuracy over trials and the rule that was learned
    /// (<see cref="LeftOut"/>: the terms it leaves out, and why). A run whose θ is not meta-learned
    /// (<see cref="NotLearned"/> says why) discovered no rule: <see cref="Discovered"/> is null.</summary>
    public sealed record RunSummary(string Experiment, string Rule, string Data, int Trials, int Episodes,
        double FinalAccuracyMean, double FinalAccuracySd, double FinalMetaLossMean, string[] Theta, double[] ThetaMean,
        string? Discovered, string? DiscoveredLatex, int Failures, double[] ThetaSd, int[] ThetaPositive, int[] ThetaZero,
        string[] Warnings, int FinalEpisodes, int FinalDiverged, double FinalAccuracyWithDivergedAtChance, string[] LeftOut,
        int FinalFinite, string[] Stopped, string? Advice, string[] NotLearned);

    /// <summary>Why a run's θ (the mean over its trials) is not meta-learned, a line per trial: one that
    /// stopped for divergence (<paramref name="stopped"/>, "trial t: why" as summary.json's Stopped has it),
    /// or one whose every episode diverged, so that θ never took a meta-gradient step. Empty when every
    /// trial learned.</summary>
    public static string[] NotLearned(CsvTable episodes, IReadOnlyList<string> stopped)
    {
        if (episodes.Rows.Count == 0) return [.. stopped];
        var diverged = RunFolder.Diverged(episodes);
        var trial = episodes.Longs("trial");
        var never = Enumerable.Range(0, trial.Length).GroupBy(i => trial[i]).Where(g => g.All(i => diverged[i]))
            .Where(g => !stopped.Any(s => s.StartsWith($"trial {g.Key}: ", StringComparison.Ordinal)))
            .Select(g => $"trial {g.Key}: every one of its {g.Count()} episodes diverged, so θ never took a meta-gradient step");
        return [.. stopped, .. never];
    }

    /// <summary>
    /// θ meta-learned by this experiment's run (the mean over its trials, from summary.json), or null when
    /// its results folder holds no finished run. That θ is only the θ of the rule as it reads now when the
    /// experiment, its rules, their includes and its model still say what they said when the run began
    /// (comments and layout aside, as for --resume), only the run's when its summary is of all its episodes,
    /// and only meta-learned when every trial learned (<see cref="NotLearned"/>); otherwise a <see cref="ResultsException"/> says why, not another rule's θ.
    /// </summary>
    public double[]? LearnedTheta()
    {
        if (!File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile))) return null;
        var folder = RunFolder.Open(Spec.Output);
        if (folder.ReadSummary() is not { } summary) return null;
        // The experiment is compared too: another rule name, model or setting is another rule's θ.
        var experiment = Path.GetFileName(Spec.File);
        IReadOnlyList<SourceFile>? then = folder.Sources is null ? null : [new SourceFile(experiment, folder.ExperimentText), .. folder.Sources];
        if (RunFolder.SourcesDiffer(folder.File(RunFolder.RunFile), then, [new SourceFile(experiment, _text, Spec.File), .. Sources],
                "its θ could be another rule's than the one the files give now; run the experiment again (into another results folder, or delete this one)",
                "its θ was meta-learned with the files as they were, and would be another rule's θ applied to the rule as it reads now; "
                + "run the experiment again (into another results folder, or delete this one), or point the experiment at the files as they were "
                + $"(run.json keeps a copy of each under \"sources\")") is { } why)
            throw new ResultsException(why);
        string summaryPath = folder.File(RunFolder.SummaryFile);
        // A run extended to more episodes (--resume) and interrupted still holds the shorter run's summary.
        if (summary["Episodes"] is JsonValue ran && ran.TryGetValue<int>(out var episodes) && episodes != Spec.Episodes)
            throw new ResultsException($"{summaryPath}: θ is of the run's first {episodes} episodes, and its continuation to {Spec.Episodes} "
                + $"has not finished; continue it with `run --resume`");
        var stopped = (summary["Stopped"] as JsonArray ?? []).Select(n => n?.GetValue<string>() ?? "").ToArray();
        if (NotLearned(folder.ReadEpisodes(), stopped) is { Length: > 0 } reasons)
            throw new ResultsException($"{summaryPath}: θ is not meta-learned: {string.Join("; ", reasons)}; "
                + "change the experiment so that it learns and run it again, or use the rule at its initial θ with --initial-theta");
        if ((summary["ThetaMean"] ?? summary["thetaMean"]) is not JsonArray mean || mean.Count != Theta.Count)
            throw new ResultsException($"{summaryPath}: no \"ThetaMean\" of {Theta.Count} values, one per θ of {string.Join(", ", Theta.Names)}");
        return mean.Select(x => x!.GetValue<double>()).ToArray();
    }

    /// <summary>What to change when a run stops for divergence (the remedies this runtime offers).</summary>
    public const string DivergenceAdvice =
        "try `on_divergence = shrink` (θ scaled toward zero after each diverged episode), a smaller starting θ in the rule, " +
        "`step` on the parameters that act at a large scale (`param theta9 = 0 step 0.01`), or `clip` (the largest meta-gradient norm)";

    RunSummary Summarise(RunFolder folder, double[][] finals, string[] stopped)
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
        // No finite episode: no spread either (NaN, not 0, so that nothing reads it as a measured ± 0).
        double sd = last.Length == 0 ? double.NaN : last.Length < 2 ? 0 : Math.Sqrt(last.Sum(i => (acc[i] - mean) * (acc[i] - mean)) / (last.Length - 1));
        // Diverged episodes have no accuracy; a network whose learning blew up answers no better than
        // chance, so the mean that counts them at 1/M is the fair one when many diverge.
        var final = Enumerable.Range(0, acc.Length).Where(i => episode[i] >= from).ToArray();
        int finalDiverged = final.Count(i => diverged[i]);
        double chance = Spec.Setting.IsFeedforward ? 1.0 / Spec.Classes : double.NaN;
        double withChance = final.Length == 0 ? double.NaN
            : final.Average(i => !diverged[i] && double.IsFinite(acc[i]) ? acc[i] : chance);
        var finiteLoss = last.Where(i => double.IsFinite(loss[i])).ToArray();
        double lossMean = finiteLoss.Length == 0 ? double.NaN : finiteLoss.Average(i => loss[i]);
        var names = Theta.Names;
        var thetaMean = Enumerable.Range(0, names.Length).Select(r => finals.Average(f => f[r])).ToArray();
        // How consistent each θ is across trials: a coefficient L1 keeps at zero has no consistent sign.
        var thetaSd = Enumerable.Range(0, names.Length).Select(r => finals.Length < 2 ? 0
            : Math.Sqrt(finals.Sum(f => (f[r] - thetaMean[r]) * (f[r] - thetaMean[r])) / (finals.Length - 1))).ToArray();
        var thetaPositive = Enumerable.Range(0, names.Length).Select(r => finals.Count(f => f[r] > 0)).ToArray();
        // A proximal L1 step (penalty_step = proximal) puts a coefficient exactly on 0.
        var thetaZero = Enumerable.Range(0, names.Length).Select(r => finals.Count(f => f[r] == 0)).ToArray();
        // Each distinct rule with its own θ (by name) from the union; per-layer rules are printed per layer.
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        // Nothing learned, nothing discovered: no rule, and no episode spent measuring its terms.
        var notLearned = NotLearned(table, stopped);
        var (dropped, leftOut, notes) = notLearned.Length > 0 ? ([], [], []) : LeftOutTerms(thetaMean);
        Microsoft.FSharp.Collections.FSharpList<double> ThetaOf(Rule r) => Microsoft.FSharp.Collections.ListModule.OfSeq(r.Params.Select(p => thetaMean[index[p.Symbol.Name]]));
        Microsoft.FSharp.Collections.FSharpList<string> DroppedFrom(Rule r, Symbol target) =>
            Microsoft.FSharp.Collections.ListModule.OfSeq(dropped.TryGetValue((r, target), out var d) ? d : []);
        Expr Discovered(Rule r) => RuleOf.Discovered(r, ThetaOf(r), DroppedFrom(r, r.Weight));
        // Where θ sits in a trace (the neo-Hebbian family), the trace is part of the discovered rule.
        Expr DiscoveredRate(Rule r, Semantics.Trace t) => RuleOf.DiscoveredExpr(r, ThetaOf(r), DroppedFrom(r, t.Symbol), t.Rate);
        string? text = null, latex = null;
        string ruleName = Rules.Distinct().Count() == 1 ? Rule.Name : string.Join(", ", Rules.Select(r => r.Name));
        if (notLearned.Length == 0 && Rules.Distinct().Count() == 1)
        {
            var d = Discovered(Rule);
            var traces = Rule.Traces.Select(t => (Text: $"{t.Symbol.Name}{(t.Continuous ? "' =" : " +=")} {Print.Text(DiscoveredRate(Rule, t))}; ",
                Latex: $"{(t.Continuous ? $"\\dot{{{Print.latexName(t.Symbol.Name)}}} =" : $"{Print.latexName(t.Symbol.Name)} \\mathrel{{+}}=")} {Print.Latex(DiscoveredRate(Rule, t))}, \\quad ")).ToArray();
            (text, latex) = (string.Concat(traces.Select(t => t.Text)) + "dW = " + Print.Text(d),
                string.Concat(traces.Select(t => t.Latex)) + "\\Delta W = " + Print.Latex(d));
        }
        else if (notLearned.Length == 0)
        {
            var layers = Rules.Select((r, l) => (r, l: l + 1)).GroupBy(x => x.r).Select(g => (Rule: g.Key, Layers: string.Join(",", g.Select(x => x.l)))).ToList();
            text = string.Join("; ", layers.Select(x => $"layer {x.Layers} ({x.Rule.Name}): dW = {Print.Text(Discovered(x.Rule))}"));
            latex = string.Join(" \\\\ ", layers.Select(x => $"\\text{{layer {x.Layers}}}: \\Delta W = {Print.Latex(Discovered(x.Rule))}"));
        }
        return new RunSummary(Spec.Name, ruleName, DataMessage, Spec.Trials, Spec.Episodes, mean, sd, lossMean,
            names, thetaMean, text, latex, diverged.Count(d => d), thetaSd, thetaPositive, thetaZero,
            [.. GradientNotes.Of(table, names, Spec.Clip), .. GradientNotes.Agreement(table, names), .. notes],
            final.Length, finalDiverged, withChance, leftOut, last.Length, stopped, stopped.Length > 0 ? DivergenceAdvice : null, notLearned);
    }

    /// <summary>A term is negligible in the discovered rule when its size at the run's states is below
    /// this fraction of the size of the expression it is part of (ΔW, a trace's rate).</summary>
    public const double NegligibleTerm = 0.01;

    /// <summary>
    /// Which terms the discovered rule leaves out, per rule and expression (by the target it updates:
    /// W, a trace), and a line for each saying why. Candidates are the terms whose θ is a coefficient
    /// (<see cref="RuleOf.CoefficientTerms"/>: a threshold or exponent is always printed) below 1 % of
    /// the largest |θ|. A candidate whose θ is 0 is left out; any other only when its term, measured
    /// over one episode of trial 0 run with the learned θ (the last of the last five that does not
    /// diverge), is below <see cref="NegligibleTerm"/> of its expression: a learning rate of 1e-3
    /// beside a threshold of 0.5 is the whole update, not a negligible term.
    /// </summary>
    (Dictionary<(Rule, Symbol), List<string>> Dropped, string[] LeftOut, string[] Notes) LeftOutTerms(double[] theta)
    {
        var index = Theta.Names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        double small = 0.01 * theta.Select(Math.Abs).DefaultIfEmpty(0).Max();
        var probes = Rules.Distinct().SelectMany(r => TermProbe.Of(r, s => Math.Abs(theta[index[s.Name]]) < small)).ToList();
        var dropped = new Dictionary<(Rule, Symbol), List<string>>();
        var leftOut = new List<string>();
        var notes = new List<string>();
        var measured = probes.Where(p => p.Terms.Any(t => theta[index[t.Theta]] != 0)).ToList();
        string? failure = null;
        if (measured.Count > 0)
        {
            // The last episode of trial 0, or the one before it where that one diverges (up to five).
            try
            {
                var loop = LoopFactory(new ProbingBackend(Backend(), measured))(0);
                for (int e = Spec.Episodes - 1; e >= Math.Max(0, Spec.Episodes - 5); e--)
                {
                    foreach (var p in measured) p.Reset();
                    failure = loop.Run(theta, [], e, CancellationToken.None).Failure;
                    if (failure is null) break;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException) { failure = ex.Message; }
            if (failure is not null)
                notes.Add($"the discovered rule prints every term with a non-zero θ: the episode that measures the small ones at the learned θ failed ({failure})");
        }
        foreach (var p in probes)
        {
            string where = (Rules.Distinct().Count() > 1 ? $"{p.Rule.Name}, " : "") + (p.Target.Equals(p.Rule.Weight) ? "ΔW" : $"the rate of {p.Target.Name}");
            var list = dropped[(p.Rule, p.Target)] = [];
            // Coefficients at exactly 0 (a proximal L1 step puts them there) in one line.
            var zeros = p.Terms.Select(t => t.Theta).Where(n => theta[index[n]] == 0).ToList();
            list.AddRange(zeros);
            if (zeros.Count > 0) leftOut.Add($"{string.Join(", ", zeros)} = 0 ({where})");
            for (int k = 0; k < p.Terms.Count; k++)
            {
                var (name, _) = p.Terms[k];
                double value = theta[index[name]], size = p.RelativeSize(k);
                if (value == 0 || failure is not null || !(size < NegligibleTerm)) continue;
                list.Add(name);
                leftOut.Add($"{name} = {value:G4}: its term is {size:G2} of the size of {where} at the run's states (below {NegligibleTerm:P0})");
            }
        }
        return (dropped, [.. leftOut], [.. notes]);
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
        // float32: its tangents against differences of the same episode in float64 (GradientCheck.Run).
        var reference = Spec.Precision.IsFloat32 ? LoopFactory(Backend(Precision.Float64))(0) : null;
        return Meta.GradientCheck.Run(loop, theta ?? Theta.Initial, Theta.Names, episode, step,
            tolerance: Meta.GradientCheck.Tolerance(Spec.Precision), reference: reference);
    }
}
