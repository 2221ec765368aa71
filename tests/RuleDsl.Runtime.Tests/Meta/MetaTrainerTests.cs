using RuleDsl.Syntax;
using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Tests.Meta;

/// A quadratic bowl standing in for an inner loop: f(θ) = Σ (θ − c)², whose directional derivative
/// along v is 2 (θ − c)·v. Episodes listed in <see cref="FailAt"/> report a divergence.
sealed class Bowl(double[] centre) : IInnerLoop
{
    public HashSet<int> FailAt { get; } = [];
    public int ParameterCount => centre.Length;

    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        if (FailAt.Contains(episode)) return EpisodeOutcome.Failed("weights exploded (test)");
        double f = 0;
        for (int i = 0; i < theta.Length; i++) f += (theta[i] - centre[i]) * (theta[i] - centre[i]);
        var dd = directions.Select(v => v.Select((vi, i) => 2 * (theta[i] - centre[i]) * vi).Sum()).ToArray();
        return new EpisodeOutcome(f, dd, new Dictionary<string, double>());
    }
}

public class MetaTrainerTests
{
    static readonly double[] Centre = [0.3, -0.2, 0.05];

    /// A bowl whose centre moves with the inner episode (a different network each run): the gradient of one
    /// run is 2 (θ − c − s_e), with a shift s_e drawn from the episode number.
    sealed class NoisyBowl(double[] centre) : IInnerLoop
    {
        public List<int> Episodes { get; } = [];
        public HashSet<int> FailAt { get; } = [];
        public int ParameterCount => centre.Length;
        public static double Shift(int episode, int i) => 0.1 * Math.Sin(7.3 * episode + 1.1 * i);
        public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
        {
            Episodes.Add(episode);
            if (FailAt.Contains(episode)) return EpisodeOutcome.Failed("weights exploded (test)", new Dictionary<string, double> { ["accuracy"] = 0.25 });
            var g = theta.Select((x, i) => 2 * (x - centre[i] - Shift(episode, i))).ToArray();
            double f = theta.Select((x, i) => (x - centre[i] - Shift(episode, i)) * (x - centre[i] - Shift(episode, i))).Sum();
            var metrics = new Dictionary<string, double> { ["accuracy"] = episode, ["criterion"] = episode % 2 == 0 ? episode : double.NaN };
            return new EpisodeOutcome(f, directions.Select(v => v.Select((vi, i) => g[i] * vi).Sum()).ToArray(), metrics);
        }
    }

