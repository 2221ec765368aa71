using System.Text.Json;
using System.Text.RegularExpressions;

namespace RuleDsl.Cli.Tests;

/// `ruledsl check --format gcc|json`: the located errors of tests/bad, each as one gcc line or one JSON
/// object, equal to the located error the default format prints (the .expected files pin those).
public partial class CheckFormatTests
{
    /// `file:line:col: error RDxxxx: message` (or `file: error RDxxxx: message`) of the human format.
    [GeneratedRegex(@"^(?<at>\S[^\n]*?): (?<sev>error|warning) (?<code>RD\d{4}): (?<msg>.*)$")]
    private static partial Regex Header();

    [GeneratedRegex(@"^(?<file>.+?):(?<line>\d+):(?<col>\d+)$")]
    private static partial Regex Located();

    static string Bad => Path.Combine(Cli.RepoRoot(), "tests", "bad");

    /// Bad files that `check` reads (the eval and derive ones are errors of those commands' arguments).
    public static TheoryData<string> CheckedCases()
    {
        var data = new TheoryData<string>();
        foreach (var name in CheckedNames()) data.Add(name);
        return data;
    }

    static IEnumerable<string> CheckedNames() =>
        Directory.GetFiles(Bad).Where(p => p.EndsWith(".rule") || p.EndsWith(".experiment") || p.EndsWith(".model")).Order()
            .Select(Path.GetFileName).OfType<string>().Where(n => ArgsOf(n)[0] is "check" or "experiment");

