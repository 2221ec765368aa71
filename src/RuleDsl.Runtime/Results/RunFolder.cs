using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RuleDsl.Runtime.Results;

/// <summary>
/// The folder of one experiment run:
/// <list type="bullet">
/// <item><c>run.json</c>: the experiment's text, a copy of every other file the run read (rules, includes, model),
///   its settings (any JSON object: seeds, trial counts, data set used…), the version of ruledsl that created it,
///   when it was created and when it was resumed;</item>
/// <item><c>episodes.csv</c>: one row per (trial, episode), appended and flushed row by row, header fixed by the
///   first row (trial, episode, meta_loss, accuracy, theta[…], angles…);</item>
/// <item><c>summary.json</c>: written (atomically) when the run, or a stage of it, ends;</item>
/// <item>plots and anything else the run adds (<see cref="File(string)"/>).</item>
/// </list>
/// A run that stopped (crash, Ctrl-C, time limit) is continued by <see cref="CreateOrResume"/> with the same
/// experiment text: <see cref="OpenEpisodes"/> then reports which (trial, episode) rows are complete.
/// </summary>
public sealed class RunFolder
{
    public const string RunFile = "run.json";
    public const string EpisodesFile = "episodes.csv";
    public const string SummaryFile = "summary.json";

    /// <summary>How result files are written: indented, and read as written — θ, δ, '+' in the version
    /// and backticks in advice as themselves, not \u escapes (these are files for people, not HTML).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Dir { get; }
    /// <summary>The experiment text the run was created with.</summary>
    public string ExperimentText { get; }
    /// <summary>The settings the run was created with.</summary>
    public JsonObject Settings { get; }
    /// <summary>The files the run read besides its experiment, as they were when it began; null for a
    /// run.json written before ruledsl recorded them.</summary>
    public IReadOnlyList<SourceFile>? Sources { get; }
    /// <summary>True when this call continued an existing run rather than creating one.</summary>
    public bool Resumed { get; }

    private RunFolder(string dir, string text, JsonObject settings, bool resumed, IReadOnlyList<SourceFile>? sources)
    {
        Dir = dir;
        ExperimentText = text;
        Settings = settings;
        Resumed = resumed;
        Sources = sources;
    }

    /// <summary>Path of a file inside the run folder.</summary>
    public string File(string name) => Path.Combine(Dir, name);

    /// <summary>Replaces the experiment text of the run in <paramref name="dir"/> by a longer run of the
    /// same experiment (more episodes), recording when and from how many episodes it was extended.</summary>
    public static void Extend(string dir, string experimentText, int fromEpisodes, int toEpisodes)
    {
        var runPath = Path.Combine(dir, RunFile);
        var doc = ReadJson(runPath);
        doc["experiment"] = experimentText;
        var extended = doc["extended"] as JsonArray ?? [];
        extended.Add(new JsonObject { ["at"] = Now(), ["episodes_from"] = fromEpisodes, ["episodes_to"] = toEpisodes });
        doc["extended"] = extended;
        WriteJsonAtomic(runPath, doc);
    }

    /// <summary>
    /// Creates the run folder, or continues the run in it when its run.json holds the same experiment and
    /// settings. A folder holding another experiment, or different settings, is an error (choose another folder).
    /// <paramref name="sameExperiment"/> says whether a stored text is this experiment (the caller can parse
    /// and so ignore comments and layout); without it the texts must be equal.
    /// <paramref name="sources"/> are the other files the run reads (rules, includes, model): they are
    /// recorded, and a run is only continued when they still say the same (<see cref="RunSources.FirstChange"/>).
    /// </summary>
    public static RunFolder CreateOrResume(string dir, string experimentText, object settings, Func<string, bool>? sameExperiment = null,
        IReadOnlyList<SourceFile>? sources = null)
    {
        var settingsNode = ToObject(settings);
        var runPath = Path.Combine(dir, RunFile);
        if (System.IO.File.Exists(runPath))
        {
            var existing = CheckSame(dir, experimentText, settingsNode, sameExperiment, sources);
            var doc = ReadJson(runPath);
            var resumed = doc["resumed"] as JsonArray ?? [];
            resumed.Add(Now());
            doc["resumed"] = resumed;
            WriteJsonAtomic(runPath, doc);
            return new RunFolder(existing.Dir, existing.ExperimentText, existing.Settings, true, existing.Sources);
        }
        var run = NewRun(dir, experimentText, settingsNode, sources, null, ignoreTemporary: false);
        WriteJsonAtomic(runPath, run);
        return new RunFolder(Path.GetFullPath(dir), experimentText, settingsNode, false, sources);
    }