    [Fact]
    public void A_parameter_step_scales_adams_steps_in_it_and_nothing_else()
    {
        var plain = new Adam(2, 1e-3);
        var scaled = new Adam(2, 1e-3);
        double[] a = [0.5, 0.5], b = [0.5, 0.5];
        double[][] grads = [[1.0, -3.0], [0.5, -2.0], [2.0, 1.0]];
        foreach (var g in grads)
        {
            plain.Step(a, g);
            scaled.Step(b, g, [1.0, 0.01]);
        }
        Assert.Equal(a[0], b[0], 15);                                   // step 1: plain Adam, bit for bit
        Assert.Equal((a[1] - 0.5) * 0.01, b[1] - 0.5, 9);               // step 0.01: a hundredth of the move
        var t = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 1, LearningRate: 1e-2),
            new Theta([new("a", 0), new("b", 0, Step: 0.1), new("c", 0)]));
        var step = t.Run().Single();
        Assert.Equal(0.01 * Math.Sign(Centre[0]), step.ThetaAfter[0], 6);  // Adam's first step is ±lr
        Assert.Equal(0.001 * Math.Sign(Centre[1]), step.ThetaAfter[1], 6);
    }

    [Fact]
    public void A_bounded_parameter_is_projected_back_after_every_step()
    {
        // The bowl pulls θ₁ toward −0.2 and θ₂ toward 0.05; θ₁ ≥ 0 and θ₂ ≤ 0.02 stop them at the bounds,
        // θ₀ (unbounded) reaches the centre as without bounds.
        var t = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 3000, LearningRate: 1e-2),
            new Theta([new("a", 0), new("b", 0.1, Min: 0), new("c", 0, Max: 0.02)]));
        var steps = t.Run().ToList();
        Assert.All(steps, s => Assert.True(s.ThetaAfter[1] >= 0 && s.ThetaAfter[2] <= 0.02));
        var last = steps[^1].ThetaAfter;
        Assert.Equal(Centre[0], last[0], 3);
        Assert.Equal(0, last[1]);
        Assert.Equal(0.02, last[2]);
    }

    [Fact]
    public void The_proximal_L1_step_lands_a_coefficient_exactly_on_zero_where_the_subgradient_oscillates()
    {
        // Σ (θ − c)² + λ‖θ‖₁ is minimised at sign(c) · max(|c| − λ/2, 0): with λ = 0.2, (0.2, −0.1, 0).
        var penalty = new Penalty(PenaltyKind.L1, 0.2);
        var prox = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 3000, LearningRate: 1e-2, ProximalL1: true) { Penalty = penalty }, Theta.Unbounded(0.1, 0.1, 0.1));
        var steps = prox.Run().ToList();
        var last = steps[^1].ThetaAfter;
        Assert.Equal(0.2, last[0], 3);
        Assert.Equal(-0.1, last[1], 3);
        Assert.Equal(0.0, last[2]);                                       // exactly, and for good
        Assert.All(steps.Skip(2000), s => Assert.Equal(0.0, s.ThetaAfter[2]));
        Assert.Equal(steps[^1].Objective + penalty.Value(steps[^1].ThetaBefore), steps[^1].Penalised, 12);

        var sub = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 3000, LearningRate: 1e-2) { Penalty = penalty }, Theta.Unbounded(0.1, 0.1, 0.1));
        var subLast = sub.Run().Last().ThetaAfter;
        Assert.Equal(0.2, subLast[0], 2);
        Assert.NotEqual(0.0, subLast[2]);                                 // near 0, never on it
        Assert.InRange(Math.Abs(subLast[2]), 0, 0.02);
    }

    /// The bowl of <see cref="Bowl"/> whose gradient is a billion times larger on one episode, as a
    /// pool episode's meta-gradient can be.
    sealed class SpikyBowl(double[] centre, int spikeAt) : IInnerLoop
    {
        readonly Bowl _bowl = new(centre);
        public int ParameterCount => centre.Length;
        public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
        {
            var o = _bowl.Run(theta, directions, episode, cancel);
            return episode == spikeAt ? o with { Directional = o.Directional.Select(d => 1e9 * d).ToArray() } : o;
        }
    }

    [Fact]
    public void One_exploding_meta_gradient_freezes_Adam_unless_the_norm_is_clipped()
    {
        var frozen = new MetaTrainer(new SpikyBowl(Centre, 3), new MetaSettings(Episodes: 1000, LearningRate: 1e-2), Theta.Unbounded(0, 0, 0));
        var f = frozen.Run().ToList();
        Assert.True(Math.Abs(f[^1].ThetaAfter[0] - Centre[0]) > 0.5 * Centre[0], $"θ₀ = {f[^1].ThetaAfter[0]}: Adam's second moment holds the spike");
        var clipped = new MetaTrainer(new SpikyBowl(Centre, 3), new MetaSettings(Episodes: 1000, LearningRate: 1e-2, Clip: 1), Theta.Unbounded(0, 0, 0));
        var c = clipped.Run().ToList();
        for (int i = 0; i < 3; i++) Assert.Equal(Centre[i], c[^1].ThetaAfter[i], 2);
        Assert.True(c[3].GradientNorm > 1e8, "the log keeps the unclipped norm");
        // Below the limit nothing changes: the same steps as without clipping, bit for bit.
        var loose = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 50, LearningRate: 1e-2, Clip: 1e6), Theta.Unbounded(0, 0, 0)).Run().Last();
        var plain = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 50, LearningRate: 1e-2), Theta.Unbounded(0, 0, 0)).Run().Last();
        Assert.Equal(plain.ThetaAfter, loose.ThetaAfter);
    }

    [Fact]
    public void A_zero_learning_rate_evaluates_theta_without_moving_it()
    {
        double[] theta0 = [0.1, 0.1, 0.1];
        var steps = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 5, LearningRate: 0, ProximalL1: true)
            { Penalty = new Penalty(PenaltyKind.L1, 0.5) }, Theta.Unbounded(theta0)).Run().ToList();
        Assert.All(steps, s => Assert.Equal(theta0, s.ThetaAfter));
        Assert.All(steps, s => Assert.Equal(2 * (0.1 - Centre[0]), s.Gradient[0], 12));   // the gradient is still measured
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(3, -1e-3));
    }

    [Fact]
    public void Shrink_scales_theta_toward_zero_after_a_diverged_episode_and_forgets_the_momentum()
    {
        var bowl = new Bowl(Centre);
        bowl.FailAt.Add(3);
        var t = new MetaTrainer(bowl, new MetaSettings(Episodes: 4, LearningRate: 1e-2) { OnDivergence = DivergencePolicy.Shrink },
            new Theta([new("a", 0.1, Min: 0.05), new("b", 0.1), new("c", 0.1)]));
        var steps = t.Run().ToList();
        Assert.NotNull(steps[3].Failure);
        var before = steps[3].ThetaBefore;
        Assert.Equal(0.9 * before[1], steps[3].ThetaAfter[1], 15);
        Assert.Equal(Math.Max(0.9 * before[0], 0.05), steps[3].ThetaAfter[0], 15);    // bounds still hold
        Assert.All(t.Checkpoint.Adam.M, m => Assert.Equal(0.0, m));
        Assert.All(t.Checkpoint.Adam.V, v => Assert.True(v > 0));                         // step sizes kept
        Assert.Equal(1, t.Failures);
    }

    [Fact]
    public void A_batch_meta_step_averages_its_members_runs()
    {
        double[] theta0 = [1.0, -0.5, 0.25];
        var bowl = new NoisyBowl(Centre);
        var t = new MetaTrainer(bowl, new MetaSettings(Episodes: 2, LearningRate: 1e-2, Batch: 3), Theta.Unbounded(theta0));
        var steps = t.Run().ToList();
        // Meta-step e runs inner episodes 3e, 3e+1, 3e+2: distinct networks, none reused.
        Assert.Equal([0, 1, 2, 3, 4, 5], bowl.Episodes);
        var first = steps[0];
        for (int i = 0; i < 3; i++)
        {
            double expected = Enumerable.Range(0, 3).Average(e => 2 * (theta0[i] - Centre[i] - NoisyBowl.Shift(e, i)));
            Assert.Equal(expected, first.Gradient[i], 12);
            Assert.True(first.StandardError[i] > 0, "the members' spread is reported");
        }
        Assert.Equal(1.0, first.Metrics["accuracy"], 12);       // mean of 0, 1, 2
        Assert.Equal(1.0, first.Metrics["criterion"], 12);      // mean of the finite ones: 0 and 2
        Assert.Equal(0.0, first.Metrics["batch_failed"]);
    }

    [Fact]
    public void A_batch_goes_on_without_its_diverged_members_and_fails_only_when_all_diverge()
    {
        var bowl = new NoisyBowl(Centre);
        bowl.FailAt.UnionWith([1, 4, 5]);
        var t = new MetaTrainer(bowl, new MetaSettings(Episodes: 3, LearningRate: 1e-2, Batch: 2), Theta.Unbounded(0, 0, 0));
        var steps = t.Run().ToList();
        Assert.Null(steps[0].Failure);                           // episodes 0 (ok) and 1 (diverged)
        Assert.Equal(1.0, steps[0].Metrics["batch_failed"]);
        Assert.Equal(2 * (0 - Centre[0] - NoisyBowl.Shift(0, 0)), steps[0].Gradient[0], 12);
        Assert.Null(steps[1].Failure);
        Assert.NotNull(steps[2].Failure);                        // episodes 4 and 5 both diverged
        Assert.Equal(steps[2].ThetaBefore, steps[2].ThetaAfter);
        Assert.Equal(0.25, steps[2].Metrics["accuracy"]);        // what the failed run measured is kept
        Assert.Equal(1, t.Failures);
    }

    [Fact]
    public void Exact_gradient_descends_to_the_minimum()
    {
        var t = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 3000, LearningRate: 1e-2), Theta.Unbounded(0, 0, 0));
        var steps = t.Run().ToList();
        Assert.Equal(3000, steps.Count);
        for (int i = 0; i < 3; i++) Assert.Equal(Centre[i], t.Theta[i], 3);
        Assert.True(steps[^1].Objective < 1e-5);
    }

    [Fact]
    public void Random_projections_are_unbiased_within_their_standard_error()
    {
        double[] theta = [1.0, -0.5, 0.25];
        var exact = theta.Select((x, i) => 2 * (x - Centre[i])).ToArray();
        var bowl = new Bowl(Centre);
        int draws = 4000;
        var sum = new double[3];
        var sumSq = new double[3];
        for (int k = 0; k < draws; k++)
        {
            var dirs = Directions.Draw(GradientEstimator.RandomProjection, 3, 2, new RuleDsl.Runtime.Data.Rng((ulong)k));
            var outcome = bowl.Run(theta, dirs, k, default);
            var (g, _) = Directions.Combine(GradientEstimator.RandomProjection, dirs, outcome.Directional);
            for (int i = 0; i < 3; i++) { sum[i] += g[i]; sumSq[i] += g[i] * g[i]; }
        }
        for (int i = 0; i < 3; i++)
        {
            double mean = sum[i] / draws, se = Math.Sqrt((sumSq[i] / draws - mean * mean) / draws);
            Assert.InRange(Math.Abs(mean - exact[i]), 0, 4 * se);
            Assert.True(se < 0.1 * Math.Abs(exact[i]) + 0.05, "the estimate is informative");
        }
    }

    [Fact]
    public void A_failed_episode_never_touches_theta_or_adam()
    {
        var bowl = new Bowl(Centre);
        bowl.FailAt.Add(2);
        var t = new MetaTrainer(bowl, new MetaSettings(Episodes: 5, LearningRate: 1e-2), Theta.Unbounded(0, 0, 0));
        var steps = t.Run().ToList();
        Assert.Equal(5, steps.Count);
        Assert.Equal("weights exploded (test)", steps[2].Failure);
        Assert.Equal(steps[2].ThetaBefore, steps[2].ThetaAfter);
        Assert.Equal(1, t.Failures);
        // Episode 3 continues from where episode 1 left θ and Adam, as if episode 2 never happened.
        var clean = new MetaTrainer(new Bowl(Centre), new MetaSettings(Episodes: 4, LearningRate: 1e-2), Theta.Unbounded(0, 0, 0)).Run().ToList();
        Assert.Equal(clean[2].ThetaAfter, steps[3].ThetaAfter);
    }

    [Fact]
    public void Stop_policy_ends_the_run_and_reduce_policy_halves_the_step()
    {
        var bowl = new Bowl(Centre);
        bowl.FailAt.Add(1);
        var stopper = new MetaTrainer(bowl, new MetaSettings(Episodes: 5) { OnDivergence = DivergencePolicy.Stop }, Theta.Unbounded(0, 0, 0));
        Assert.Equal(2, stopper.Run().Count());
        Assert.Contains("on_divergence = stop", stopper.Stopped);
        Assert.Empty(new MetaTrainer(bowl, new MetaSettings(Episodes: 5) { OnDivergence = DivergencePolicy.Stop }, Theta.Unbounded(0, 0, 0), stopper.Checkpoint).Run());
        var reduced = new MetaTrainer(bowl, new MetaSettings(Episodes: 3, LearningRate: 1e-2) { OnDivergence = DivergencePolicy.ReduceStep }, Theta.Unbounded(0, 0, 0)).Run().ToList();
        Assert.Equal(5e-3, reduced[2].LearningRate, 12);
    }

    [Fact]
    public void A_resumed_run_continues_exactly_like_an_uninterrupted_one()
    {
        var settings = new MetaSettings(Episodes: 20, LearningRate: 1e-2, Projections: 2, Seed: 7)
            { Estimator = GradientEstimator.RandomProjection, Penalty = new Penalty(PenaltyKind.L1, 1e-3) };
        var full = new MetaTrainer(new Bowl(Centre), settings, Theta.Unbounded(0, 0, 0)).Run().ToList();
        var first = new MetaTrainer(new Bowl(Centre), settings, Theta.Unbounded(0, 0, 0));
        var part = first.Run().Take(8).ToList();
        var resumed = new MetaTrainer(new Bowl(Centre), settings, Theta.Unbounded(9, 9, 9), first.Checkpoint).Run().ToList();
        Assert.Equal(12, resumed.Count);
        Assert.Equal(full[^1].ThetaAfter, resumed[^1].ThetaAfter);
    }

    [Fact]
    public void A_run_whose_every_episode_diverges_stops_after_max_diverged_in_a_row_and_stays_stopped()
    {
        var bowl = new Bowl(Centre);
        bowl.FailAt.UnionWith(Enumerable.Range(0, 300));
        var settings = new MetaSettings(Episodes: 300, LearningRate: 1e-2, MaxDiverged: 5);
        var t = new MetaTrainer(bowl, settings, Theta.Unbounded(0.1, 0.1, 0.1));
        var steps = t.Run().ToList();
        Assert.Equal(5, steps.Count);
        Assert.Contains("5 episodes in a row", t.Stopped);
        Assert.Equal(t.Stopped, t.Checkpoint.Stopped);
        // Resuming a stopped trial runs nothing more: it would only diverge again.
        Assert.Empty(new MetaTrainer(bowl, settings, Theta.Unbounded(0.1, 0.1, 0.1), t.Checkpoint).Run());
        // The default stops too (300 of 300 diverging used to run to the end).
        Assert.Equal(MetaTrainer.DefaultMaxDiverged, new MetaTrainer(bowl, new MetaSettings(Episodes: 300), Theta.Unbounded(0.1, 0.1, 0.1)).Run().Count());
        // The streak survives an interruption: 3 before it and 2 after stop where an uninterrupted run stops.
        var first = new MetaTrainer(bowl, settings, Theta.Unbounded(0.1, 0.1, 0.1));
        Assert.Equal(3, first.Run().Take(3).Count());
        Assert.Equal(2, new MetaTrainer(bowl, settings, Theta.Unbounded(0.1, 0.1, 0.1), first.Checkpoint).Run().Count());
    }

    [Fact]
    public void Occasional_divergence_and_shrink_do_not_stop_a_run()
    {
        var bowl = new Bowl(Centre);
        // Runs of up to four diverged episodes, each followed by one that learns.
        bowl.FailAt.UnionWith(Enumerable.Range(0, 40).Where(e => e % 5 != 4));
        var t = new MetaTrainer(bowl, new MetaSettings(Episodes: 40, LearningRate: 1e-2, MaxDiverged: 5), Theta.Unbounded(0.1, 0.1, 0.1));
        Assert.Equal(40, t.Run().Count());
        Assert.Null(t.Stopped);
        // Shrink moves θ after every diverged episode, so even 40 in a row are not "θ unchanged".
        var all = new Bowl(Centre);
        all.FailAt.UnionWith(Enumerable.Range(0, 40));
        var shrink = new MetaTrainer(all, new MetaSettings(Episodes: 40, MaxDiverged: 5) { OnDivergence = DivergencePolicy.Shrink }, Theta.Unbounded(0.1, 0.1, 0.1));
        Assert.Equal(40, shrink.Run().Count());
        Assert.Null(shrink.Stopped);
        // max_diverged = 0: never stop.
        Assert.Equal(40, new MetaTrainer(all, new MetaSettings(Episodes: 40, MaxDiverged: 0), Theta.Unbounded(0.1, 0.1, 0.1)).Run().Count());
    }

    [Fact]
    public void L1_gradient_is_lambda_sign_with_zero_at_zero()
    {
        var g = new double[3];
        new Penalty(PenaltyKind.L1, 0.5).AddGradient([2.0, 0.0, -1e-9], g);
        Assert.Equal([0.5, 0.0, -0.5], g);
    }
}

