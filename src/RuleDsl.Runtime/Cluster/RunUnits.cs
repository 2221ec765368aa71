using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Cluster;

/// <summary>How far one unit (one trial of a run) has got: its rows in its own episodes file, and whether
/// it has finished (its marker in units/).</summary>
public sealed record UnitProgress(int Trial, bool Done, int Rows, string? Stopped);

/// <summary>
/// The files of a run whose trials run as separate units (`run EXP --trial K`, one Slurm array task
/// each), all in the shared results folder and each written by one unit only, so concurrent units
/// never write the same file: <c>episodes.trialK.csv</c> (the unit's rows, appended and flushed row by
/// row), <c>checkpoints/trialK.json</c> (as a local run's) and <c>units/trialK.json</c> (written
/// atomically when the unit has finished). <see cref="Merge"/> joins the units' rows into episodes.csv
/// in (trial, episode) order: the file a local run of the same experiment writes, byte for byte.
/// </summary>
public static class RunUnits
{
    public const string UnitsFolder = "units";

    public static string EpisodesFile(int trial) => $"episodes.trial{trial}.csv";

    static string MarkerPath(string dir, int trial) => Path.Combine(dir, UnitsFolder, $"trial{trial}.json");

    /// <summary>True when <paramref name="dir"/> holds a run by units (some unit has started).</summary>
    public static bool IsUnitRun(string dir) => Directory.Exists(Path.Combine(dir, UnitsFolder));

    /// <summary>Makes the units folder: from now on the run is one of units, not a local one.</summary>
    public static void Begin(string dir) => Directory.CreateDirectory(Path.Combine(dir, UnitsFolder));

    /// <summary>Records that trial <paramref name="trial"/> has finished (written once, atomically).</summary>
    public static void MarkDone(string dir, int trial, int rows, string? stopped)
    {
        var node = new JsonObject
        {
            ["trial"] = trial,
            ["rows"] = rows,
            ["stopped"] = stopped,
            ["finished"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["slurm_job"] = Environment.GetEnvironmentVariable("SLURM_JOB_ID"),
            ["host"] = Environment.MachineName,
        };
        RunFolder.WriteTextAtomic(MarkerPath(dir, trial), node.ToJsonString(RunFolder.JsonOptions) + "\n");
    }

    /// <summary>Each of the <paramref name="trials"/> units' progress, from the files alone.</summary>
    public static IReadOnlyList<UnitProgress> Progress(string dir, int trials) =>
        Enumerable.Range(0, trials).Select(t =>
        {
            string? stopped = null;
            bool done = File.Exists(MarkerPath(dir, t));
            if (done && JsonNode.Parse(File.ReadAllText(MarkerPath(dir, t)))?["stopped"] is JsonValue v) stopped = v.GetValue<string>();
            var path = Path.Combine(dir, EpisodesFile(t));
            int rows = File.Exists(path) ? Records(File.ReadAllText(path)).Count - 1 : 0;
            return new UnitProgress(t, done, Math.Max(rows, 0), stopped);
        }).ToList();

    /// <summary>
    /// Writes episodes.csv of the run in <paramref name="dir"/> from its units' files: the one header,
    /// then trial 0's rows in episode order, trial 1's, …; the rows as the units wrote them (not parsed
    /// and printed again), replacing the file atomically.
    /// </summary>
    public static void Merge(string dir, int trials)
    {
        string? header = null;
        var text = new StringBuilder();
        for (int t = 0; t < trials; t++)
        {
            var path = Path.Combine(dir, EpisodesFile(t));
            if (!File.Exists(path)) throw new ResultsException($"{path}: missing; trial {t} has not run");
            var records = Records(File.ReadAllText(path));
            if (records.Count == 0) continue;
            if (header is null) { header = records[0]; text.Append(header); }
            else if (records[0] != header)
                throw new ResultsException($"{path}: its columns differ from those of the other trials' files ({header.TrimEnd()}); these units are not of one run");
            text.Append(string.Concat(Ordered(records.Skip(1), path)));
        }
        RunFolder.WriteTextAtomic(Path.Combine(dir, RunFolder.EpisodesFile), text.ToString());
    }

    /// <summary>Puts the rows of a local run's episodes.csv (written as its parallel trials finished
    /// episodes) in (trial, episode) order, atomically: the order <see cref="Merge"/> writes.</summary>
    public static void SortEpisodes(string path)
    {
        if (!File.Exists(path)) return;
        var records = Records(File.ReadAllText(path));
        if (records.Count < 2) return;
        RunFolder.WriteTextAtomic(path, records[0] + string.Concat(Ordered(records.Skip(1), path)));
    }

    static IEnumerable<string> Ordered(IEnumerable<string> rows, string path) =>
        rows.Select(r => (Key: Key(r, path), Row: r)).OrderBy(x => x.Key.Trial).ThenBy(x => x.Key.Episode).Select(x => x.Row);

    /// <summary>The (trial, episode) of a row: its first two fields, integers.</summary>
    static (long Trial, long Episode) Key(string row, string path)
    {
        var fields = row.Split(',', 3);
        if (fields.Length >= 2 && long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var t)
            && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var e))
            return (t, e);
        throw new ResultsException($"{path}: a row does not start with integer trial and episode columns: {row.TrimEnd()}");
    }

    /// <summary>The complete records of a CSV text, each with its closing line break; a quoted field may
    /// hold line breaks. A last record without its line break is torn (its writer died) and left out.</summary>
    public static List<string> Records(string text)
    {
        var records = new List<string>();
        int start = 0;
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '"') quoted = !quoted;
            else if (c == '\n' && !quoted)
            {
                records.Add(text[start..(i + 1)]);
                start = i + 1;
            }
        }
        return records;
    }
}
