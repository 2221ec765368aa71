using System.Text.Json.Nodes;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Results;

/// <summary>A file a run read besides its experiment (a rule file, an include, the model), with its
/// text. <paramref name="Path"/> identifies it across runs (relative to the experiment's folder);
/// <paramref name="Shown"/> is the path as read now, for messages (not stored).</summary>
public sealed record SourceFile(string Path, string Text, string? Shown = null);

/// <summary>
/// The copies of the files a run read, kept in its run.json (or learn.json) so that a resumed run can
/// prove it continues with the same rules and model: a file may change in comments and layout only
/// (<see cref="SourceChange.First"/>); anything else would mix the results of two rules in one table.
/// </summary>
public static class RunSources
{
    public static JsonArray ToJson(IEnumerable<SourceFile> files) =>
        new(files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["text"] = f.Text }).ToArray());

    /// <summary>The files recorded in <paramref name="node"/>, or null when nothing was recorded (a
    /// result written before ruledsl kept them).</summary>
    public static IReadOnlyList<SourceFile>? FromJson(JsonNode? node, string where) =>
        node is null ? null
        : node is JsonArray a ? a.Select(n => new SourceFile(
                n?["path"]?.GetValue<string>() ?? throw new ResultsException($"{where}: a recorded source file has no \"path\""),
                n["text"]?.GetValue<string>() ?? throw new ResultsException($"{where}: recorded source {n["path"]} has no \"text\""))).ToList()
        : throw new ResultsException($"{where}: \"sources\" must be a list of files");

    /// <summary>Null when <paramref name="current"/> says what <paramref name="stored"/> said, file by
    /// file, comments and layout aside; else the first change, as lines for a message: the file and
    /// line then and now.</summary>
    public static string? FirstChange(IReadOnlyList<SourceFile> stored, IReadOnlyList<SourceFile> current)
    {
        var now = current.ToDictionary(f => f.Path);
        foreach (var old in stored)
        {
            if (!now.TryGetValue(old.Path, out var cur))
                return $"the run read {old.Path} (relative to the experiment's folder), which the experiment no longer reads";
            if (SourceChange.First(old.Path, old.Text, cur.Text) is { Value: var c })
            {
                string name = cur.Shown ?? cur.Path;
                return $"{name} has changed since the run began:\n"
                    + $"  {Where(name, c.OldLine)} then: {(c.OldLine == 0 ? "(the file ended here)" : c.OldText)}\n"
                    + $"  {Where(name, c.NewLine)} now:  {(c.NewLine == 0 ? "(the file ends here)" : c.NewText)}";
            }
        }
        var before = stored.Select(f => f.Path).ToHashSet();
        return current.FirstOrDefault(f => !before.Contains(f.Path)) is { } added
            ? $"the experiment now reads {added.Shown ?? added.Path}, which the run did not"
            : null;
    }

    static string Where(string name, int line) => line == 0 ? $"{name}:" : $"{name}:{line}:";
}
