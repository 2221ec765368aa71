using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>
/// One meta-objective over several tasks: inner episode e learns task e mod k (each task its own
/// learner, so its own inputs, conditions and trial stream), so a batch of a multiple of k networks
/// averages J and its gradient over every task equally. Each outcome also reports its metrics under
/// `key_task`, which the batch mean turns into per-task means.
/// </summary>
public sealed class TaskMixture : IInnerLoop
{
    readonly (string Name, IInnerLoop Loop)[] _tasks;

    public TaskMixture(IReadOnlyList<(string Name, IInnerLoop Loop)> tasks)
    {
        if (tasks.Count == 0) throw new ArgumentException("a task mixture needs at least one task");
        if (tasks.Select(t => t.Loop.ParameterCount).Distinct().Count() != 1)
            throw new ArgumentException("every task of a mixture learns with the same θ");
        _tasks = [.. tasks];
    }

    public int ParameterCount => _tasks[0].Loop.ParameterCount;

    /// <summary>The task inner episode <paramref name="episode"/> learns.</summary>
    public string TaskOf(int episode) => _tasks[episode % _tasks.Length].Name;

    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        var (name, loop) = _tasks[episode % _tasks.Length];
        var outcome = loop.Run(theta, directions, episode, cancel);
        var metrics = new Dictionary<string, double>(outcome.Metrics);
        foreach (var (key, value) in outcome.Metrics) metrics[MetricKey(key, name)] = value;
        // A diverged network's message says which task it was learning.
        return outcome with { Metrics = metrics, Failure = outcome.Failure is null ? null : $"{name}: {outcome.Failure}" };
    }

    /// <summary>The column that holds <paramref name="metric"/> of <paramref name="task"/> alone.</summary>
    public static string MetricKey(string metric, string task) => $"{metric}_{task}";
}
