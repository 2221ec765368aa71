using System.Globalization;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Cluster;

/// <summary>One submission of a run's units: the job id Slurm gave the array, its units, its script.</summary>
public sealed record SlurmSubmission(string Job, int[] Units, string Script, string Submitted);

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

    public static IReadOnlyList<SlurmSubmission> Read(string dir)
    {
        var path = PathOf(dir);
        if (!System.IO.File.Exists(path)) return [];
        try
        {
            var jobs = JsonNode.Parse(System.IO.File.ReadAllText(path))?["jobs"] as JsonArray ?? [];
            return jobs.Select(j => new SlurmSubmission(j!["job"]!.GetValue<string>(),
                (j["units"] as JsonArray ?? []).Select(u => u!.GetValue<int>()).ToArray(),
                j["script"]?.GetValue<string>() ?? "", j["submitted"]?.GetValue<string>() ?? "")).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new ResultsException($"{path}: not a list of submitted jobs ({e.Message})");
        }
    }

    public static SlurmSubmission Add(string dir, string job, IReadOnlyList<int> units, string script)
    {
        var entry = new SlurmSubmission(job, [.. units], script, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        var all = Read(dir).Append(entry).Select(s => new JsonObject
        {
            ["job"] = s.Job,
            ["units"] = new JsonArray([.. s.Units.Select(u => (JsonNode)u)]),
            ["script"] = s.Script,
            ["submitted"] = s.Submitted,
        });
        RunUnits.WriteAtomic(PathOf(dir), new JsonObject { ["jobs"] = new JsonArray([.. all]) }.ToJsonString(RunFolder.JsonOptions) + "\n");
        return entry;
    }

    /// <summary>The job of each unit's latest submission.</summary>
    public static Dictionary<int, string> LatestJob(IReadOnlyList<SlurmSubmission> jobs)
    {
        var latest = new Dictionary<int, string>();
        foreach (var s in jobs)
            foreach (var u in s.Units) latest[u] = s.Job;
        return latest;
    }
}
