using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Tests.Cluster;

public class RunUnitsTests
{
    static string Dir() => Directory.CreateTempSubdirectory().FullName;

    [Fact]
    public void Merge_writes_the_header_once_then_rows_in_trial_and_episode_order_as_the_units_wrote_them()
    {
        var dir = Dir();
        // Trial 1's rows out of order (a replayed episode is appended after later ones only in theory;
        // the merge must not depend on it), a quoted failure with a comma and a line break kept as written.
        File.WriteAllText(Path.Combine(dir, RunUnits.EpisodesFile(0)), "trial,episode,x,failure\n0,0,1.5,\n0,1,2.25,\"a, b\nc\"\n");
        File.WriteAllText(Path.Combine(dir, RunUnits.EpisodesFile(1)), "trial,episode,x,failure\n1,1,3E-05,\n1,0,4,\n1,2,5,");
        RunUnits.Merge(dir, 2);
        Assert.Equal("trial,episode,x,failure\n0,0,1.5,\n0,1,2.25,\"a, b\nc\"\n1,0,4,\n1,1,3E-05,\n",
            File.ReadAllText(Path.Combine(dir, RunFolder.EpisodesFile)));
        // The torn last row (no line break: its writer died) is left out, and counted out of the progress.
        Assert.Equal([2, 2], RunUnits.Progress(dir, 2).Select(u => u.Rows));
    }

    [Fact]
    public void Merge_refuses_units_whose_columns_differ_and_a_unit_that_never_ran()
    {
        var dir = Dir();
        File.WriteAllText(Path.Combine(dir, RunUnits.EpisodesFile(0)), "trial,episode,theta0\n0,0,1\n");
        File.WriteAllText(Path.Combine(dir, RunUnits.EpisodesFile(1)), "trial,episode,theta1\n1,0,1\n");
        var e = Assert.Throws<ResultsException>(() => RunUnits.Merge(dir, 2));
        Assert.Contains("episodes.trial1.csv: its columns differ", e.Message);
        File.Delete(Path.Combine(dir, RunUnits.EpisodesFile(1)));
        var missing = Assert.Throws<ResultsException>(() => RunUnits.Merge(dir, 2));
        Assert.Contains("trial 1 has not run", missing.Message);
    }

    [Fact]
    public void A_local_runs_rows_are_sorted_by_trial_then_episode_numerically()
    {
        var dir = Dir();
        var path = Path.Combine(dir, "episodes.csv");
        File.WriteAllText(path, "trial,episode,x\n1,0,a\n0,10,b\n0,9,c\n10,0,d\n2,0,e\n");
        RunUnits.SortEpisodes(path);
        Assert.Equal("trial,episode,x\n0,9,c\n0,10,b\n1,0,a\n2,0,e\n10,0,d\n", File.ReadAllText(path));
    }

    [Fact]
    public void Done_units_are_marked_and_read_back_with_why_they_stopped()
    {
        var dir = Dir();
        File.WriteAllText(Path.Combine(dir, RunUnits.EpisodesFile(0)), "trial,episode\n0,0\n0,1\n");
        RunUnits.MarkDone(dir, 0, 2, "3 episodes in a row diverged");
        var units = RunUnits.Progress(dir, 2);
        Assert.Equal(new UnitProgress(0, true, 2, "3 episodes in a row diverged"), units[0]);
        Assert.Equal(new UnitProgress(1, false, 0, null), units[1]);
    }

    [Theory]
    [InlineData(new[] { 0, 1, 2, 3 }, "0-3")]
    [InlineData(new[] { 3, 0, 1, 5, 7, 8 }, "0-1,3,5,7-8")]
    [InlineData(new[] { 4 }, "4")]
    public void Array_ranges_are_written_as_Slurm_reads_them(int[] units, string expected) =>
        Assert.Equal(expected, SbatchScript.Ranges(units));

    [Fact]
    public void Requests_Slurm_would_refuse_are_refused_before_sbatch()
    {
        Assert.Null(new SlurmRequest("gpu,cpu", "2-12:00:00", 4).Problem());
        Assert.Null(new SlurmRequest(null, "90", null).Problem());
        Assert.Contains("--time '1h'", new SlurmRequest(null, "1h").Problem());
        Assert.Contains("--cpus-per-task 0", new SlurmRequest(CpusPerTask: 0).Problem());
        Assert.Equal("'/a b/it'\\''s'", SbatchScript.Quote("/a b/it's"));
        Assert.Equal("ruledsl-my_run_1", SbatchScript.JobName("my run#1"));
    }
}
