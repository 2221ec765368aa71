using Microsoft.FSharp.Core;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl;

/// <summary>One located problem in the user's input: where (file, 1-based line and column; 0 when the
/// problem is about a whole file), its catalog code (RD0301 …), severity, message and hint.</summary>
public sealed record Problem(string File, int Line, int Column, string Code, bool IsError, string Message, string? Hint)
{
    /// <summary>The problem as `file:line:col: error RDxxxx: message`, the line editors read.</summary>
    public override string ToString() =>
        $"{File}{(Line > 0 ? $":{Line}:{Column}" : "")}: {(IsError ? "error" : "warning")} {Code}: {Message}{(Hint is null ? "" : $" ({Hint})")}";

    internal static Problem Of(Diagnostic d) => new(d.File,
        d.Range is { } r ? r.Value.Start.Line : 0, d.Range is { } c ? c.Value.Start.Col : 0,
        d.Code.Id, d.IsError, d.Message, d.Hint is { } h ? h.Value : null);
}

/// <summary>What a library call returns for input a user wrote: a value, or the problems that stopped
/// it — never an exception for a user's mistake. Warnings come with a value too.</summary>
/// <typeparam name="T">The value: a rule list, a model, an experiment, a run summary.</typeparam>
public sealed class Outcome<T> where T : class
{
    /// <summary>The value; null when <see cref="Ok"/> is false.</summary>
    public T? Value { get; }

    /// <summary>Every error and warning, located.</summary>
    public IReadOnlyList<Problem> Problems { get; }

    /// <summary>The problems as the command line prints them: each with its source line, a caret under
    /// the spot and the hint; empty when there are none.</summary>
    public string Report { get; }

    /// <summary>True when there is a value (there may still be warnings).</summary>
    public bool Ok => Value is not null;

    internal Outcome(T? value, IReadOnlyList<Problem> problems, string report)
    {
        Value = value;
        Problems = problems;
        Report = report;
    }

    /// <summary>The value, or an exception whose message is <see cref="Report"/>: for scripts that
    /// would stop on the first mistake anyway.</summary>
    public T Get() => Value ?? throw new InvalidOperationException(Report.Length > 0 ? Report : "no value");

    internal static Outcome<T> Of(T? value, IEnumerable<Problems> problems)
    {
        var list = problems.ToList();
        var ds = list.SelectMany(p => p.Diagnostics).Select(Problem.Of).ToList();
        // A value is withheld when any error was found, so a caller never proceeds on half a rule.
        if (ds.Any(p => p.IsError)) value = null;
        return new Outcome<T>(value, ds, ProblemsModule.Render(list));
    }

    internal static Outcome<T> Failed(string file, string message) =>
        new(null, [new Problem(file, 0, 0, "", true, message, null)], $"{file}: error: {message}\n");
}
