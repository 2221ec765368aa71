using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Experiments;

/// <summary>One point of a sweep with the experiment file written for it (in the sweep's output,
/// beside the point's results folder).</summary>
public sealed record SweepPointFile(SweepPoint Point, string File);

/// <summary>
/// A `.sweep` file read, checked and expanded: one experiment per point of its grid, each with its own
/// results folder under the sweep's output. Its experiment files are written there
/// (<see cref="WriteExperiments"/>) so that every point is an ordinary experiment — run locally, run
/// by units, submitted, collected — and so that the nodes of a cluster read the same text.
/// </summary>
public sealed class SweepPlan
{
    public SweepSpec Spec { get; }
    public IReadOnlyList<SweepPointFile> Points { get; }
    /// <summary>The base experiment file (as the sweep names it, from the sweep's folder).</summary>
    public string BaseExperiment { get; }

    SweepPlan(SweepSpec spec, IReadOnlyList<SweepPointFile> points, string baseExperiment)
    {
        Spec = spec;
        Points = points;
        BaseExperiment = baseExperiment;
    }

    /// <summary>A sweep file's problems, rendered at their places, the first also as data (for --format).</summary>
    static ExperimentInputException Problem(string text, List<Diagnostic> ds) =>
        new(ds[0], ProblemsModule.Render([ProblemsModule.OfFile(text, ListModule.OfSeq(ds))]).TrimEnd());

    public static bool IsSweep(string file) => file.EndsWith(".sweep", StringComparison.Ordinal);

    /// <summary>Reads and checks a sweep file and expands its grid; its problems, and those of any
    /// point's settings, are an <see cref="ExperimentInputException"/> rendered at their place.</summary>
    public static SweepPlan Load(FileSystem fs, string file)
    {
        var text = fs.Read.Invoke(file) is { } t ? t.Value
            : throw Problem("", [DiagnosticModule.inFile(Codes.FileNotFound, file, $"cannot read {file}: no such file")]);
        var parsed = Sweep.parse(file, text);
        if (parsed.IsError) throw Problem(text, [.. parsed.ErrorValue]);
        var spec = parsed.ResultValue;
        var sweepDir = Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".";
        var baseFile = Path.Combine(sweepDir, spec.Experiment);
        var baseText = fs.Read.Invoke(baseFile) is { } b ? b.Value
            : throw Problem(text, [Experiment.SettingError(file, text, "experiment", $"cannot read the base experiment {baseFile}: no such file", "")]);
        var points = Sweep.expand(spec, baseText, Path.GetDirectoryName(Path.GetFullPath(baseFile)) ?? ".", sweepDir);
        var problems = Sweep.check(spec, points);
        if (!problems.IsEmpty) throw Problem(text, [.. problems]);
        return new SweepPlan(spec, points.Select(p => new SweepPointFile(p, Path.Combine(spec.Output, p.Folder + ".experiment"))).ToList(), baseFile);
    }

    /// <summary>The file system <paramref name="fs"/> with the points' experiment files as if written:
    /// to check every point (its rules, model, data) before anything is written.</summary>
    public FileSystem WithPoints(FileSystem fs)
    {
        var texts = Points.ToDictionary(p => Path.GetFullPath(p.File), p => p.Point.Text);
        return new FileSystem(
            FuncConvert.FromFunc<string, FSharpOption<string>?>(path => texts.TryGetValue(Path.GetFullPath(path), out var t) ? FSharpOption<string>.Some(t) : fs.Read.Invoke(path)),
            fs.List);
    }

    /// <summary>Writes each point's experiment file into the sweep's output (atomically); a file there
    /// that says something else is refused: the sweep (or its base experiment) changed since its
    /// points were written, and its runs would mix two grids.</summary>
    public void WriteExperiments()
    {
        foreach (var p in Points)
        {
            if (File.Exists(p.File))
            {
                if (File.ReadAllText(p.File) == p.Point.Text) continue;
                throw new ResultsException($"{p.File}: point {p.Point.Index} of sweep {Spec.Name} was written with other settings; "
                    + "the sweep or its base experiment changed since: give the sweep another `output`, or delete that folder to start over");
            }
            RunFolder.WriteTextAtomic(p.File, p.Point.Text);
        }
    }

    /// <summary>The point named by <paramref name="point"/>: its index or its folder name.</summary>
    public SweepPointFile Point(string point) =>
        (int.TryParse(point, out var i) && i >= 0 && i < Points.Count ? Points[i] : Points.FirstOrDefault(p => p.Point.Folder == point))
        ?? throw new ArgumentException($"{Spec.File}: no point '{point}'; its points are 0 to {Points.Count - 1} ({string.Join(", ", Points.Select(p => p.Point.Folder))})");

    /// <summary>Array task <paramref name="task"/> of the sweep's job arrays: (point, trial), counting the
    /// units of all points in order (point 0's trials first).</summary>
    public (int Point, int Trial) Task(IReadOnlyList<ExperimentSession> sessions, int task)
    {
        int offset = 0;
        for (int p = 0; p < sessions.Count; p++)
        {
            if (task < offset + sessions[p].Spec.Trials) return (p, task - offset);
            offset += sessions[p].Spec.Trials;
        }
        throw new ArgumentException($"{Spec.File}: no array task {task}; the sweep has {offset} units (tasks 0 to {offset - 1})");
    }

    /// <summary>
    /// Submits the unfinished units of every point as one Slurm job array (task = the unit's index over
    /// all points, `ruledsl run SWEEP --task $SLURM_ARRAY_TASK_ID --resume`); writes the script into
    /// the sweep's output/slurm and records the job in each point's folder. <paramref name="sessions"/>
    /// are the points' experiments, loaded from the written files.
    /// </summary>
    public SubmitResult Submit(IReadOnlyList<ExperimentSession> sessions, SlurmRequest request, string tool, bool dryRun, bool resume)
    {
        if (request.Problem() is { } problem) throw new ArgumentException(problem);
        var plans = sessions.Select(s => s.UnitsToSubmit(resume)).ToList();
        var offsets = sessions.Select((s, p) => sessions.Take(p).Sum(x => x.Spec.Trials)).ToList();
        var tasks = plans.SelectMany((pl, p) => pl.Todo.Select(t => offsets[p] + t)).ToArray();
        var skipped = plans.SelectMany((pl, p) => pl.Skipped.Select(s => $"{Points[p].Point.Folder} {s}")).ToArray();
        if (tasks.Length == 0) return new SubmitResult(Spec.Output, "", null, [], null, skipped);
        var script = SbatchScript.Text(Spec.Name, Spec.File, "--task", "units", Spec.Output, tasks, tool, Directory.GetCurrentDirectory(), request);
        if (dryRun) return new SubmitResult(Spec.Output, script, null, tasks, null, skipped);
        for (int p = 0; p < sessions.Count; p++)
            if (plans[p].Todo.Length > 0) sessions[p].PrepareUnits();
        var (path, job) = SlurmJobs.WriteAndSubmit(Spec.Output, script);
        for (int p = 0; p < sessions.Count; p++)
            if (plans[p].Todo.Length > 0) sessions[p].RecordSubmission(job, plans[p].Todo, path, plans[p].Todo.Select(t => offsets[p] + t).ToArray());
        return new SubmitResult(Spec.Output, script, path, tasks, job, skipped);
    }
}
