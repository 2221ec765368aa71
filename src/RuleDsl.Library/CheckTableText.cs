using System.Globalization;
using System.Text;
using System.Text.Json;
using RuleDsl.Semantics;

namespace RuleDsl;

/// <summary>`ruledsl check`'s numerical verification as the command prints it: a table, or JSON (--json).</summary>
public static class CheckTableText
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The table: one row per derivative checked, the count, then each failure once more with the line it
    /// checks (for the reader and for editors).</summary>
    public static string Text(IReadOnlyList<CheckRow> rows)
    {
        var sb = new StringBuilder();
        int w1 = rows.Select(r => r.Rule.Length).Prepend(4).Max(), w2 = rows.Select(r => r.Target.Length).Prepend(14).Max();
        void Line(string a, string b, string c, string d) =>
            sb.Append(a.PadRight(w1)).Append("  ").Append(b.PadRight(w2)).Append("  ").Append(c.PadLeft(10)).Append("  ").Append(d).Append('\n');
        Line("rule", "differentiated", "rel. error", "result");
        foreach (var r in rows)
            Line(r.Rule, r.Target, r.RelError.ToString("0.0e+00", Inv), r.Passed ? "pass" : "FAIL");
        int failed = rows.Count(r => !r.Passed);
        sb.Append($"{rows.Count} checks, {(failed == 0 ? "all passed" : $"{failed} FAILED")} (tolerance {Verify.tolerance.ToString(Inv)})");
        foreach (var r in rows.Where(r => !r.Passed))
        {
            var why = double.IsInfinity(r.RelError) ? " (a value is not finite at the check point, e.g. a negative number to a non-integer power)" : "";
            var at = r.At.Line > 0 ? r.At.ToString() : r.At.File;
            sb.Append($"\n{at}: FAIL: rule {r.Rule}, {r.Target}{why}");
        }
        return sb.ToString();
    }

    /// <summary>The same as JSON: the files and their rules, every check, the tolerance and the diagnostics' counts.</summary>
    public static string Json(IEnumerable<(string Path, IEnumerable<string> Rules)> files, IReadOnlyList<CheckRow> rows, int errors, int warnings)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartArray("files");
            foreach (var (path, rules) in files)
            {
                w.WriteStartObject();
                w.WriteString("path", path);
                w.WriteStartArray("rules");
                foreach (var r in rules) w.WriteStringValue(r);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("checks");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("rule", r.Rule);
                w.WriteString("file", r.File);
                w.WriteString("differentiated", r.Target);
                w.WritePropertyName("relError");
                if (double.IsFinite(r.RelError)) w.WriteNumberValue(r.RelError); else w.WriteStringValue(r.RelError.ToString(Inv));
                w.WriteBoolean("passed", r.Passed);
                w.WriteString("at", r.At.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("tolerance", Verify.tolerance);
            w.WriteNumber("errors", errors);
            w.WriteNumber("warnings", warnings);
            w.WriteBoolean("passed", errors == 0 && rows.All(r => r.Passed));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
