using System.Text;
using System.Text.RegularExpressions;

namespace RuleDsl.Runtime.Cluster;

/// <summary>What `ruledsl submit` asks of Slurm for each array task: where (partition), for how long
/// (a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), with how many CPUs;
/// null leaves the cluster's default.</summary>
public sealed record SlurmRequest(string? Partition = null, string? Time = null, int? CpusPerTask = null)
{
    static readonly Regex TimeFormat = new(@"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|infinite|unlimited)$");
    static readonly Regex PartitionFormat = new(@"^[A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*$");

    /// <summary>Why this request cannot be written into an sbatch script, or null.</summary>
    public string? Problem() =>
        Partition is { } p && !PartitionFormat.IsMatch(p) ? $"--partition '{p}': a partition name (letters, digits, _ . -; several separated by commas)"
        : Time is { } t && !TimeFormat.IsMatch(t) ? $"--time '{t}': a Slurm time limit is minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 2:00:00 for two hours)"
        : CpusPerTask is < 1 ? $"--cpus-per-task {CpusPerTask}: at least 1"
        : null;
}

/// <summary>
/// The sbatch script of one job array: each array task runs one unit, `TOOL run EXP --trial
/// $SLURM_ARRAY_TASK_ID --resume`, into the experiment's results folder, which every node must see
/// (a shared filesystem). A task that is requeued (node failure, preemption) or resubmitted continues
/// from its checkpoint, and its log is appended to, not replaced.
/// </summary>
public static class SbatchScript
{
    /// <summary>The script text. <paramref name="tool"/> is the command that runs ruledsl on the nodes
    /// (a path, or `dotnet …/RuleDsl.Cli.dll`: its words are used as they are), <paramref name="workDir"/>
    /// the folder the experiment's relative `output` is taken from.</summary>
    public static string Text(string name, string experiment, string output, IReadOnlyList<int> units, string tool, string workDir, SlurmRequest request) =>
        Text(name, experiment, "--trial", "trials", output, units, tool, workDir, request);

    /// <summary>The script of a sweep's array (<paramref name="option"/> `--task`: an index over all the
    /// sweep's units) or of one experiment's (`--trial`); <paramref name="what"/> names the units.</summary>
    public static string Text(string name, string file, string option, string what, string output, IReadOnlyList<int> units, string tool, string workDir, SlurmRequest request) =>
        Script(name, what, Path.Combine(Path.GetFullPath(output, workDir), "slurm"), units,
            $"{tool} run {Quote(Path.GetFullPath(file, workDir))} {option} \"$SLURM_ARRAY_TASK_ID\" --resume", workDir, request);

    /// <summary>A job array whose task runs <paramref name="command"/> (which reads $SLURM_ARRAY_TASK_ID),
    /// its logs in <paramref name="logs"/>.</summary>
    public static string Script(string name, string what, string logs, IReadOnlyList<int> units, string command, string workDir, SlurmRequest request)
    {
        if (units.Count == 0) throw new ArgumentException("a job array needs at least one unit");
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# Written by `ruledsl`: {what} {Ranges(units)} of {name} as one Slurm job array.\n");
        s.Append("# Each task runs one unit into the shared results folder and resumes from what it wrote\n");
        s.Append("# when it is requeued or resubmitted; `ruledsl status` and `ruledsl collect` read the folder.\n");
        s.Append($"#SBATCH --job-name={JobName(name)}\n");
        s.Append($"#SBATCH --array={Ranges(units)}\n");
        s.Append($"#SBATCH --output={Path.Combine(logs, "%A_%a.out")}\n");
        s.Append("#SBATCH --open-mode=append\n");
        s.Append("#SBATCH --requeue\n");
        s.Append($"#SBATCH --chdir={workDir}\n");
        s.Append($"#SBATCH --cpus-per-task={request.CpusPerTask ?? 1}\n");
        if (request.Partition is { } p) s.Append($"#SBATCH --partition={p}\n");
        if (request.Time is { } t) s.Append($"#SBATCH --time={t}\n");
        s.Append("set -eu\n");
        s.Append($"exec {command}\n");
        return s.ToString();
    }

    /// <summary>The command that runs this ruledsl on the nodes when `--tool` does not say: the running
    /// `ruledsl` itself (its full path: on a cluster the nodes must see it there, e.g. on the shared
    /// filesystem), the `ruledsl` beside this library, or `ruledsl` on the nodes' PATH.</summary>
    public static string DefaultTool()
    {
        var process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "ruledsl") return Quote(process);
        var beside = Path.Combine(AppContext.BaseDirectory, "ruledsl");
        return File.Exists(beside) ? Quote(beside) : "ruledsl";
    }

    /// <summary>Units as Slurm writes an array: runs of consecutive numbers as ranges (0-3,5,7-8).</summary>
    public static string Ranges(IReadOnlyList<int> units)
    {
        var sorted = units.Distinct().Order().ToArray();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Length;)
        {
            int j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    /// <summary>A job name Slurm and shells take as it is: ruledsl-NAME with anything else than letters,
    /// digits, _ . - replaced by _.</summary>
    public static string JobName(string name) => "ruledsl-" + Regex.Replace(name, @"[^A-Za-z0-9_.\-]", "_");

    /// <summary>A path as one shell word (single quotes; a quote in it closed, escaped and reopened).</summary>
    public static string Quote(string path) => "'" + path.Replace("'", "'\\''") + "'";
}