    /// The golden directive ("# golden: check $FILE …"), the file alone by default.
    static string[] ArgsOf(string name)
    {
        var first = File.ReadLines(Path.Combine(Bad, name)).First();
        var line = first.StartsWith("# golden:") ? first["# golden:".Length..].Trim() : "check $FILE";
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "$FILE" ? "tests/bad/" + name : a).ToArray();
    }

    /// The located errors of the .expected file: (file, line, column, severity, code, message).
    static List<(string File, int? Line, int? Col, string Sev, string Code, string Msg)> Expected(string name)
    {
        var expected = File.ReadAllLines(Path.Combine(Bad, Path.ChangeExtension(name, ".expected")));
        var list = new List<(string, int?, int?, string, string, string)>();
        foreach (var l in expected)
        {
            var m = Header().Match(l);
            if (!m.Success) continue;
            var at = Located().Match(m.Groups["at"].Value);
            list.Add(at.Success
                ? (at.Groups["file"].Value, int.Parse(at.Groups["line"].Value), int.Parse(at.Groups["col"].Value), m.Groups["sev"].Value, m.Groups["code"].Value, m.Groups["msg"].Value)
                : (m.Groups["at"].Value, null, null, m.Groups["sev"].Value, m.Groups["code"].Value, m.Groups["msg"].Value));
        }
        return list;
    }

    static string[] CheckArgs(string name, string format) => ["check", "--format", format, .. ArgsOf(name)[1..]];

    [Theory]
    [MemberData(nameof(CheckedCases))]
    public void Gcc_gives_one_line_per_located_error(string name)
    {
        var expected = Expected(name);
        Assert.NotEmpty(expected);
        var r = Cli.Run(CheckArgs(name, "gcc"));
        Assert.Equal(Cli.Run(["check", .. ArgsOf(name)[1..]]).Exit, r.Exit);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var want = expected.Select(e => (e.Line is { } l ? $"{e.File}:{l}:{e.Col}" : e.File) + $": {e.Sev}: {e.Code} {e.Msg}").ToArray();
        Assert.Equal(want, lines);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Theory]
    [MemberData(nameof(CheckedCases))]
    public void Json_is_an_array_of_the_located_errors(string name)
    {
        var expected = Expected(name);
        var r = Cli.Run(CheckArgs(name, "json"));
        Assert.Equal(Cli.Run(["check", .. ArgsOf(name)[1..]]).Exit, r.Exit);
        using var doc = JsonDocument.Parse(r.Out);
        var items = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(expected.Count, items.Count);
        foreach (var (e, j) in expected.Zip(items))
        {
            Assert.Equal(e.File, j.GetProperty("file").GetString());
            Assert.Equal(e.Sev, j.GetProperty("severity").GetString());
            Assert.Equal(e.Code, j.GetProperty("code").GetString());
            Assert.Equal(e.Msg, j.GetProperty("message").GetString());
            if (e.Line is { } line)
            {
                Assert.Equal(line, j.GetProperty("line").GetInt32());
                Assert.Equal(e.Col, j.GetProperty("column").GetInt32());
                // The end is after the start (exclusive, on the same line or a later one).
                var end = (j.GetProperty("endLine").GetInt32(), j.GetProperty("endColumn").GetInt32());
                Assert.True(end.CompareTo((line, e.Col!.Value)) >= 0, $"{name}: end {end} before start {line}:{e.Col}");
            }
            else Assert.False(j.TryGetProperty("line", out _));
        }
    }

    /// A hint is a field of its own in JSON (the gcc line is one line and leaves it out).
    [Fact]
    public void Json_carries_the_hint()
    {
        var r = Cli.Run("check", "--format", "json", "tests/bad/shape_swapped_outer.rule");
        using var doc = JsonDocument.Parse(r.Out);
        var hints = doc.RootElement.EnumerateArray().Select(j => j.TryGetProperty("hint", out var h) ? h.GetString() : null).ToList();
        var expected = File.ReadAllLines(Path.Combine(Bad, "shape_swapped_outer.expected")).Where(l => l.StartsWith("   hint: ")).Select(l => l["   hint: ".Length..]);
        Assert.Equal(expected, hints.OfType<string>());
    }

    /// A clean file: nothing on stdout in gcc, `[]` in JSON, the table on stderr, exit 0.
    [Fact]
    public void A_clean_file_prints_no_problems_and_its_table_to_stderr()
    {
        var gcc = Cli.Run("check", "--format", "gcc", "rules/bio.rule");
        Assert.Equal(0, gcc.Exit);
        Assert.Equal("", gcc.Out);
        Assert.Contains("all passed", gcc.Err);
        var json = Cli.Run("check", "--format", "json", "rules/bio.rule", "models/mlp.model", "examples/quickstart.experiment");
        Assert.Equal(0, json.Exit);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(0, doc.RootElement.GetArrayLength());
    }

    [Fact]
    public void Json_table_and_format_together_are_refused()
    {
        var r = Cli.Run("check", "--json", "--format", "gcc", "rules/bio.rule");
        Assert.Equal(2, r.Exit);
        Assert.Contains("--format", r.Err);
        var bad = Cli.Run("check", "--format", "xml", "rules/bio.rule");
        Assert.Equal(2, bad.Exit);
    }

    /// A runtime error of an experiment (a task that does not exist) is located at its setting's line in gcc too.
    [Fact]
    public void A_runtime_error_of_an_experiment_is_a_located_gcc_line()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "typo.experiment");
        File.WriteAllText(file, $"experiment typo\n  setting = recurrent\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "miconi.rule")} miconi\n  task = dnmz\n");
        var r = Cli.Run("check", "--format", "gcc", file);
        Assert.Equal(2, r.Exit);
        Assert.StartsWith($"{file}:4:10: error: RD0702 unknown task 'dnmz'", r.Out);
        Assert.Single(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
    /// The problem matchers of editors/vscode/package.json read every gcc line of tests/bad: the located
    /// ones by `ruledsl`, the whole-file ones by `ruledsl-file`, each line by exactly one of them.
    [Fact]
    public void The_vscode_problem_matchers_read_every_gcc_line()
    {
        using var pkg = JsonDocument.Parse(File.ReadAllText(Path.Combine(Cli.RepoRoot(), "editors", "vscode", "package.json")));
        var matchers = pkg.RootElement.GetProperty("contributes").GetProperty("problemMatchers").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("pattern"));
        Regex Of(string name) => new(matchers[name].GetProperty("regexp").GetString()!);
        string Group(Match m, JsonElement pattern, string key) => m.Groups[pattern.GetProperty(key).GetInt32()].Value;
        int located = 0, whole = 0;
        foreach (var name in CheckedNames())
        {
            var r = Cli.Run(CheckArgs(name, "gcc"));
            foreach (var (line, e) in r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Zip(Expected(name)))
            {
                var (ml, mf) = (Of("ruledsl").Match(line), Of("ruledsl-file").Match(line));
                Assert.True(ml.Success != mf.Success, $"{line}: matched by {(ml.Success ? "both" : "neither")}");
                var (m, p) = ml.Success ? (ml, matchers["ruledsl"]) : (mf, matchers["ruledsl-file"]);
                Assert.Equal(e.File, Group(m, p, "file"));
                Assert.Equal(e.Sev, Group(m, p, "severity"));
                Assert.Equal(e.Code, Group(m, p, "code"));
                Assert.Equal(e.Msg, Group(m, p, "message"));
                if (e.Line is { } l) { Assert.Equal(l.ToString(), Group(m, p, "line")); Assert.Equal(e.Col.ToString(), Group(m, p, "column")); located++; }
                else whole++;
            }
        }
        Assert.True(located > 50 && whole > 0, $"{located} located lines, {whole} whole-file lines");
    }
}
