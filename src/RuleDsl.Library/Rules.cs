using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using System.Text.Json.Nodes;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl;

/// <summary>One derived equation: the update or a trace's next value (<see cref="Target"/>), its
/// partial derivative by one parameter (<see cref="Wrt"/>) or, with <see cref="Wrt"/> null, its forward
/// differential (the tangent equation); as an expression, as text and as LaTeX, with the rule line it
/// came from.</summary>
public sealed record DerivedEquation(string Target, string? Wrt, Expr Expr, string Text, string Latex, SourceLoc From);

/// <summary>A rule's derivation: every equation, and the whole as `ruledsl derive` prints it (text and LaTeX).</summary>
public sealed record RuleDerivation(Rule Rule, IReadOnlyList<DerivedEquation> Equations, string Text, string Latex);

/// <summary>A rule's numerical check: every derived derivative against central differences at random
/// points (double precision), one row each, as `ruledsl check` prints in its table.</summary>
public sealed record CheckTable(IReadOnlyList<CheckRow> Rows, double Tolerance)
{
    /// <summary>True when every row passed.</summary>
    public bool Passed => Rows.All(r => r.Passed);

    /// <summary>The table as `ruledsl check` prints it.</summary>
    public override string ToString() => CheckTableText.Text(Rows);
}

/// <summary>Rules: read from a file or from a string, derive, check numerically, evaluate at a point.</summary>
public static class Rules
{
    /// <summary>Parses and checks rule text held in memory (a notebook cell). <paramref name="path"/> names
    /// it in messages and resolves its includes (`include "std/terms.rule"` works anywhere; other
    /// includes are read from disk relative to it). Returns every rule that checked, or the located problems.</summary>
    public static Outcome<IReadOnlyList<Rule>> Parse(string text, string path = "inline.rule") =>
        FromCheck(Semantics.Check.CheckFiles(Files.With(path, text), ListModule.OfSeq([path])), path, null);

    /// <summary>Parses and checks text holding one rule (or several, one named by <paramref name="name"/>).</summary>
    public static Outcome<Rule> ParseOne(string text, string? name = null, string path = "inline.rule") =>
        One(Semantics.Check.CheckFiles(Files.With(path, text), ListModule.OfSeq([path])), path, name);

    /// <summary>Reads and checks a rule file (and what it includes): every rule that checked, or the problems.</summary>
    public static Outcome<IReadOnlyList<Rule>> Load(string path) =>
        FromCheck(Semantics.Check.CheckFiles(FileSystemModule.disk, ListModule.OfSeq([path])), path, null);

    /// <summary>Reads and checks a rule file and returns its one rule (or the rule named <paramref name="name"/>).</summary>
    public static Outcome<Rule> LoadOne(string path, string? name = null) =>
        One(Semantics.Check.CheckFiles(FileSystemModule.disk, ListModule.OfSeq([path])), path, name);

    static readonly FSharpFunc<string, string> Hint = FuncConvert.FromFunc<string, string>(n => $"did you mean rule {n}?");

    static Outcome<IReadOnlyList<Rule>> FromCheck(CheckResult result, string path, string? name)
    {
        var problems = ProblemsModule.OfProgram(result.Program, result.Diagnostics);
        var selected = ExperimentInput.SelectRules(Hint, result, path, name);
        if (selected.IsError)
            return Outcome<IReadOnlyList<Rule>>.Of(null, [problems, ProblemsModule.OfProgram(result.Program, ListModule.OfSeq([selected.ErrorValue]))]);
        return Outcome<IReadOnlyList<Rule>>.Of(selected.ResultValue.ToList(), [problems]);
    }

    static Outcome<Rule> One(CheckResult result, string path, string? name)
    {
        var all = FromCheck(result, path, name);
        if (!all.Ok) return new Outcome<Rule>(null, all.Problems, all.Report);
        var rules = all.Value!;
        if (rules.Count == 1) return new Outcome<Rule>(rules[0], all.Problems, all.Report);
        var why = rules.Count == 0 ? "the text defines no rules"
            : $"the text defines {rules.Count} rules; name one ({string.Join(", ", rules.Select(r => r.Name))})";
        var key = Loader.normalize(path);
        return new Outcome<Rule>(null, [.. all.Problems, new Problem(key, 0, 0, Syntax.Codes.NoSuchRule.Id, true, why, null)], all.Report + $"{key}: error: {why}\n");
    }

    /// <summary>Every sensitivity of the rule: ∂/∂θ of its update and traces, and their forward
    /// differentials (tangent equations), simplified; as `ruledsl derive` prints them.</summary>
    public static RuleDerivation Derive(Rule rule)
    {
        var d = Semantics.Derive.Derive(rule);
        var eqs = d.Equations.Select(e => new DerivedEquation(e.Target,
            e.Wrt is { } w ? w.Value.Name : null, e.Expr, Print.Text(e.Expr), Print.Latex(e.Expr), e.From)).ToList();
        return new RuleDerivation(rule, eqs, Semantics.Derive.RenderText(d), Semantics.Derive.RenderLatex(d));
    }

    /// <summary>Checks every derivative of the rule against central differences (`ruledsl check`'s table, as data).</summary>
    public static CheckTable Check(Rule rule) => new(Verify.VerifyRule(rule).ToList(), Verify.tolerance);

    /// <summary>Evaluates the rule's update, its derivative by each parameter and (when the point gives
    /// tangents) its forward differential at a point given as JSON text (`ruledsl eval --at`'s format);
    /// the values as `ruledsl eval` prints them (`update.value`, `update.partials.THETA`, …), or the
    /// located problems of the point.</summary>
    public static Outcome<JsonObject> Eval(Rule rule, string pointJson, string pointPath = "point.json")
    {
        var key = Loader.normalize(pointPath);
        var empty = Loader.create();
        var point = PointEval.readPoint(key, pointJson, rule);
        if (point.IsError) return Outcome<JsonObject>.Of(null, [ProblemsModule.OfText(key, pointJson, empty, point.ErrorValue)]);
        return Outcome<JsonObject>.Of(System.Text.Json.Nodes.JsonNode.Parse(PointEval.Evaluate(rule, point.ResultValue.Item1))!.AsObject(), [ProblemsModule.OfText(key, pointJson, empty, point.ResultValue.Item2)]);
    }
}
