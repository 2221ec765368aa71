using System.Diagnostics;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Meta;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Experiments;

/// <summary>One unit run (`run EXP --trial K`): how many of its episodes are recorded, whether it had
/// finished before, why it stopped for divergence if it did, and the merged run when it was the last.</summary>
public sealed record UnitOutcome(int Trial, bool AlreadyDone, int Rows, string? Stopped, ExperimentSession.RunSummary? Collected);

/// <summary>A unit's state for `status`: done, running, pending (queued in Slurm), failed (left the
/// queue unfinished: cancelled, out of time, node failure), interrupted (started outside Slurm, not
/// finished) or not started; with its rows so far and the Slurm job of its latest submission.</summary>
public sealed record UnitStatus(int Trial, string State, int Rows, int Episodes, string? Job, string? Stopped);

/// <summary>`status`: every unit of a run, and why the queue could not be read when it could not;
/// <see cref="Local"/> for a run of all trials at once (its trials shown as units).</summary>
public sealed record RunStatus(string Output, IReadOnlyList<UnitStatus> Units, string? QueueNote, bool Local = false);

/// <summary>`submit`: the script (written to <see cref="ScriptPath"/> unless a dry run), the units it
/// runs, the job id Slurm gave it, and the units left alone because they are still queued or running.</summary>
public sealed record SubmitResult(string Output, string Script, string? ScriptPath, int[] Units, string? Job, string[] Skipped);

/// <summary>
/// A run whose trials are independent units: each runs alone (`run EXP --trial K`, one Slurm array
/// task) into the shared results folder with files of its own (<see cref="RunUnits"/>), and
/// <see cref="Collect"/> merges them into the episodes.csv and summary.json a local run writes.
/// </summary>
public sealed partial class ExperimentSession
{
    /// <summary>The settings run.json records and every continuation must match.</summary>
    object RunSettings() => new { Spec.Name, Rule = string.Join(", ", Rules.Select(r => r.Name).Distinct()), Setting = Spec.Setting.ToString(), Data = DataMessage };

    /// <summary>run.json of a run by units, created by the first unit (or `submit`), checked by the rest.</summary>
    RunFolder UnitFolder() => RunFolder.CreateOrCheck(Spec.Output, _text, RunSettings(), SameExperiment, Sources,
        new JsonObject { ["file"] = Path.GetFullPath(Spec.File), ["workdir"] = Directory.GetCurrentDirectory() });

