using System.Text;
using System.Text.RegularExpressions;

namespace RuleDsl.Cli.Tests;

/// Random edits of every shipped rule, model and experiment, run through the commands that read them
/// (check, derive, eval, run --check) in process. Whatever the edit, the outcome is 0, 1 (a check failed,
/// naming the rule and its line) or 2 (bad input, located where there is a position), never a crash.
/// Seeded: a failure prints the seed, the edit and the mutant, and the same seed gives the same mutant.
public class FuzzTests
{
    /// RULEDSL_FUZZ_SEED and RULEDSL_FUZZ_MUTANTS explore further; the default suite runs these.
    static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("RULEDSL_FUZZ_SEED"), out var s) ? s : 17;
    static readonly int MutantsPerFile = int.TryParse(Environment.GetEnvironmentVariable("RULEDSL_FUZZ_MUTANTS"), out var n) ? n : 4;

    /// Errors with no position: about a file as a whole (missing, no such rule, no rules, no experiment
    /// block, a required setting missing) or a value missing from a point.
    static readonly HashSet<string> WholeFileCodes = ["RD0103", "RD0504", "RD0601", "RD0703", "RD0704", "RD0803"];

    static readonly Regex Token = new(@"[A-Za-z_][A-Za-z_0-9]*|[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|\s+|.", RegexOptions.Compiled);
    static readonly string[] Numbers = ["0", "-1", "1e308", "1e-320", "3", "0.5", "2.5", "100000", "-0", "7e", "1..2"];
    static readonly string[] Names = ["theta1", "x", "W", "E", "outer", "sum", "rule", "param", "trace", "include", "k", "e_pre", "ones_post", "δW", "recurrent", "feedforward", "nan", "inf"];
    static readonly string[] Junk = ["@", "#", "$", "(", ")", "[", "]", "{", "'", "\"", "\\", "\t", "δ", "∂", "\u0000", ",", "=", "..", "^", "@@", ":"];

    sealed record Case(string File, string Description, string Mutant);

    /// One random edit of a text.
    static (string Description, string Text) Mutate(string text, Random rng)
    {
        var tokens = Token.Matches(text).Select(m => m.Value).ToList();
        var words = tokens.Select((t, i) => (t, i)).Where(p => !string.IsNullOrWhiteSpace(p.t)).Select(p => p.i).ToList();
        var lines = text.Split('\n').ToList();
        int W() => words[rng.Next(words.Count)];
        switch (rng.Next(10))
        {
            case 0: { int i = W(); var t = tokens[i]; tokens.RemoveAt(i); return ($"delete token {i} '{t}'", string.Concat(tokens)); }
            case 1: { int i = W(); tokens.Insert(i, tokens[i]); return ($"duplicate token {i} '{tokens[i]}'", string.Concat(tokens)); }
            case 2:
            {
                int i = W(), j = W();
                (tokens[i], tokens[j]) = (tokens[j], tokens[i]);
                return ($"swap tokens {i} and {j}", string.Concat(tokens));
            }
            case 3:
            {
                var nums = tokens.Select((t, i) => (t, i)).Where(p => char.IsDigit(p.t[0])).Select(p => p.i).ToList();
                int i = nums.Count > 0 ? nums[rng.Next(nums.Count)] : W();
                var n = Numbers[rng.Next(Numbers.Length)];
                var old = tokens[i];
                tokens[i] = n;
                return ($"number {i} '{old}' -> '{n}'", string.Concat(tokens));
            }
            case 4:
            {
                var ids = tokens.Select((t, i) => (t, i)).Where(p => char.IsLetter(p.t[0]) || p.t[0] == '_').Select(p => p.i).ToList();
                int i = ids.Count > 0 ? ids[rng.Next(ids.Count)] : W();
                // Another name of the same file half the time (a plausible slip), else one of the language's.
                var n = rng.Next(2) == 0 && ids.Count > 0 ? tokens[ids[rng.Next(ids.Count)]] : Names[rng.Next(Names.Length)];
                var old = tokens[i];
                tokens[i] = n;
                return ($"name {i} '{old}' -> '{n}'", string.Concat(tokens));
            }
            case 5: { int l = rng.Next(lines.Count); lines.RemoveAt(l); return ($"drop line {l + 1}", string.Join('\n', lines)); }
            case 6: { int l = rng.Next(lines.Count); lines.Insert(l, lines[l]); return ($"duplicate line {l + 1}", string.Join('\n', lines)); }
            case 7:
            {
                int a = rng.Next(lines.Count), b = rng.Next(lines.Count);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return ($"swap lines {a + 1} and {b + 1}", string.Join('\n', lines));
            }
            case 8:
            {
                int at = rng.Next(text.Length + 1);
                var j = Junk[rng.Next(Junk.Length)];
                return ($"insert '{j}' at {at}", text.Insert(at, j));
            }
            default: { int at = rng.Next(text.Length); return ($"truncate at {at}", text[..at]); }
        }
    }

    /// The commands that read a file of this kind.
    static string[][] CommandsFor(string path, string text, string point)
    {
        if (path.EndsWith(".experiment")) return [["run", path, "--check"]];
        if (path.EndsWith(".model")) return [["check", path], ["derive", path]];
        // eval needs one rule: the file's first.
        var first = Regex.Match(text, @"^rule\s+([A-Za-z_][A-Za-z_0-9]*)", RegexOptions.Multiline);
        var commands = new List<string[]> { new[] { "check", path }, new[] { "derive", path } };
        if (first.Success) commands.Add(["eval", path, "--rule", first.Groups[1].Value, "--at", point]);
        return [.. commands];
    }

    /// What is wrong with one outcome, or null.
    static string? Problem(string[] args, Outcome r, string mutantPath)
    {
        var all = r.Out + r.Err;
        if (r.Exit is not (0 or 1 or 2)) return $"exit code {r.Exit}";
        // (A mutant's source line may read "  at = …": a trace line is "at Name.Name(…)".)
        if (Regex.IsMatch(all, @"^\s+at [\w.`<>]+[.(]", RegexOptions.Multiline) || all.Contains("Exception") || all.Contains("internal error"))
            return "a crash or trace in the output";
        var name = Path.GetFileName(mutantPath);
        if (r.Exit == 2)
        {
            // Error lines, not the summary ("1 error, 0 warnings") nor a quoted source line ("  12 | error = …").
            var errors = r.Err.Split('\n')
                .Where(l => l.Contains("error") && !Regex.IsMatch(l, @"^\d+ errors?, \d+ warnings?$") && !Regex.IsMatch(l, @"^\s*\d*\s*\|")).ToList();
            if (errors.Count == 0) return "exit 2 without an error message";
            foreach (var l in errors)
            {
                var m = Regex.Match(l, @"^(\S+?)(:\d+:\d+)?: error (RD\d{4})");
                if (m.Success && !m.Groups[2].Success && !WholeFileCodes.Contains(m.Groups[3].Value)) return $"an error without line:col: {l}";
                if (!m.Success && !l.StartsWith("   hint") && !l.Contains(name) && !Regex.IsMatch(l, @"^\S+:\d+:\d+: ")) return $"an error that names no file: {l}";
            }
        }
        if (r.Exit == 1)
        {
            var failed = (r.Out + r.Err).Split('\n').Where(l => l.Contains("FAIL")).ToList();
            if (failed.Count == 0) return "exit 1 without a failed check";
            if (!failed.Any(l => Regex.IsMatch(l, @"\S+:\d+:\d+"))) return "exit 1 without the line of what failed";
        }
        return null;
    }

    [Fact]
    public void Random_edits_of_the_shipped_files_end_in_exit_0_1_or_2_with_located_messages()
    {
        var root = Cli.RepoRoot();
        var dir = Directory.CreateTempSubdirectory("ruledsl-fuzz").FullName;
        try
        {
            // A copy of the shipped tree, so that includes and relative rule paths resolve as shipped.
            foreach (var sub in new[] { "rules", "models", "examples" })
                foreach (var f in Directory.GetFiles(Path.Combine(root, sub), "*", SearchOption.AllDirectories))
                {
                    var to = Path.Combine(dir, Path.GetRelativePath(root, f));
                    Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Copy(f, to);
                }
            var point = Path.Combine(dir, "point.json");
            File.WriteAllText(point, "{ \"e_post\": [1, 2], \"y_pre\": [0.5, 1, 2], \"y_post\": [1, 0.5], \"e_pre\": [1, 1, 1], \"x\": [1, 2], \"xbar\": [0.5, 1], \"r\": [0.1, 0.2, 0.3], \"R\": 0.5, \"Rbar\": 0.2, \"dt\": 0.01, \"δR\": 1 }");
            var files = new[] { "rules", "models", "examples" }
                .SelectMany(sub => Directory.GetFiles(Path.Combine(dir, sub), "*", SearchOption.AllDirectories))
                .Where(f => f.EndsWith(".rule") || f.EndsWith(".model") || f.EndsWith(".experiment"))
                .Order(StringComparer.Ordinal).ToList();
            Assert.True(files.Count > 30, $"only {files.Count} shipped files found");
            var failures = new StringBuilder();
            int cases = 0;
            for (int fi = 0; fi < files.Count; fi++)
            {
                var path = files[fi];
                var original = File.ReadAllText(path);
                for (int k = 0; k < MutantsPerFile; k++)
                {
                    int seed = Seed * 100_000 + fi * 100 + k;
                    var (what, mutant) = Mutate(original, new Random(seed));
                    File.WriteAllText(path, mutant);
                    foreach (var args in CommandsFor(path, mutant, point))
                    {
                        cases++;
                        var r = Cli.Run(args);
                        if (Problem(args, r, path) is { } problem)
                            failures.Append($"seed {seed}: {Path.GetRelativePath(dir, path)}, {what}: ruledsl {string.Join(' ', args)}: {problem}\n")
                                .Append($"--- exit {r.Exit}; stderr:\n{r.Err}\n--- mutant:\n{mutant}\n---\n\n");
                    }
                }
                File.WriteAllText(path, original);
            }
            Assert.True(failures.Length == 0, $"{cases} cases from seed {Seed}:\n{failures}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
