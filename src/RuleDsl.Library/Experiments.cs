using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl;

/// <summary>An experiment read with everything it names, ready to run: its settings, its checked rules,
/// its model. <see cref="Session"/> is the runtime's session, for what this facade does not cover.</summary>
public sealed class Experiment
{
    /// <summary>Every setting (defaults included), typed.</summary>
    public ExperimentSpec Spec => Session.Spec;

    /// <summary>The rule of each layer (one rule for all, or one per layer of weights).</summary>
    public IReadOnlyList<Rule> Rules => Session.Rules;

    /// <summary>The network the rules learn in.</summary>
    public LoadedModel Model => Session.Model;

    /// <summary>The results folder a run writes (the experiment's `output`, relative to the working directory).</summary>
    public string Output => Spec.Output;

    /// <summary>The runtime's session: the learners, the meta-trainer's settings, the data.</summary>
    public ExperimentSession Session { get; }

    internal Experiment(ExperimentSession session) => Session = session;

    /// <summary>A one-line summary, as `ruledsl run --check` prints it.</summary>
    public override string ToString() =>
        $"experiment {Spec.Name}: {Spec.Setting} rule {string.Join(", ", Rules.Select(r => r.Name).Distinct())}, {Spec.Episodes} episodes × {Spec.Trials} trials → {Spec.Output}";
}

/// <summary>Experiments: read from a file or a string, run with progress and cancellation, check the
/// meta-gradient against central differences.</summary>
public static class Experiments
{
    static Outcome<Experiment> Read(FileSystem fs, string path)
    {
        var loaded = ExperimentInput.Load(fs, path);
        if (loaded.IsError) return Outcome<Experiment>.Of(null, loaded.ErrorValue);
        return Outcome<Experiment>.Of(new Experiment(ExperimentSession.Of(loaded.ResultValue, fs)), loaded.ResultValue.Warnings);
    }

    /// <summary>Parses and checks experiment text held in memory, with its rules and model.
    /// <paramref name="files"/> holds further texts by path (a rule written in a notebook cell, `"mine.rule"`),
    /// read before the disk; `std/NAME` names the shipped rules and models. <paramref name="path"/> names
    /// the experiment in messages; its folder is where relative names are looked up first.</summary>
    public static Outcome<Experiment> Parse(string text, IReadOnlyDictionary<string, string>? files = null, string path = "inline.experiment")
    {
        var all = new Dictionary<string, string>(files ?? new Dictionary<string, string>()) { [path] = text };
        return Read(Files.Over(all), path);
    }

    /// <summary>Reads and checks an experiment file, with its rules and model; <paramref name="files"/> as for <see cref="Parse"/>.</summary>
    public static Outcome<Experiment> Load(string path, IReadOnlyDictionary<string, string>? files = null) => Read(Files.Over(files), path);

    /// <summary>Runs (or with <paramref name="resume"/> continues) the experiment into its output folder,
    /// as `ruledsl run` does: episodes.csv is written row by row, summary.json at the end.
    /// <paramref name="progress"/> is called after every episode (from the trials' threads).
    /// <paramref name="cancel"/> stops the run between episodes with an <see cref="OperationCanceledException"/>;
    /// the folder then holds every finished episode and checkpoint, and a run with resume continues it.
    /// Problems of the input or data (a folder that already holds this run without resume, missing data,
    /// a setting the runtime cannot use) come back as problems, not exceptions.</summary>
    public static Outcome<ExperimentSession.RunSummary> Run(Experiment experiment, Action<Progress>? progress = null,
        CancellationToken cancel = default, bool resume = false)
    {
        try
        {
            return Outcome<ExperimentSession.RunSummary>.Of(experiment.Session.Run(resume, progress, cancel), []);
        }
        catch (ExperimentInputException ex)
        {
            return new(null, [Problem.Of(ex.Diagnostic)], ex.Message + "\n");
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is TrialFailedException))
        {
            return Outcome<ExperimentSession.RunSummary>.Failed(experiment.Spec.File, string.Join("; ", ex.InnerExceptions.Select(e => e.Message)));
        }
        catch (Exception ex) when (ex is DataException or ResultsException or ArgumentException or InvalidOperationException or IOException)
        {
            return Outcome<ExperimentSession.RunSummary>.Failed(experiment.Spec.File, ex.Message);
        }
    }

    /// <summary>As <see cref="Run(Experiment, Action{Progress}?, CancellationToken, bool)"/>, reporting progress through an <see cref="IProgress{T}"/>.</summary>
    public static Outcome<ExperimentSession.RunSummary> Run(Experiment experiment, IProgress<Progress> progress,
        CancellationToken cancel = default, bool resume = false) =>
        Run(experiment, progress.Report, cancel, resume);

    /// <summary>The meta-gradient of one episode by tangent propagation against central differences of
    /// the meta-loss (`ruledsl gradcheck`), one row per θ.</summary>
    public static Outcome<IReadOnlyList<GradientCheckRow>> GradCheck(Experiment experiment, int episode = 0, double? step = null)
    {
        try
        {
            return Outcome<IReadOnlyList<GradientCheckRow>>.Of(experiment.Session.GradientCheck(episode, step: step).ToList(), []);
        }
        catch (ExperimentInputException ex)
        {
            return new(null, [Problem.Of(ex.Diagnostic)], ex.Message + "\n");
        }
        catch (Exception ex) when (ex is DataException or ArgumentException or InvalidOperationException or IOException)
        {
            return Outcome<IReadOnlyList<GradientCheckRow>>.Failed(experiment.Spec.File, ex.Message);
        }
    }
}
