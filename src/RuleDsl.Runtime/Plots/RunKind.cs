using System.Globalization;
using RuleDsl.Runtime.Results;
using RuleDsl.Runtime.Tasks.Cognitive;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Plots;

/// <summary>
/// What a run folder's numbers mean, read from the experiment its run.json records: the setting (the words of
/// its columns differ) and the accuracy of a network answering at random, overall and per task.
/// <paramref name="Chance"/> is null when the experiment cannot be read (then no chance line is drawn).
/// </summary>
public sealed record RunKind(bool Recurrent, ReferenceLine? Chance, IReadOnlyDictionary<string, ReferenceLine> TaskChances)
{
    /// <summary>The chance line of an accuracy column (in %): <c>accuracy</c>, or <c>accuracy_TASK</c> for one task.</summary>
    public ReferenceLine? ChanceOf(string column) =>
        column.StartsWith("accuracy_", StringComparison.Ordinal) && TaskChances.TryGetValue(column["accuracy_".Length..], out var c) ? c
        : column == "accuracy" ? Chance : null;

    /// <summary>The kind of <paramref name="run"/>; a run.json whose experiment does not parse (e.g. written by
    /// a test) is told by its columns: a recurrent run writes J.</summary>
    public static RunKind Of(RunFolder run, CsvTable episodes)
    {
        var spec = Experiment.parse(run.File(RunFolder.RunFile), run.ExperimentText);
        if (!spec.IsOk) return new RunKind(episodes.HasColumn("J"), null, new Dictionary<string, ReferenceLine>());
        var s = spec.ResultValue;
        if (s.Setting.IsFeedforward) return new RunKind(false, FeedforwardChance(s.Classes), new Dictionary<string, ReferenceLine>());
        var tasks = s.Tasks.Where(CognitiveTasks.Names.Contains).ToDictionary(t => t, t => ChanceOfTask(t));
        // Tasks are mixed in equal shares per meta-step, so the mean accuracy's chance is the mean of theirs.
        ReferenceLine? overall = tasks.Count == 0 ? null
            : tasks.Count == 1 ? tasks.Values.Single()
            : Line(tasks.Values.Average(l => l.Y) / 100, "chance, mean over the tasks");
        return new RunKind(true, overall, tasks);
    }

    /// <summary>Chance in a <paramref name="classes"/>-way classification: one in <paramref name="classes"/>.</summary>
    public static ReferenceLine FeedforwardChance(int classes) => Line(1.0 / classes, $"chance (1 of {classes} classes)");

    /// <summary>Chance of the cognitive task <paramref name="task"/>: one over its number of answers.</summary>
    public static ReferenceLine ChanceOfTask(string task) => Line(CognitiveTasks.Create(task).ChanceLevel, $"chance on {task}");

    static ReferenceLine Line(double fraction, string words) =>
        new(100 * fraction, $"{words} = {(100 * fraction).ToString("G3", CultureInfo.InvariantCulture)} %");
}
