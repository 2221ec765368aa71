using System.Diagnostics;

namespace RuleDsl.Runtime.Cluster;

/// <summary>Slurm could not be asked (not installed, controller down) or refused a request.</summary>
public sealed class SlurmException(string message) : Exception(message);

/// <summary>The state of one array task as squeue reports it (PENDING, RUNNING, COMPLETING, …).</summary>
public sealed record QueuedTask(string JobId, int Task, string State);

/// <summary>The Slurm commands ruledsl calls — sbatch, squeue, scancel — as processes, nothing else:
/// the cluster's own tools are the interface, so any Slurm a user can submit to works.</summary>
public static class Slurm
{
    /// <summary>Submits <paramref name="script"/>; returns the job id (of the array).</summary>
    public static string Submit(string script)
    {
        var (code, stdout, stderr) = Call("sbatch", "--parsable", script);
        if (code != 0) throw new SlurmException($"sbatch {script} failed: {stderr.Trim()}");
        // --parsable prints "jobid" or "jobid;cluster".
        return stdout.Trim().Split(';')[0];
    }

    /// <summary>Every array task of <paramref name="jobs"/> that Slurm still holds (pending, running,
    /// completing), one per task (`squeue -r`). Finished tasks are gone from squeue: the results
    /// folder, not the queue, says which units are done.</summary>
    public static IReadOnlyList<QueuedTask> Queued(IReadOnlyCollection<string> jobs)
    {
        if (jobs.Count == 0) return [];
        // All of the queue, not `-j`: squeue refuses a list that names a job it has forgotten.
        var (code, stdout, stderr) = Call("squeue", "-h", "-r", "-o", "%i|%T");
        if (code != 0) throw new SlurmException($"squeue failed: {stderr.Trim()}");
        var tasks = new List<QueuedTask>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length != 2) continue;
            var id = parts[0].Split('_');
            if (id.Length == 2 && jobs.Contains(id[0]) && int.TryParse(id[1], out var task))
                tasks.Add(new QueuedTask(id[0], task, parts[1]));
        }
        return tasks;
    }

    /// <summary>Cancels array task <paramref name="task"/> of job <paramref name="job"/>, or the whole job.</summary>
    public static void Cancel(string job, int? task = null)
    {
        var (code, _, stderr) = Call("scancel", task is { } t ? $"{job}_{t}" : job);
        if (code != 0) throw new SlurmException($"scancel {job} failed: {stderr.Trim()}");
    }

    /// <summary>Why Slurm cannot be used from here (no sinfo, or no controller answering), or null.</summary>
    public static string? Unavailable()
    {
        try
        {
            var (code, stdout, stderr) = Call("sinfo", "-h", "-o", "%P %T");
            if (code != 0) return $"sinfo failed: {stderr.Trim()}";
            return stdout.Trim().Length == 0 ? "sinfo shows no partition" : null;
        }
        catch (SlurmException e) { return e.Message; }
    }

    static (int Code, string Out, string Err) Call(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start) ?? throw new SlurmException($"{tool} did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SlurmException($"{tool} not found ({e.Message}): is Slurm installed here? (scripts/install-slurm.sh sets up a one-node Slurm)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                process.Kill(entireProcessTree: true);
                throw new SlurmException($"{tool} did not answer within 60 s");
            }
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
