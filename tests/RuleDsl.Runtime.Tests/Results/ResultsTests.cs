using System.Text.Json.Nodes;
using RuleDsl.Runtime.Results;
using RuleDsl.Runtime.Tests.Data;

namespace RuleDsl.Runtime.Tests.Results;

public class ResultsTests
{
    private const string Experiment = "experiment bio\n  rule rules/bio.rule\n  data fashion-mnist\n  trials 2\n";
    private static readonly object Settings = new { seed = 42, trials = 2, episodes = 3, data = "fashion-mnist (subset)" };

    private static CsvRow Row(int trial, int episode, double loss) =>
        new CsvRow().Add("trial", trial).Add("episode", episode).Add("meta_loss", loss).Add("accuracy", 0.2 * episode)
                    .AddRange("theta", [1e-3, -0.5 * trial]).Add("angle_W1", 88.5).Add("note", "a, \"quoted\"\nnote");

    [Fact]
    public void New_run_writes_run_json_episodes_and_summary()
    {
        using var dir = new TempDir();
        var runDir = dir.File("run1");
        var run = RunFolder.CreateOrResume(runDir, Experiment, Settings);
        Assert.False(run.Resumed);
        using (var log = run.OpenEpisodes())
        {
            Assert.Empty(log.Completed);
            log.Append(Row(0, 0, 1.5));
            log.Append(Row(0, 1, 1e-5));
            // Flushed row by row: another reader sees both rows before the log is closed.
            Assert.Equal(2, run.ReadEpisodes().Rows.Count);
        }
        run.WriteSummary(new { final_accuracy = 0.91, trials = 2, p_value = double.NaN });

        var json = JsonNode.Parse(File.ReadAllText(run.File("run.json")))!;
        Assert.Equal(Experiment, json["experiment"]!.GetValue<string>());
        Assert.Equal(42, json["settings"]!["seed"]!.GetValue<int>());
        Assert.Equal(0.91, run.ReadSummary()!["final_accuracy"]!.GetValue<double>());

        var table = run.ReadEpisodes();
        Assert.Equal(["trial", "episode", "meta_loss", "accuracy", "theta[0]", "theta[1]", "angle_W1", "note"], table.Header);
        Assert.Equal([1.5, 1e-5], table.Doubles("meta_loss"));
        Assert.Equal("a, \"quoted\"\nnote", table.Rows[1][7]);
        Assert.Null(table.TornLine);
        Assert.StartsWith("trial,episode,meta_loss,accuracy,theta[0],theta[1],angle_W1,note\n0,0,1.5,0,0.001,-0,88.5,", File.ReadAllText(run.File("episodes.csv")));
    }

    [Fact]
    public void Resume_drops_a_torn_last_line_and_reports_complete_rows()
    {
        using var dir = new TempDir();
        var runDir = dir.File("run");
        var run = RunFolder.CreateOrResume(runDir, Experiment, Settings);
        using (var log = run.OpenEpisodes())
        {
            log.Append(Row(0, 0, 1.0));
            log.Append(Row(0, 1, 0.9));
            log.Append(Row(1, 0, 1.1));
        }
        // Simulate a crash in the middle of writing the next row.
        File.AppendAllText(run.File("episodes.csv"), "1,1,0.8,0.2,0.00");

        var resumed = RunFolder.CreateOrResume(runDir, Experiment, Settings);
        Assert.True(resumed.Resumed);
        using (var log = resumed.OpenEpisodes())
        {
            Assert.Equal("1,1,0.8,0.2,0.00", log.DroppedTornLine);
            Assert.Equal(3, log.Completed.Count);
            Assert.True(log.IsComplete(0, 1));
            Assert.False(log.IsComplete(1, 1));
            Assert.Equal(2, log.NextEpisode(0));
            Assert.Equal(1, log.NextEpisode(1));
            Assert.Equal(0, log.NextEpisode(5));
            Assert.Throws<ResultsException>(() => log.Append(Row(0, 1, 0.5)));
            log.Append(Row(1, 1, 0.7));
        }
        var table = CsvTable.Read(run.File("episodes.csv"));
        Assert.Null(table.TornLine);
        Assert.Equal([0L, 0, 1, 1], table.Longs("trial"));
        Assert.Equal([1.0, 0.9, 1.1, 0.7], table.Doubles("meta_loss"));
        Assert.Single((JsonNode.Parse(File.ReadAllText(run.File("run.json")))!["resumed"] as JsonArray)!);
    }

