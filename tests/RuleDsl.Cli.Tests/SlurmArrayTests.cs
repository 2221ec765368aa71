using RuleDsl.Runtime.Cluster;

namespace RuleDsl.Cli.Tests;

/// A real Slurm (scripts/install-slurm.sh: one node, this machine): a tiny experiment as a 4-task job
/// array, one task cancelled mid-run and resubmitted, collected, against a local run of it. Where Slurm
/// cannot be reached the test fails and says why: it is part of the default suite, not optional.
public class SlurmArrayTests
{
    static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);

    /// The ruledsl the array tasks run: the one built beside these tests, or the CLI's build output.
    static string Tool()
    {
        string[] candidates = [Path.Combine(AppContext.BaseDirectory, "ruledsl"), Path.Combine(Cli.RepoRoot(), "src", "RuleDsl.Cli", "bin", "Release", "net10.0", "ruledsl")];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"no built ruledsl for the array tasks to run (looked for {string.Join(", ", candidates)}); build src/RuleDsl.Cli in Release");
    }

    static void WaitUntil(Func<bool> done, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > Bound) Assert.Fail($"timed out after {Bound.TotalMinutes} min waiting until {what}; squeue: {string.Join("; ", Slurm.Queued(AllJobs).Select(q => $"{q.JobId}_{q.Task} {q.State}"))}");
            Thread.Sleep(250);
        }
    }

    static readonly HashSet<string> AllJobs = [];

    static string JobOf(Outcome submitted)
    {
        var m = System.Text.RegularExpressions.Regex.Match(submitted.Out, @"as job array (\d+)");
        Assert.True(m.Success, submitted.Out + submitted.Err);
        AllJobs.Add(m.Groups[1].Value);
        return m.Groups[1].Value;
    }

    static bool Gone(string job) => Slurm.Queued([job]).Count == 0;

    static int Rows(string path) => File.Exists(path) ? RunUnits.Records(File.ReadAllText(path)).Count - 1 : 0;

    [Fact]
    public void A_four_task_array_with_one_task_cancelled_and_resubmitted_collects_to_the_local_run()
    {
        if (Slurm.Unavailable() is { } why)
            Assert.Fail($"Slurm is not available here ({why}); ./scripts/install-slurm.sh starts a one-node Slurm (scripts/test.sh runs it first; it needs root)");
        var tool = Tool();
        var dir = Directory.CreateTempSubdirectory("ruledsl-slurm-").FullName;
        var local = Path.Combine(dir, "local.experiment");
        var array = Path.Combine(dir, "array.experiment");
        var output = Path.Combine(dir, "array");
        // The paper's network, so that a trial (about 6 s on one core) is still running when it is cancelled.
        const int episodes = 100;
        const string layers = "784 170 130 100 70 5";
        File.WriteAllText(local, RunUnitsTests.Experiment("slurm_local", Path.Combine(dir, "local"), episodes, trials: 4, layers: layers, train: 20));
        File.WriteAllText(array, RunUnitsTests.Experiment("slurm_array", output, episodes, trials: 4, layers: layers, train: 20));

        var submitted = Cli.Run("submit", array, "--time", "10", "--tool", tool);
        Assert.True(submitted.Exit == 0, submitted.Out + submitted.Err);
        Assert.Contains("submitted trials 0-3", submitted.Out);
        var job = JobOf(submitted);
        try
        {
            // Cancel trial 1 once it has written a few episodes (scancel, as a preemption or a node failure would).
            var trial1 = Path.Combine(output, RunUnits.EpisodesFile(1));
            WaitUntil(() => Rows(trial1) >= 3, "trial 1 has run 3 episodes");
            Slurm.Cancel(job, 1);
            WaitUntil(() => Gone(job), $"job {job} has left the queue");
            int cut = Rows(trial1);
            Assert.True(cut < episodes, $"trial 1 finished ({cut} episodes) before it was cancelled: the test needs a longer trial");

            var status = Cli.Run("status", output);
            Assert.True(status.Exit == 0, status.Err);
            Assert.Matches($@"\n\s+1  failed\s+{cut}/{episodes}\s+{job}_1\n", status.Out);
            Assert.Contains("3 done, 1 failed", status.Out);
            var early = Cli.Run("collect", output);
            Assert.Equal(2, early.Exit);
            Assert.Contains($"1 of 4 units have not finished: trial 1 ({cut} of {episodes} episodes)", early.Err);

            var resubmitted = Cli.Run("submit", array, "--resume", "--time", "10", "--tool", tool);
            Assert.True(resubmitted.Exit == 0, resubmitted.Out + resubmitted.Err);
            Assert.Contains("submitted trials 1 as job array", resubmitted.Out);
            var again = JobOf(resubmitted);
            WaitUntil(() => Gone(again), $"job {again} has left the queue");
            // The task resumed from its checkpoint: its log says so by starting past episode 0.
            var log = File.ReadAllText(Path.Combine(output, "slurm", $"{again}_1.out"));
            Assert.Contains("trial 1 done", log);
        }
        finally
        {
            foreach (var j in AllJobs) try { Slurm.Cancel(j); } catch (SlurmException) { }
        }

        var collected = Cli.Run("collect", output);
        Assert.True(collected.Exit == 0, collected.Out + collected.Err);
        var run = Cli.Run("run", local);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Equal(RunUnitsTests.WithoutTiming(Path.Combine(dir, "local", "episodes.csv")), RunUnitsTests.WithoutTiming(Path.Combine(output, "episodes.csv")));
        Assert.Equal(RunUnitsTests.Closing(run.Out), RunUnitsTests.Closing(collected.Out));
        Assert.Contains("final accuracy", collected.Out);
    }
}
