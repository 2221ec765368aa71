using System.Text;
using System.Text.Json;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Cli;

/// <summary>How `ruledsl check` shows located problems: as people read them (the default: the line, a
/// caret, a hint), as gcc does (one `file:line:col: error: RDxxxx message` line each, what editors'
/// problem matchers read), or as one JSON array.</summary>
public enum DiagnosticFormat { Human, Gcc, Json }

/// <summary>One located problem as the machine formats give it: a diagnostic of the catalog, or a derivative
/// that failed its numerical check (no code). Lines and columns are 1-based; the end is exclusive.</summary>
public sealed record ProblemEntry(string File, int? Line, int? Column, int? EndLine, int? EndColumn,
    string Severity, string? Code, string Message, string? Hint)
{
    public static ProblemEntry Of(Diagnostic d)
    {
        var sev = d.Code.Severity.IsError ? "error" : "warning";
        var r = d.Range?.Value;
        return r is null
            ? new(d.File, null, null, null, null, sev, d.Code.Id, d.Message, d.Hint?.Value)
            : new(r.File, r.Start.Line, r.Start.Col, r.End.Line, r.End.Col, sev, d.Code.Id, d.Message, d.Hint?.Value);
    }

    /// A derivative whose derived value disagrees with central differences: an error at the line it checks.
    public static ProblemEntry Of(CheckRow r)
    {
        var why = double.IsInfinity(r.RelError) ? "a value is not finite at the check point" : FormattableString.Invariant($"relative error {r.RelError:0.0e+00} > {Verify.tolerance}");
        var msg = $"derivative check failed: rule {r.Rule}, {r.Target} ({why})";
        return r.At.Line > 0
            ? new(r.At.File, r.At.Line, r.At.Column, null, null, "error", null, msg, null)
            : new(r.File, null, null, null, null, "error", null, msg, null);
    }

    /// `file:line:col: severity: CODE message`, or `file: severity: CODE message` for a whole file; one line.
    public string Gcc()
    {
        var at = Line is { } l ? $"{File}:{l}:{Column}" : File;
        var code = Code is null ? "" : Code + " ";
        return $"{at}: {Severity}: {code}{Message.Replace('\n', ' ')}";
    }
}

/// <summary>Where one `check` puts its problems and its other text. Human: problems rendered to stderr, text
/// to stdout (as always). Gcc and JSON: stdout holds only the problems (so an editor or a parser reads it
/// whole), everything else — tables, summaries, counts — goes to stderr.</summary>
public sealed class ProblemReport(DiagnosticFormat format, TextWriter @out, TextWriter err)
{
    readonly List<ProblemEntry> _entries = [];

    public DiagnosticFormat Format => format;

    /// Where text for people (tables, summaries) goes in this format.
    public TextWriter Text => format == DiagnosticFormat.Human ? @out : err;

    public void Show(IEnumerable<Problems> problems)
    {
        if (format == DiagnosticFormat.Human) { err.Write(ProblemsModule.Render(problems)); return; }
        foreach (var p in problems)
            foreach (var d in p.Diagnostics) Add(ProblemEntry.Of(d));
    }

    public void Show(params Problems[] problems) => Show((IEnumerable<Problems>)problems);

    /// One diagnostic already rendered for people (the runtime's errors at a setting's line).
    public void Show(Diagnostic d, string rendered)
    {
        if (format == DiagnosticFormat.Human) err.WriteLine(rendered);
        else Add(ProblemEntry.Of(d));
    }

    /// A derivative that failed its check (the human format prints these in its table).
    public void Failed(CheckRow row)
    {
        if (format != DiagnosticFormat.Human) Add(ProblemEntry.Of(row));
    }

    /// An error of the runtime's own (data that cannot be read) that has no place in a file's text.
    public void Error(string file, string message)
    {
        if (format == DiagnosticFormat.Human) err.WriteLine($"error: {message}");
        else Add(new ProblemEntry(file, null, null, null, null, "error", null, message, null));
    }

    void Add(ProblemEntry e)
    {
        if (format == DiagnosticFormat.Gcc) @out.WriteLine(e.Gcc());
        else _entries.Add(e);
    }

    /// JSON writes its array when the check is over (an empty array when nothing was wrong).
    public void Finish()
    {
        if (format == DiagnosticFormat.Json) @out.WriteLine(Json(_entries));
    }

    /// The entries as a JSON array of {file, line, column, endLine, endColumn, severity, code, message, hint}
    /// (the positions and the hint left out when there are none).
    public static string Json(IEnumerable<ProblemEntry> entries)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var e in entries)
            {
                w.WriteStartObject();
                w.WriteString("file", e.File);
                void Num(string name, int? v) { if (v is { } n) w.WriteNumber(name, n); }
                Num("line", e.Line);
                Num("column", e.Column);
                Num("endLine", e.EndLine);
                Num("endColumn", e.EndColumn);
                w.WriteString("severity", e.Severity);
                if (e.Code is null) w.WriteNull("code"); else w.WriteString("code", e.Code);
                w.WriteString("message", e.Message);
                if (e.Hint is not null) w.WriteString("hint", e.Hint);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// `gcc` or `json` or `human`, as --format takes them; null for anything else.
    public static DiagnosticFormat? Parse(string? word) => word switch
    {
        null or "human" => DiagnosticFormat.Human,
        "gcc" => DiagnosticFormat.Gcc,
        "json" => DiagnosticFormat.Json,
        _ => null,
    };
}
