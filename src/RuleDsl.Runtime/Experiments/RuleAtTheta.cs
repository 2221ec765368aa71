namespace RuleDsl.Runtime.Experiments;

/// <summary>An experiment's rule at the θ a study (`learn`, `samples`, `analyse`) uses it with, and where
/// that θ came from, for the reader.</summary>
public sealed record RuleAtTheta(ExperimentSession Session, double[] Theta, string From)
{
    /// <summary>The name results are filed under: the experiment's.</summary>
    public string Name => Session.Spec.Name;

    /// <summary>θ meta-learned by the experiment's run when its results folder holds a finished one (refused
    /// when the files changed since or nothing was learned: <see cref="ExperimentSession.LearnedTheta"/>),
    /// else, or with <paramref name="initial"/>, the rule's initial values.</summary>
    public static RuleAtTheta Of(ExperimentSession session, bool initial = false)
    {
        if (session.Theta.Count == 0) return new(session, [], "no θ");
        if (initial) return new(session, session.Theta.Initial, "θ at its initial values, as --initial-theta asks");
        return session.LearnedTheta() is { } learned
            ? new(session, learned, $"θ meta-learned in {session.Spec.Output}")
            : new(session, session.Theta.Initial, $"θ at its initial values: {session.Spec.Output} holds no finished run");
    }
}