    [Fact]
    public void A_torn_header_or_a_torn_quoted_field_is_dropped_too()
    {
        using var dir = new TempDir();
        var path = dir.File("a.csv");
        File.WriteAllText(path, "trial,epi");
        var t = CsvTable.Read(path, repair: true);
        Assert.Empty(t.Header);
        Assert.Equal(0, new FileInfo(path).Length);

        File.WriteAllText(path, "trial,episode,note\n0,0,\"ok\"\n0,1,\"half a line\nstill inside the quote");
        t = CsvTable.Read(path);
        Assert.Single(t.Rows);
        Assert.StartsWith("0,1,\"half", t.TornLine);
        // Read without repair leaves the file alone.
        Assert.EndsWith("quote", File.ReadAllText(path));
    }

    [Fact]
    public void Header_is_fixed_by_the_first_row()
    {
        using var dir = new TempDir();
        var path = dir.File("h.csv");
        using (var w = new CsvAppender(path, []))
        {
            w.Append(new CsvRow().Add("trial", 0).Add("episode", 0).Add("x", 1.0));
            // Same columns in another order are placed by name.
            w.Append(new CsvRow().Add("x", 2.0).Add("episode", 1).Add("trial", 0));
            Assert.Contains("not in the header", Assert.Throws<ResultsException>(() => w.Append(new CsvRow().Add("trial", 0).Add("episode", 2).Add("y", 1.0))).Message);
            Assert.Contains("lacks column(s) x", Assert.Throws<ResultsException>(() => w.Append(new CsvRow().Add("trial", 0).Add("episode", 2))).Message);
        }
        var t = CsvTable.Read(path);
        Assert.Equal([1.0, 2.0], t.Doubles("x"));
        Assert.Equal(2, t.Rows.Count);
    }

    [Fact]
    public void Corrupt_middle_line_is_an_error_with_its_line_number()
    {
        using var dir = new TempDir();
        var path = dir.File("c.csv");
        File.WriteAllText(path, "trial,episode\n0,0\n0\n0,2\n");
        var e = Assert.Throws<ResultsException>(() => CsvTable.Read(path));
        Assert.Contains("c.csv:3", e.Message);
        File.WriteAllText(path, "trial,episode\n0,zero\n");
        Assert.Contains("c.csv:2", Assert.Throws<ResultsException>(() => CsvTable.Read(path).Longs("episode")).Message);
    }

    [Fact]
    public void Resuming_a_different_experiment_or_settings_is_refused()
    {
        using var dir = new TempDir();
        var runDir = dir.File("r");
        RunFolder.CreateOrResume(runDir, Experiment, Settings);
        Assert.Contains("different experiment", Assert.Throws<ResultsException>(() => RunFolder.CreateOrResume(runDir, Experiment + "x", Settings)).Message);
        var e = Assert.Throws<ResultsException>(() => RunFolder.CreateOrResume(runDir, Experiment, new { seed = 43, trials = 2, episodes = 3, data = "fashion-mnist (subset)" }));
        Assert.Contains("seed: 42 then, 43 now", e.Message);
        Directory.CreateDirectory(dir.File("busy"));
        File.WriteAllText(dir.File("busy/other.txt"), "x");
        Assert.Contains("not empty", Assert.Throws<ResultsException>(() => RunFolder.CreateOrResume(dir.File("busy"), Experiment, Settings)).Message);
    }

    [Fact]
    public void Episode_curves_arrange_a_column_per_trial()
    {
        using var dir = new TempDir();
        var run = RunFolder.CreateOrResume(dir.File("r"), Experiment, Settings);
        using (var log = run.OpenEpisodes())
        {
            log.Append(Row(1, 0, 1.0));
            log.Append(Row(0, 0, 2.0));
            log.Append(Row(0, 1, 3.0));
        }
        var c = EpisodeCurves.FromTable(run.ReadEpisodes(), "meta_loss");
        Assert.Equal([0L, 1], c.TrialIds);
        Assert.Equal([0L, 1], c.Episodes);
        Assert.Equal([2.0, 3.0], c.Trials[0]);
        Assert.Equal(1.0, c.Trials[1][0]);
        Assert.True(double.IsNaN(c.Trials[1][1]));
    }
}
