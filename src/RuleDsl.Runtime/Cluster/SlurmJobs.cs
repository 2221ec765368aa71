using System.Globalization;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Cluster;

/// <summary>One submission of a run's units: the job id Slurm gave the array, its units (trials), the
/// array task of each (the trial itself, or for a sweep's array its index over all the sweep's units),
/// its script.</summary>
public sealed record SlurmSubmission(string Job, int[] Units, int[] Tasks, string Script, string Submitted);

/// <summary>
/// slurm/jobs.json in a results folder: every job array submitted for the run, in order, so that
/// `status` can ask squeue about them and `submit --resume` leaves alone units still queued or running.
/// Written by `submit` only (one process), atomically.
/// </summary>
public static class SlurmJobs
{
    public const string Folder = "slurm";
    public const string File = "jobs.json";

    static string PathOf(string dir) => System.IO.Path.Combine(dir, Folder, File);

    /// <summary>Writes <paramref name="script"/> as OUTPUT/slurm/array-N.sh (N one past the scripts already
    /// there) and submits it with sbatch; its path and the job's id.</summary>
    public static (string Path, string Job) WriteAndSubmit(string output, string script)
    {
        var folder = System.IO.Path.Combine(output, Folder);
        int n = Directory.Exists(folder) ? Directory.GetFiles(folder, "array-*.sh").Length : 0;
        var path = System.IO.Path.Combine(folder, $"array-{n + 1}.sh");
        RunFolder.WriteTextAtomic(path, script);
        return (path, Slurm.Submit(path));
    }

    public static IReadOnlyList<SlurmSubmission> Read(string dir)
    {
        var path = PathOf(dir);
        if (!System.IO.File.Exists(path)) return [];
        try
        {
            var jobs = JsonNode.Parse(System.IO.File.ReadAllText(path))?["jobs"] as JsonArray ?? [];
            return jobs.Select(j =>
            {
                var units = (j!["units"] as JsonArray ?? []).Select(u => u!.GetValue<int>()).ToArray();
                var tasks = j["tasks"] is JsonArray t ? t.Select(u => u!.GetValue<int>()).ToArray() : units;
                return new SlurmSubmission(j["job"]!.GetValue<string>(), units, tasks, j["script"]?.GetValue<string>() ?? "", j["submitted"]?.GetValue<string>() ?? "");
            }).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new ResultsException($"{path}: not a list of submitted jobs ({e.Message})");
        }
    }

    public static SlurmSubmission Add(string dir, string job, IReadOnlyList<int> units, string script, IReadOnlyList<int>? tasks = null)
    {
        var entry = new SlurmSubmission(job, [.. units], [.. tasks ?? units], script, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        var all = Read(dir).Append(entry).Select(s => new JsonObject
        {
            ["job"] = s.Job,
            ["units"] = new JsonArray([.. s.Units.Select(u => (JsonNode)u)]),
            ["tasks"] = new JsonArray([.. s.Tasks.Select(u => (JsonNode)u)]),
            ["script"] = s.Script,
            ["submitted"] = s.Submitted,
        });
        RunFolder.WriteTextAtomic(PathOf(dir), new JsonObject { ["jobs"] = new JsonArray([.. all]) }.ToJsonString(RunFolder.JsonOptions) + "\n");
        return entry;
    }

    /// <summary>The job and array task of each unit's latest submission.</summary>
    public static Dictionary<int, (string Job, int Task)> Latest(IReadOnlyList<SlurmSubmission> jobs)
    {
        var latest = new Dictionary<int, (string, int)>();
        foreach (var s in jobs)
            for (int i = 0; i < s.Units.Length; i++) latest[s.Units[i]] = (s.Job, s.Tasks[i]);
        return latest;
    }
}
