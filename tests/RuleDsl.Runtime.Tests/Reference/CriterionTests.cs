using RuleDsl.Runtime.Reference;

namespace RuleDsl.Runtime.Tests.Reference;

public class CriterionTests
{
    [Fact]
    public void Criterion_is_the_first_trial_closing_a_window_of_95_correct_out_of_100()
    {
        var t = new CriterionTracker();
        // 50 wrong, then all correct: the window n−99..n holds ≥ 95 correct first at n = 50 + 95 = 145.
        for (int i = 0; i < 50; i++) t.Add(false);
        for (int i = 0; i < 94; i++) { t.Add(true); Assert.False(t.Reached); }
        t.Add(true);
        Assert.Equal(145, t.TrialsToCriterion);
        for (int i = 0; i < 10; i++) t.Add(false);
        Assert.Equal(145, t.TrialsToCriterion);   // the first time counts
    }

    [Fact]
    public void A_criterion_given_as_a_fraction_needs_that_many_of_the_window()
    {
        Assert.Equal((100, 90), (CriterionTracker.Of(0.9, 100).Window, CriterionTracker.Of(0.9, 100).Required));
        // 0.55 × 100 is 55.000000000000007 in floating point: still 55 trials, not 56.
        Assert.Equal(55, CriterionTracker.Of(0.55, 100).Required);
        Assert.Equal(13, CriterionTracker.Of(0.61, 20).Required);
    }

    [Fact]
    public void Needs_a_full_window()
    {
        var t = new CriterionTracker();
        for (int i = 0; i < 99; i++) t.Add(true);
        Assert.False(t.Reached);
        t.Add(true);
        Assert.Equal(100, t.TrialsToCriterion);
    }

    [Fact]
    public void The_window_slides_past_old_errors()
    {
        var t = new CriterionTracker();
        for (int i = 0; i < 100; i++) t.Add(i % 17 != 3);   // errors at trials 3, 20, 37, 54, 71, 88 (0-based)
        Assert.Equal(94, t.CorrectInWindow);
        for (int i = 0; i < 3; i++) t.Add(true);            // pushes out trials 0..2, all correct
        Assert.Equal(94, t.CorrectInWindow);
        Assert.False(t.Reached);
        t.Add(true);                                        // pushes out the error at trial 3
        Assert.Equal(95, t.CorrectInWindow);
        Assert.Equal(104, t.TrialsToCriterion);
    }

    [Fact]
    public void Summary_counts_failures_as_infinite()
    {
        var (median, q1, q3, failures) = MiconiExperiment.Summary([100, 200, 300, null, 400]);
        Assert.Equal(300, median);
        Assert.Equal(200, q1);
        Assert.Equal(400, q3);
        Assert.Equal(1, failures);
        var (m2, _, q32, _) = MiconiExperiment.Summary([100, null, null]);
        Assert.Equal(double.PositiveInfinity, m2);
        Assert.Equal(double.PositiveInfinity, q32);
    }
}
