using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using RuleDsl.Semantics;

namespace RuleDsl;

/// <summary>Where the library reads sources: text given in memory first (a rule written in a notebook
/// cell), then the disk; `std/NAME` from the standard library inside the package.</summary>
static class Files
{
    /// The given texts (by normalised path) over the disk.
    public static FileSystem Over(IReadOnlyDictionary<string, string>? texts)
    {
        if (texts is null || texts.Count == 0) return FileSystemModule.disk;
        var memory = texts.ToDictionary(kv => Loader.normalize(kv.Key), kv => kv.Value);
        var disk = FileSystemModule.disk;
        return new FileSystem(
            FuncConvert.FromFunc<string, FSharpOption<string>?>(p =>
                memory.TryGetValue(p, out var t) ? FSharpOption<string>.Some(t) : disk.Read.Invoke(p)),
            FuncConvert.FromFunc<string, FSharpList<string>>(d =>
            {
                var dir = d == "." ? "" : d;
                var here = memory.Keys.Where(p => (p.LastIndexOf('/') is var i && i < 0 ? "" : p[..i]) == dir)
                    .Select(p => p[(p.LastIndexOf('/') + 1)..]);
                return ListModule.OfSeq(here.Concat(disk.List.Invoke(d)).Distinct());
            }));
    }

    /// One text at one path over the disk.
    public static FileSystem With(string path, string text) => Over(new Dictionary<string, string> { [path] = text });
}
