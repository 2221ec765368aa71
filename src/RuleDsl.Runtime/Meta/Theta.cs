using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Meta;

/// <summary>One meta-learned coefficient: its name, starting value, the scale of the meta-optimizer's
/// steps in it (`step`) and its bounds (`min`, `max`: the meta-step is projected back inside).</summary>
public sealed record ThetaEntry(string Name, double Initial, double Step = 1,
    double Min = double.NegativeInfinity, double Max = double.PositiveInfinity);

/// <summary>
/// θ: what the meta loop learns, one entry per coefficient, in the order of every θ vector the loop
/// passes around (the inner loop's, a checkpoint's, episodes.csv's columns, summary.json's). An
/// experiment's θ is the union of its rules' parameters by name (<see cref="Of(IEnumerable{Rule})"/>).
/// </summary>
public sealed record Theta(IReadOnlyList<ThetaEntry> Entries)
{
    public int Count => Entries.Count;
    public string[] Names => [.. Entries.Select(e => e.Name)];
    public double[] Initial => [.. Entries.Select(e => e.Initial)];
    public double[] Steps => [.. Entries.Select(e => e.Step)];

    /// <summary>Entry <paramref name="i"/>'s value projected into its bounds.</summary>
    public double Clamp(int i, double value) => Math.Clamp(value, Entries[i].Min, Entries[i].Max);

    /// <summary>θ at these starting values, unbounded, every step 1, named theta0, theta1, …</summary>
    public static Theta Unbounded(params double[] initial) => new([.. initial.Select((v, i) => new ThetaEntry($"theta{i}", v))]);

    /// <summary>The θ of <paramref name="rules"/>: the union of their parameters by name.</summary>
    public static Theta Of(IEnumerable<Rule> rules) =>
        new([.. UnionOfParams(rules).Select(p => new ThetaEntry(p.Symbol.Name, p.Init, p.Step, p.Min, p.Max))]);

    /// <summary>The parameters of several rules by name (first appearance first): one θ for a name that
    /// several rules (per-layer rules) share. A name whose starting value, step or bounds differ between
    /// two rules is an error, since it would be one θ.</summary>
    public static Param[] UnionOfParams(IEnumerable<Rule> rules)
    {
        var byName = new Dictionary<string, (Param P, Rule R)>();
        var list = new List<Param>();
        foreach (var rule in rules)
            foreach (var p in rule.Params)
            {
                if (byName.TryGetValue(p.Symbol.Name, out var seen))
                {
                    if (seen.P.Init != p.Init)
                        throw new ArgumentException($"parameter {p.Symbol.Name} starts at {p.Init:G} in rule {rule.Name} but at {seen.P.Init:G} in rule {seen.R.Name}; a shared θ needs one starting value");
                    if (seen.P.Step != p.Step)
                        throw new ArgumentException($"parameter {p.Symbol.Name} has step {p.Step:G} in rule {rule.Name} but {seen.P.Step:G} in rule {seen.R.Name}; a shared θ needs one meta step");
                    if (seen.P.Min != p.Min || seen.P.Max != p.Max)
                        throw new ArgumentException($"parameter {p.Symbol.Name} is bounded by [{p.Min:G}, {p.Max:G}] in rule {rule.Name} but [{seen.P.Min:G}, {seen.P.Max:G}] in rule {seen.R.Name}; a shared θ needs one range");
                    continue;
                }
                byName[p.Symbol.Name] = (p, rule);
                list.Add(p);
            }
        return [.. list];
    }
}