    /// <summary>The folder holds a run of all trials at once (`run` without --trial): run.json and
    /// episodes.csv (which such a run opens at once) but no units. A run.json that a first unit has
    /// just written, before its units folder, is not one.</summary>
    bool IsLocalRun() => File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile)) && !RunUnits.IsUnitRun(Spec.Output)
        && File.Exists(Path.Combine(Spec.Output, RunFolder.EpisodesFile));

    void RefuseLocalRun()
    {
        if (IsLocalRun())
            throw new InvalidOperationException($"{Spec.Output} holds a run of all trials at once (`ruledsl run` without --trial); "
                + "continue it with `run --resume`, or give the run by units another results folder");
    }

    ExperimentRunner Runner(Func<int, IInnerLoop> factory, IRunLog log) =>
        new(Spec.Output, new TrialPlan(Spec.Trials, Spec.Seed, MetaSettings(), Theta), factory, log);

    /// <summary>Runs (or, with <paramref name="resume"/>, continues from its checkpoint) trial
    /// <paramref name="trial"/> alone; when it is the last unit to finish, merges the run.</summary>
    public UnitOutcome RunUnit(int trial, bool resume, Action<Progress>? progress = null, CancellationToken cancel = default) =>
        RunUnit(trial, resume, progress, cancel, collect: true);

    UnitOutcome RunUnit(int trial, bool resume, Action<Progress>? progress, CancellationToken cancel, bool collect)
    {
        if (trial < 0 || trial >= Spec.Trials)
            throw InputError("trials", $"there is no trial {trial}: the experiment's trials are 0 to {Spec.Trials - 1}");
        var factory = LoopFactory();
        RefuseLocalRun();
        var folder = UnitFolder();
        RunUnits.Begin(Spec.Output);
        var before = RunUnits.Progress(Spec.Output, Spec.Trials)[trial];
        if (before.Done) return new UnitOutcome(trial, true, before.Rows, before.Stopped, collect ? CollectIfAllDone() : null);
        var episodes = folder.OpenEpisodes(RunUnits.EpisodesFile(trial));
        int done = episodes.Completed.Count;
        var clock = Stopwatch.StartNew();
        var runner = Runner(factory, new CallbackLog((t, step) =>
        {
            // A kill between a row and its checkpoint replays that episode: the same row again.
            if (episodes.IsComplete(t, step.Episode)) return;
            episodes.Append(Row(t, step));
            done++;
            progress?.Invoke(new Progress(t, step.Episode, done, Spec.Episodes, step.Objective,
                step.Metrics.TryGetValue("accuracy", out var a) ? a : double.NaN, clock.Elapsed, step.Failure));
        }));
        try
        {
            if (!resume && (done > 0 || runner.LoadCheckpoint(trial) is not null))
                throw new InvalidOperationException($"{Spec.Output}: trial {trial} has started already ({done} of {Spec.Episodes} episodes); pass --resume to continue it");
            runner.RunTrial(trial, resume: true, cancel);
        }
        finally { episodes.Dispose(); }
        var stopped = runner.LoadCheckpoint(trial)?.Stopped;
        RunUnits.MarkDone(Spec.Output, trial, done, stopped);
        return new UnitOutcome(trial, false, done, stopped, collect ? CollectIfAllDone() : null);
    }

    /// <summary>`run --resume` of a run by units (some units ran on a cluster): its unfinished units here,
    /// in parallel on this machine's cores, then the merged run.</summary>
    RunSummary RunRemainingUnits(bool resume, Action<Progress>? progress, CancellationToken cancel)
    {
        if (!resume)
            throw new InvalidOperationException($"{Spec.Output} already holds units of this run; pass --resume to run the unfinished ones here, or choose another output folder");
        var open = RunUnits.Progress(Spec.Output, Spec.Trials).Where(u => !u.Done).Select(u => u.Trial).ToArray();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var gate = new object();
        Parallel.ForEach(open, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancel }, t =>
        {
            try { RunUnit(t, true, p => { lock (gate) progress?.Invoke(p); }, cancel, collect: false); }
            catch (Exception ex) when (!cancel.IsCancellationRequested) { errors.Enqueue(new TrialFailedException(t, ex)); }
        });
        if (!errors.IsEmpty) throw new AggregateException(errors);
        return Collect();
    }

    RunSummary? CollectIfAllDone() =>
        RunUnits.Progress(Spec.Output, Spec.Trials).All(u => u.Done) ? Collect() : null;

    /// <summary>
    /// Merges a run by units: refuses one whose run.json is of another experiment text, rules or model
    /// than the files say now, or whose units have not all finished; writes episodes.csv in (trial,
    /// episode) order and summary.json; returns the summary a local run of the experiment returns.
    /// </summary>
    public RunSummary Collect()
    {
        var factory = LoopFactory();
        if (!File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile)))
            throw new ResultsException($"{Spec.Output}: no run of {Spec.Name} yet (no {RunFolder.RunFile}); start one with `ruledsl submit` or `ruledsl run`");
        bool local = IsLocalRun();
        var folder = local ? RunFolder.CreateOrCheck(Spec.Output, _text, RunSettings(), SameExperiment, Sources) : UnitFolder();
        var units = local ? LocalProgress(factory) : RunUnits.Progress(Spec.Output, Spec.Trials);
        if (units.Where(u => !u.Done).ToList() is { Count: > 0 } open)
            throw new ResultsException($"{Spec.Output}: {open.Count} of {Spec.Trials} units have not finished: "
                + string.Join(", ", open.Select(u => $"trial {u.Trial} ({u.Rows} of {Spec.Episodes} episodes)"))
                + "; see `ruledsl status`, and continue them with `ruledsl submit EXP --resume` (or `ruledsl run EXP --trial K --resume`)");
        if (!local) RunUnits.Merge(Spec.Output, Spec.Trials);
        var runner = Runner(factory, new CallbackLog((_, _) => { }));
        var checkpoints = Enumerable.Range(0, Spec.Trials).Select(t => runner.LoadCheckpoint(t)
            ?? throw new ResultsException($"{Spec.Output}: trial {t} is marked done but has no checkpoint")).ToArray();
        var stopped = checkpoints.Select((c, t) => (t, c.Stopped)).Where(x => x.Stopped is not null).Select(x => $"trial {x.t}: {x.Stopped}").ToArray();
        var summary = Summarise(folder, checkpoints.Select(c => c.Theta).ToArray(), stopped);
        folder.WriteSummary(summary);
        return summary;
    }

    /// <summary>The trials of a run of all trials at once (`run` without --trial), as units: done when
    /// the trial's checkpoint is past its last episode or says it stopped.</summary>
    IReadOnlyList<UnitProgress> LocalProgress(Func<int, IInnerLoop> factory)
    {
        var runner = Runner(factory, new CallbackLog((_, _) => { }));
        var path = Path.Combine(Spec.Output, RunFolder.EpisodesFile);
        var trials = File.Exists(path) ? CsvTable.Read(path).Longs("trial") : [];
        return Enumerable.Range(0, Spec.Trials).Select(t =>
        {
            var c = runner.LoadCheckpoint(t);
            return new UnitProgress(t, c is not null && (c.NextEpisode >= Spec.Episodes || c.Stopped is not null), trials.Count(x => x == t), c?.Stopped);
        }).ToList();
    }

    /// <summary>Each unit of the run: from the results folder, and for units not done, from Slurm's
    /// queue (`squeue -r`) for the jobs `submit` recorded.</summary>
    public RunStatus Status()
    {
        if (!File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile)))
            throw new ResultsException($"{Spec.Output}: no run of {Spec.Name} yet (no {RunFolder.RunFile}); start one with `ruledsl submit` or `ruledsl run`");
        if (IsLocalRun())
            return new RunStatus(Path.GetFullPath(Spec.Output), LocalProgress(LoopFactory()).Select(u =>
                new UnitStatus(u.Trial, u.Done ? "done" : u.Rows > 0 ? "interrupted" : "not started", u.Rows, Spec.Episodes, null, u.Stopped)).ToList(),
                null, Local: true);
        var jobs = SlurmJobs.Read(Spec.Output);
        var latest = SlurmJobs.Latest(jobs);
        IReadOnlyList<QueuedTask> queued = [];
        string? note = null;
        if (jobs.Count > 0)
        {
            try { queued = Slurm.Queued(jobs.Select(j => j.Job).ToHashSet()); }
            catch (SlurmException e) { note = $"Slurm's queue could not be read ({e.Message}): units not done are shown from the files alone"; }
        }
        // Which queued array task is which unit: by the submissions recorded (a sweep's tasks are not its trials).
        var unitOf = jobs.SelectMany(j => j.Units.Select((u, i) => (Key: (j.Job, j.Tasks[i]), Unit: u))).ToDictionary(x => x.Key, x => x.Unit);
        var units = RunUnits.Progress(Spec.Output, Spec.Trials).Select(u =>
        {
            string? job = latest.TryGetValue(u.Trial, out var j) ? $"{j.Job}_{j.Task}" : null;
            var inQueue = queued.Where(q => unitOf.TryGetValue((q.JobId, q.Task), out var unit) && unit == u.Trial)
                .OrderByDescending(q => $"{q.JobId}_{q.Task}" == job).FirstOrDefault();
            string state = u.Done ? "done"
                : inQueue is { State: "RUNNING" or "COMPLETING" or "CONFIGURING" } ? "running"
                : inQueue is not null ? "pending"
                : note is not null && job is not null ? "unknown"
                : job is not null ? "failed"
                : u.Rows > 0 ? "interrupted" : "not started";
            var shown = inQueue is not null ? $"{inQueue.JobId}_{inQueue.Task}" : job;
            return new UnitStatus(u.Trial, state, u.Rows, Spec.Episodes, shown, u.Stopped);
        }).ToList();
        return new RunStatus(Path.GetFullPath(Spec.Output), units, note);
    }

    /// <summary>The units a submission would run: with <paramref name="resume"/>, those neither done nor
    /// still queued or running (those are <c>Skipped</c>, with why); without, all of them, and a run that
    /// has units already is refused. Writes nothing.</summary>
    public (int[] Todo, string[] Skipped) UnitsToSubmit(bool resume)
    {
        var factory = LoopFactory();
        bool exists = File.Exists(Path.Combine(Spec.Output, RunFolder.RunFile));
        // A finished run of all trials at once (a sweep's point run locally) needs nothing; an unfinished one is refused.
        if (IsLocalRun() && LocalProgress(factory).All(u => u.Done))
            return ([], ["every trial done (a run of all trials at once)"]);
        RefuseLocalRun();
        var units = exists ? RunUnits.Progress(Spec.Output, Spec.Trials) : Enumerable.Range(0, Spec.Trials).Select(t => new UnitProgress(t, false, 0, null)).ToList();
        var jobs = exists ? SlurmJobs.Read(Spec.Output) : [];
        if (!resume && (jobs.Count > 0 || units.Any(u => u.Done || u.Rows > 0)))
            throw new InvalidOperationException($"{Spec.Output} holds units of this run already; pass --resume to submit the unfinished ones");
        var status = resume && jobs.Count > 0 ? Status() : null;
        if (status?.QueueNote is { } note) throw new SlurmException(note);
        var skipped = new List<string>();
        var todo = new List<int>();
        foreach (var u in units.Where(u => !u.Done))
        {
            if (status?.Units[u.Trial] is { State: "running" or "pending" } s) skipped.Add($"trial {u.Trial}: {s.State} as {s.Job}");
            else todo.Add(u.Trial);
        }
        return ([.. todo], [.. skipped]);
    }

    /// <summary>Makes the run's folder ready for units submitted as job <paramref name="job"/> and records
    /// them (the array task of each: <paramref name="tasks"/>, by default the trial itself).</summary>
    public void RecordSubmission(string job, IReadOnlyList<int> units, string script, IReadOnlyList<int>? tasks = null) =>
        SlurmJobs.Add(Spec.Output, job, units, script, tasks);

    /// <summary>run.json and the units folder, before anything is submitted.</summary>
    public void PrepareUnits()
    {
        UnitFolder();
        RunUnits.Begin(Spec.Output);
    }

    /// <summary>
    /// Writes the sbatch script that runs the run's units as one Slurm job array, and (unless
    /// <paramref name="dryRun"/>) creates the run's folder, submits the script and records the job.
    /// With <paramref name="resume"/>, only units that are neither done nor still queued or running.
    /// <paramref name="tool"/> is the command that runs ruledsl on the nodes.
    /// </summary>
    public SubmitResult Submit(SlurmRequest request, string tool, bool dryRun, bool resume)
    {
        if (request.Problem() is { } problem) throw new ArgumentException(problem);
        var (todo, skipped) = UnitsToSubmit(resume);
        if (todo.Length == 0) return new SubmitResult(Spec.Output, "", null, [], null, skipped);
        var script = SbatchScript.Text(Spec.Name, Spec.File, Spec.Output, todo, tool, Directory.GetCurrentDirectory(), request);
        if (dryRun) return new SubmitResult(Spec.Output, script, null, todo, null, skipped);
        PrepareUnits();
        var (path, job) = SlurmJobs.WriteAndSubmit(Spec.Output, script);
        RecordSubmission(job, todo, path);
        return new SubmitResult(Spec.Output, script, path, todo, job, skipped);
    }
}
