using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Experiments;

/// <summary>
/// `learn` split into units over its seeds (`learn … --units N --unit K`, one Slurm array task each):
/// unit K learns the K-th of N contiguous runs of the seeds, every rule on them, as a comparison of its
/// own in OUT/units/unitK (learning.csv, learning_trials.csv, learn.json; `--resume` continues it).
/// <see cref="Collect"/> checks that every unit compared the same rules, θ, task and trials from the same
/// files and finished, joins their networks into OUT, and gives the result a local `learn` gives.
/// </summary>
public static class HeldOutUnits
{
    /// <summary>The seeds of unit <paramref name="unit"/> of <paramref name="units"/>: contiguous runs, the
    /// first ones one seed longer when the seeds do not split evenly.</summary>
    public static IReadOnlyList<int> Seeds(IReadOnlyList<int> seeds, int units, int unit)
    {
        if (units < 1 || units > seeds.Count)
            throw new ArgumentException($"--units {units}: between 1 and the number of seeds ({seeds.Count})");
        if (unit < 0 || unit >= units)
            throw new ArgumentException($"--unit {unit}: the units are 0 to {units - 1}");
        int size = seeds.Count / units, extra = seeds.Count % units;
        int start = unit * size + Math.Min(unit, extra);
        return seeds.Skip(start).Take(size + (unit < extra ? 1 : 0)).ToList();
    }

    public static string Folder(string output, int unit) => Path.Combine(output, "units", $"unit{unit}");

    /// <summary>Unit <paramref name="unit"/>: its seeds learned (or, with the settings' Resume, continued) in its folder.</summary>
    public static HeldOutResult RunUnit(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings, int units, int unit,
        Action<LearningRecord>? onNetwork = null, CancellationToken cancel = default) =>
        HeldOutComparison.Open(rules, settings with { Seeds = Seeds(settings.Seeds, units, unit), Output = Folder(settings.Output, unit) }).Run(onNetwork, cancel);

    /// <summary>Whether each unit has learned all its networks (read from its files; nothing written).</summary>
    public static bool[] Finished(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings, int units) =>
        Enumerable.Range(0, units).Select(k =>
        {
            var seeds = Seeds(settings.Seeds, units, k);
            var folder = Folder(settings.Output, k);
            var csv = Path.Combine(folder, "learning.csv");
            return File.Exists(csv) && LearningLog.Read(csv, Path.Combine(folder, "learning_trials.csv"), rules.Select(r => r.Name).ToHashSet(),
                seeds.ToHashSet(), settings.Trials).Count == rules.Count * seeds.Count;
        }).ToArray();

    /// <summary>
    /// Submits the units as one Slurm job array whose task runs <paramref name="command"/> (the `learn`
    /// command line with `--unit "$SLURM_ARRAY_TASK_ID" --resume`): all of them, or with
    /// <paramref name="resume"/> the unfinished ones; the script goes to OUT/slurm, the job to
    /// OUT/slurm/jobs.json. A dry run returns the script and writes nothing.
    /// </summary>
    public static SubmitResult Submit(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings, int units, string command, SlurmRequest request, bool dryRun, bool resume)
    {
        if (request.Problem() is { } problem) throw new ArgumentException(problem);
        Seeds(settings.Seeds, units, 0);
        if (!resume && Directory.Exists(Path.Combine(settings.Output, "units")))
            throw new InvalidOperationException($"{settings.Output} holds units of a comparison already; pass --resume to submit the unfinished ones");
        var finished = Finished(rules, settings, units);
        var todo = Enumerable.Range(0, units).Where(k => !finished[k]).ToArray();
        if (todo.Length == 0) return new SubmitResult(settings.Output, "", null, [], null, []);
        var name = "learn-" + string.Join("-", rules.Select(r => r.Name));
        var script = SbatchScript.Script(name, "seed units", Path.Combine(Path.GetFullPath(settings.Output), "slurm"), todo, command, Directory.GetCurrentDirectory(), request);
        if (dryRun) return new SubmitResult(settings.Output, script, null, todo, null, []);
        Directory.CreateDirectory(Path.Combine(settings.Output, "units"));
        var (path, job) = SlurmJobs.WriteAndSubmit(settings.Output, script);
        SlurmJobs.Add(settings.Output, job, todo, path);
        return new SubmitResult(settings.Output, script, path, todo, job, []);
    }

    /// <summary>
    /// Joins the units into the comparison in the settings' folder. A unit that has not started or not
    /// finished, or compared something else (other rules, θ, task, trials, changed files: its learn.json
    /// says), is refused with the reason.
    /// </summary>
    public static HeldOutResult Collect(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings, int units)
    {
        var records = new List<LearningRecord>();
        var open = new List<string>();
        for (int k = 0; k < units; k++)
        {
            var seeds = Seeds(settings.Seeds, units, k);
            var folder = Folder(settings.Output, k);
            if (!File.Exists(Path.Combine(folder, "learning.csv"))) { open.Add($"unit {k} (seeds {seeds[0]}–{seeds[^1]}): not started"); continue; }
            // Opened to be continued: its learn.json must say it compares what these rules are now.
            var unit = HeldOutComparison.Open(rules, settings with { Seeds = seeds, Output = folder, Resume = true });
            int expected = rules.Count * seeds.Count;
            if (unit.Done.Count < expected) open.Add($"unit {k} (seeds {seeds[0]}–{seeds[^1]}): {unit.Done.Count} of {expected} networks");
            records.AddRange(unit.Done);
        }
        if (open.Count > 0)
            throw new ResultsException($"{settings.Output}: {open.Count} of {units} units have not finished: {string.Join("; ", open)}; "
                + "continue them with `learn … --units N --unit K --resume` (or `--submit --resume`)");
        Directory.CreateDirectory(settings.Output);
        var order = rules.Select(r => r.Name).ToList();
        using (var csv = new StreamWriter(Path.Combine(settings.Output, "learning.csv")))
        using (var bits = new StreamWriter(Path.Combine(settings.Output, "learning_trials.csv")))
        {
            csv.WriteLine(LearningLog.CsvHeader);
            bits.WriteLine(LearningLog.TrialsHeader);
            foreach (var r in records.OrderBy(r => order.IndexOf(r.Name)).ThenBy(r => r.Seed)) LearningLog.Append(csv, bits, r);
        }
        // The units' learn.json records what they compared; the joined comparison is the same one.
        File.Copy(Path.Combine(Folder(settings.Output, 0), "learn.json"), Path.Combine(settings.Output, "learn.json"), overwrite: true);
        var joined = HeldOutComparison.Open(rules, settings with { Resume = true });
        if (joined.Done.Count != records.Count)
            throw new ResultsException($"{settings.Output}: {records.Count} networks joined but {joined.Done.Count} read back");
        return joined.Run();
    }
}
