using RuleDsl.Bench;

namespace RuleDsl.Runtime.Tests.Bench;

/// The check behind every ratio of `rnn-peers`: equal work or no figure.
public class PeerChecksTests
{
    static readonly PeerResult Reference = new("engine", 1, [-0.8, -1.2, -0.5], -2.5, [0.04, -0.12, 1e-4], [0.1, -0.2, 0.3], 60, 50);

    [Fact]
    public void Equal_results_agree_and_rounding_is_tolerated()
    {
        Assert.True(PeerChecks.Compare(Reference, Reference).Agrees);
        var rounded = Reference with { Rewards = [-0.8 + 1e-15, -1.2, -0.5], Gradient = [0.04 * (1 + 1e-12), -0.12, 1e-4] };
        Assert.True(PeerChecks.Compare(Reference, rounded).Agrees);
    }

    [Fact]
    public void A_perturbed_result_disagrees()
    {
        Assert.False(PeerChecks.Compare(Reference, Reference with { Rewards = [-0.8, -1.2 + 1e-9, -0.5] }).Agrees);
        Assert.False(PeerChecks.Compare(Reference, Reference with { J = -2.5 + 1e-9 }).Agrees);
        Assert.False(PeerChecks.Compare(Reference, Reference with { Weights = [0.1, -0.2, 0.3 + 1e-9] }).Agrees);
        // 1e-7 of the largest component is over the 1e-8 tolerance, even on the smallest component.
        Assert.False(PeerChecks.Compare(Reference, Reference with { Gradient = [0.04, -0.12, 1e-4 + 0.12e-7] }).Agrees);
        Assert.False(PeerChecks.Compare(Reference, Reference with { Gradient = [0.04, double.NaN, 1e-4] }).Agrees);
        Assert.False(PeerChecks.Compare(Reference, Reference with { Rewards = [-0.8, -1.2] }).Agrees);
        Assert.False(PeerChecks.Compare(Reference, Reference with { Gradient = null }).Agrees);
    }

    [Fact]
    public void The_problems_say_what_differs()
    {
        var a = PeerChecks.Compare(Reference, Reference with { Weights = [0.1, -0.2, 0.31] });
        Assert.Single(a.Problems);
        Assert.Contains("final weights differ", a.Problems[0]);
        Assert.Contains("max |ΔW| = 1.0E-002", a.Describe());
    }
}