    /// <summary>The run.json of a new run in <paramref name="dir"/>, which is created; refused when the folder
    /// holds anything else (besides other units' temporary files when <paramref name="ignoreTemporary"/>).</summary>
    static JsonObject NewRun(string dir, string experimentText, JsonObject settingsNode, IReadOnlyList<SourceFile>? sources,
        JsonObject? extra, bool ignoreTemporary)
    {
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any(e => !ignoreTemporary || !e.EndsWith(".tmp", StringComparison.Ordinal)))
            throw new ResultsException($"{dir}: the folder exists, is not empty and has no {RunFile}; choose a new or empty results folder");
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ResultsException($"{dir}: cannot create the results folder: {e.Message}", e);
        }
        var run = new JsonObject
        {
            ["format"] = "ruledsl-run/1",
            ["created"] = Now(),
            ["tool"] = ToolVersion.Tool,
            ["experiment"] = experimentText,
            ["settings"] = settingsNode.DeepClone(),
        };
        if (sources is not null) run["sources"] = RunSources.ToJson(sources);
        foreach (var (k, v) in extra ?? []) run[k] = v?.DeepClone();
        return run;
    }

    /// <summary>The run in <paramref name="dir"/>, checked to be of this experiment text (or one
    /// <paramref name="sameExperiment"/> takes for it), these settings and these files; refused otherwise.</summary>
    static RunFolder CheckSame(string dir, string experimentText, JsonObject settingsNode, Func<string, bool>? sameExperiment, IReadOnlyList<SourceFile>? sources)
    {
        var runPath = Path.Combine(dir, RunFile);
        var existing = Open(dir);
        // The files first: a changed rule is named even when `episodes` was raised too.
        if (sources is not null && SourcesChanged(existing, sources) is { } why)
            throw new ResultsException(why);
        if (existing.ExperimentText != experimentText && !(sameExperiment?.Invoke(existing.ExperimentText) ?? false))
        {
            var changed = Syntax.Experiment.ChangedSettings(existing.ExperimentText, experimentText);
            throw new ResultsException($"{runPath}: this folder holds a run of a different experiment text"
                + (changed.IsEmpty ? "" : $" ({string.Join("; ", changed)})")
                + "; choose another results folder, or delete this one to start over (a run whose experiment only raised `episodes` is continued by --resume)");
        }
        var diff = DiffKeys(existing.Settings, settingsNode);
        if (diff.Count > 0)
            throw new ResultsException($"{runPath}: the run was started with different settings ({string.Join(", ", diff)}); choose another results folder, or delete this one to start over");
        return existing;
    }

    /// <summary>
    /// As <see cref="CreateOrResume"/>, for a run whose units (trials) run as separate processes, at once
    /// (Slurm array tasks): an existing run.json is checked (the same experiment, settings and files, or
    /// the unit is refused) and never rewritten; a new one is created atomically by whichever unit gets
    /// there first, with <paramref name="extra"/> entries (where the experiment file is, and the working
    /// directory its relative `output` is taken from).
    /// </summary>
    public static RunFolder CreateOrCheck(string dir, string experimentText, object settings, Func<string, bool>? sameExperiment,
        IReadOnlyList<SourceFile>? sources, JsonObject? extra = null)
    {
        var settingsNode = ToObject(settings);
        var runPath = Path.Combine(dir, RunFile);
        if (System.IO.File.Exists(runPath)) return CheckSame(dir, experimentText, settingsNode, sameExperiment, sources);
        // Another unit's run.json on its way (a temporary file) does not make the folder someone else's.
        var run = NewRun(dir, experimentText, settingsNode, sources, extra, ignoreTemporary: true);
        var tmp = $"{runPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        System.IO.File.WriteAllText(tmp, run.ToJsonString(JsonOptions) + "\n");
        try { System.IO.File.Move(tmp, runPath, overwrite: false); }
        catch (IOException) when (System.IO.File.Exists(runPath))
        {
            // Another unit created it first: this one is checked against it like any later unit.
            System.IO.File.Delete(tmp);
            return CheckSame(dir, experimentText, settingsNode, sameExperiment, sources);
        }
        return new RunFolder(Path.GetFullPath(dir), experimentText, settingsNode, false, sources);
    }

    /// <summary>An entry of run.json besides the experiment and settings (e.g. "file"), or null.</summary>
    public string? Entry(string key) => ReadJson(File(RunFile))[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Why the run in <paramref name="existing"/> cannot be continued with <paramref name="sources"/>,
    /// or null when it can: its files must say what they said (comments and layout aside), and a run that did
    /// not record them cannot be checked.</summary>
    public static string? SourcesChanged(RunFolder existing, IReadOnlyList<SourceFile> sources) =>
        SourcesDiffer(existing.File(RunFile), existing.Sources, sources,
            "a resumed run could mix the results of two rules; run the experiment again into another results folder (or delete this one to start over)",
            "only comments and layout may change in the files of a run that is continued, or its results would mix "
            + "two versions of them; give the changed experiment another results folder (or delete this one to start over)");

    /// <summary>Why the files <paramref name="stored"/> in <paramref name="runPath"/> (null: not recorded) and
    /// <paramref name="current"/> may not be taken for the same (<see cref="RunSources.FirstChange"/>), or null.
    /// <paramref name="unrecorded"/> and <paramref name="changed"/> end the message: what the difference
    /// would cost the caller and what to do.</summary>
    public static string? SourcesDiffer(string runPath, IReadOnlyList<SourceFile>? stored, IReadOnlyList<SourceFile> current, string unrecorded, string changed)
    {
        if (stored is null)
            return $"{runPath} was written by a version of ruledsl that did not record the rule and model files the run read, "
                + $"so whether they changed since cannot be verified, and {unrecorded}";
        return RunSources.FirstChange(stored, current) is { } change ? $"{runPath}: {change}\n{changed}" : null;
    }

    /// <summary>Opens an existing run folder (to read its results, e.g. for plots or statistics).</summary>
    public static RunFolder Open(string dir)
    {
        var runPath = Path.Combine(dir, RunFile);
        if (!System.IO.File.Exists(runPath))
            throw new ResultsException($"{dir}: not a run folder (no {RunFile})");
        var doc = ReadJson(runPath);
        var text = doc["experiment"]?.GetValue<string>()
                   ?? throw new ResultsException($"{runPath}: no \"experiment\" text");
        var settings = doc["settings"] as JsonObject ?? [];
        return new RunFolder(Path.GetFullPath(dir), text, (JsonObject)settings.DeepClone(), false, RunSources.FromJson(doc["sources"], runPath));
    }

    /// <summary>
    /// Opens episodes.csv for appending. A torn last line (the process died mid-write) is cut off; the rows already
    /// there tell which (trial, episode) pairs are complete.
    /// </summary>
    public EpisodeLog OpenEpisodes() => new(File(EpisodesFile));

    /// <summary>As <see cref="OpenEpisodes()"/>, for another episodes file in the folder (one unit's).</summary>
    public EpisodeLog OpenEpisodes(string name) => new(File(name));

    /// <summary>Reads episodes.csv without changing it (a torn last line is ignored, not removed).</summary>
    public CsvTable ReadEpisodes() => CsvTable.Read(File(EpisodesFile));

    /// <summary>Which rows of an episodes table are diverged episodes: those whose `failure` column
    /// says why (all false for a table without the column).</summary>
    public static bool[] Diverged(CsvTable episodes)
    {
        if (!episodes.HasColumn("failure")) return new bool[episodes.Rows.Count];
        int f = episodes.ColumnIndex("failure");
        return episodes.Rows.Select(r => !string.IsNullOrEmpty(r[f])).ToArray();
    }

    /// <summary>Writes summary.json (any object or JSON node), replacing it atomically; an object gets a
    /// "Tool" entry, the ruledsl version that wrote it.</summary>
    public void WriteSummary(object summary)
    {
        var node = ToNode(summary);
        if (node is JsonObject o) o["Tool"] = ToolVersion.Tool;
        WriteJsonAtomic(File(SummaryFile), node);
    }

    /// <summary>summary.json, or null if not written yet.</summary>
    public JsonObject? ReadSummary() =>
        System.IO.File.Exists(File(SummaryFile)) ? ReadJson(File(SummaryFile)) : null;

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static JsonNode ToNode(object value) =>
        value as JsonNode ?? JsonSerializer.SerializeToNode(value, JsonOptions)
        ?? throw new ArgumentException("cannot write null as JSON");

    private static JsonObject ToObject(object settings) =>
        ToNode(settings) as JsonObject ?? throw new ArgumentException("run settings must serialize to a JSON object");

    private static List<string> DiffKeys(JsonObject a, JsonObject b)
    {
        var keys = a.Select(p => p.Key).Union(b.Select(p => p.Key));
        return keys.Where(k => !JsonNode.DeepEquals(a[k], b[k]))
                   .Select(k => $"{k}: {a[k]?.ToJsonString() ?? "absent"} then, {b[k]?.ToJsonString() ?? "absent"} now")
                   .ToList();
    }

    private static JsonObject ReadJson(string path)
    {
        try
        {
            return JsonNode.Parse(System.IO.File.ReadAllText(path)) as JsonObject
                   ?? throw new ResultsException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new ResultsException($"{path}: malformed JSON: {e.Message}", e);
        }
    }

    private static void WriteJsonAtomic(string path, JsonNode node) => WriteTextAtomic(path, node.ToJsonString(JsonOptions) + "\n");

    /// <summary>Writes a temporary file beside the target and renames it over the target, so readers never see
    /// half a file. The temporary name is this writer's own: concurrent writers (two units of a run finishing at
    /// once write summary.json both) never share one.</summary>
    public static void WriteTextAtomic(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        System.IO.File.WriteAllText(tmp, text);
        System.IO.File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>
/// episodes.csv of a run, open for appending. Rows must carry integer "trial" and "episode" columns; a row for a
/// (trial, episode) already complete is refused, so a resumed run cannot duplicate results.
/// </summary>
public sealed class EpisodeLog : IDisposable
{
    private readonly CsvAppender appender;
    private readonly HashSet<(long Trial, long Episode)> completed;

    /// <summary>The rows that were in the file when it was opened.</summary>
    public CsvTable Existing { get; }
    /// <summary>The torn last line that was cut off on opening, or null.</summary>
    public string? DroppedTornLine => Existing.TornLine;
    public IReadOnlySet<(long Trial, long Episode)> Completed => completed;

    internal EpisodeLog(string path)
    {
        Existing = CsvTable.Read(path, repair: true);
        completed = [];
        if (Existing.Rows.Count > 0)
        {
            var trials = Existing.Longs("trial");
            var episodes = Existing.Longs("episode");
            for (int i = 0; i < trials.Length; i++)
                if (!completed.Add((trials[i], episodes[i])))
                    throw new ResultsException($"{path}:{i + 2}: trial {trials[i]}, episode {episodes[i]} appears twice");
        }
        appender = new CsvAppender(path, Existing.Header);
    }

    public bool IsComplete(long trial, long episode) => completed.Contains((trial, episode));

    /// <summary>The next episode to run for a trial: one past the highest complete episode, or 0.</summary>
    public long NextEpisode(long trial) =>
        completed.Where(c => c.Trial == trial).Select(c => c.Episode + 1).DefaultIfEmpty(0).Max();

    /// <summary>Appends one row (flushed at once). It must hold "trial" and "episode" as integers.</summary>
    public void Append(CsvRow row)
    {
        long? trial = null, episode = null;
        foreach (var (k, v) in row)
        {
            if (k == "trial") trial = ParseKey(k, v);
            else if (k == "episode") episode = ParseKey(k, v);
        }
        if (trial is null || episode is null)
            throw new ResultsException($"{appender.Path}: an episode row needs integer columns \"trial\" and \"episode\"");
        if (completed.Contains((trial.Value, episode.Value)))
            throw new ResultsException($"{appender.Path}: trial {trial}, episode {episode} is already recorded");
        appender.Append(row);
        completed.Add((trial.Value, episode.Value));
    }

    private long ParseKey(string column, string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ResultsException($"{appender.Path}: column \"{column}\" must be an integer, was '{text}'");

    public void Dispose() => appender.Dispose();
}
