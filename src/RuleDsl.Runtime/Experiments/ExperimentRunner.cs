using System.Collections.Concurrent;
using System.Text.Json;
using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Experiments;

/// <summary>Where a run's results go as they are produced (a CSV file, a progress display, a test).</summary>
public interface IRunLog
{
    /// <summary>Called once per finished meta-step, from whichever trial produced it (thread-safe).</summary>
    void Append(int trial, MetaStep step);
}

/// <summary>How the trials of an experiment are run: each trial is a fresh meta-training run from the
/// initial θ with its own seed; trials run in parallel on the available cores.</summary>
public sealed record TrialPlan(int Trials, int Seed, MetaSettings Meta, Theta Theta, int MaxParallel = 0)
{
    /// <summary>Trial t's seed: documented so a user can rerun one trial alone.</summary>
    public int TrialSeed(int trial) => Seed + 1000 * trial;
}

/// <summary>Runs the trials of an experiment, writes every meta-step to the log as it is produced and a
/// checkpoint per trial after each step, and resumes from the checkpoints of an interrupted run.</summary>
public sealed class ExperimentRunner(string outputFolder, TrialPlan plan, Func<int, IInnerLoop> makeLoop, IRunLog log)
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    string CheckpointPath(int trial) => Path.Combine(outputFolder, "checkpoints", $"trial{trial}.json");

    /// <summary>The checkpoint of a trial, if an earlier run left one.</summary>
    public MetaCheckpoint? LoadCheckpoint(int trial)
    {
        var path = CheckpointPath(trial);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<MetaCheckpoint>(File.ReadAllText(path), Json); }
        catch (JsonException ex) { throw new InvalidDataException($"{path}: the checkpoint is unreadable ({ex.Message}); delete it to restart that trial"); }
    }

    void SaveCheckpoint(int trial, MetaCheckpoint c)
    {
        var path = CheckpointPath(trial);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(c, Json));
        File.Move(tmp, path, overwrite: true); // atomic: a crash leaves the old or the new checkpoint, never half of one
    }

    /// <summary>Runs (or, with <paramref name="resume"/>, continues from its checkpoint) trial
    /// <paramref name="t"/> alone; returns its final θ. One unit of a run split over processes.</summary>
    public double[] RunTrial(int t, bool resume, CancellationToken cancel = default)
    {
        var checkpoint = resume ? LoadCheckpoint(t) : null;
        var trainer = new MetaTrainer(makeLoop(t), plan.Meta with { Seed = plan.TrialSeed(t) }, plan.Theta, checkpoint);
        foreach (var step in trainer.Run(cancel))
        {
            log.Append(t, step);
            SaveCheckpoint(t, trainer.Checkpoint);
        }
        return trainer.Theta;
    }

    /// <summary>Runs (or, with <paramref name="resume"/>, continues) every trial. Returns the final θ per trial.</summary>
    public double[][] Run(bool resume, CancellationToken cancel = default)
    {
        var finals = new double[plan.Trials][];
        int parallel = plan.MaxParallel > 0 ? plan.MaxParallel : Environment.ProcessorCount;
        // A trial that fails does not stop the others: each keeps its log and checkpoint, and the
        // failures are reported together at the end.
        var errors = new ConcurrentQueue<Exception>();
        Parallel.For(0, plan.Trials, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancel }, t =>
        {
            try
            {
                finals[t] = RunTrial(t, resume, cancel);
            }
            catch (Exception ex) when (!cancel.IsCancellationRequested)
            {
                errors.Enqueue(new TrialFailedException(t, ex));
            }
        });
        if (!errors.IsEmpty) throw new AggregateException(errors);
        return finals;
    }
}

public sealed class TrialFailedException(int trial, Exception inner)
    : Exception($"trial {trial} stopped: {inner.Message}", inner)
{
    public int Trial { get; } = trial;
}
