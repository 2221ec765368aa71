using RuleDsl.Syntax;
using System.Collections.Concurrent;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Runtime.Tests.Meta;

namespace RuleDsl.Runtime.Tests.Experiments;

sealed class MemoryLog : IRunLog
{
    public ConcurrentBag<(int Trial, MetaStep Step)> Rows { get; } = [];
    public void Append(int trial, MetaStep step) => Rows.Add((trial, step));
}

/// An inner loop that stops the process (throws) at a given episode, as a crash would.
sealed class Crashing(IInnerLoop inner, int crashAt) : IInnerLoop
{
    public int ParameterCount => inner.ParameterCount;
    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel) =>
        episode == crashAt ? throw new OperationCanceledException("interrupted") : inner.Run(theta, directions, episode, cancel);
}

public class ExperimentRunnerTests
{
    static readonly double[] Centre = [0.3, -0.2, 0.05];
    static TrialPlan Plan => new(Trials: 3, Seed: 5, new MetaSettings(Episodes: 12, LearningRate: 1e-2, Projections: 2)
        { Estimator = GradientEstimator.RandomProjection }, Theta.Unbounded(0, 0, 0));

    [Fact]
    public void Trials_run_in_parallel_with_their_own_seeds_and_log_every_step()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var log = new MemoryLog();
        var finals = new ExperimentRunner(dir, Plan, _ => new Bowl(Centre), log).Run(resume: false);
        Assert.Equal(36, log.Rows.Count);
        Assert.Equal(3, log.Rows.Select(r => r.Trial).Distinct().Count());
        Assert.NotEqual(finals[0], finals[1]); // different direction streams per trial
    }

    [Fact]
    public void An_interrupted_run_resumes_to_the_same_result()
    {
        var whole = new ExperimentRunner(Directory.CreateTempSubdirectory().FullName, Plan, _ => new Bowl(Centre), new MemoryLog()).Run(resume: false);

        var dir = Directory.CreateTempSubdirectory().FullName;
        var first = new MemoryLog();
        Assert.ThrowsAny<Exception>(() => new ExperimentRunner(dir, Plan, _ => new Crashing(new Bowl(Centre), crashAt: 7), first).Run(resume: false));
        Assert.Equal(21, first.Rows.Count); // episodes 0..6 of each trial were kept
        var second = new MemoryLog();
        var resumed = new ExperimentRunner(dir, Plan, _ => new Bowl(Centre), second).Run(resume: true);
        Assert.Equal(15, second.Rows.Count); // only episodes 7..11 ran again
        Assert.All(second.Rows, r => Assert.InRange(r.Step.Episode, 7, 11));
        for (int t = 0; t < 3; t++) Assert.Equal(whole[t], resumed[t]);
    }
}
