using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Reference;
using RuleDsl.Semantics;
using RuleDsl.Syntax;
using Xunit.Abstractions;

namespace RuleDsl.Runtime.Tests.Reference;

/// <summary>
/// The engine (rules/miconi.rule through the compiled kernels, the recurrent learner, the shipped
/// models/rnn.model) and the plain reference learner are the same learner: on one seed they give the
/// same reward on every trial. Their differences are named settings (`xbar`, `readout`, `bias_units`,
/// `learn_after`), so both directions are checked: the engine at Miconi's settings
/// (examples/miconi_dnms_paper.experiment) against the reference's defaults, and the reference set to the
/// engine's defaults against the engine.
///
/// Tolerance: the rewards agree to 1e-12, not bit for bit. The compiled kernels sum W·r and the other
/// products in their own order (SIMD lanes, reassociated by the simplifier), the reference in its own
/// (and computes (r δx)³ as r³·δx³), so x and E differ by round-off after a step; over these runs the
/// rewards differ by at most ~3e-15, and chaos (G = 1.5) can grow that by orders of magnitude over
/// many trials. A real difference of the learners is far larger: a shifted readout, a reset x̄ or
/// other kicks change a trial's reward by 1e-3 and more from the first trial on, and even averaging
/// one trial's initial state into x̄ (once, three steps before the traces start) by 1e-10 on the first
/// trial after a weight change and 1e-7 on the next.
/// </summary>
public class EngineAgreementTests(ITestOutputHelper log)
{
    const double Tolerance = 1e-12;

    /// <summary>An experiment loaded as `ruledsl learn` loads it: the shipped paper experiment, or a text
    /// written beside it.</summary>
    static ExperimentSession Load(string? text = null)
    {
        var file = Path.Combine(Repo.Root, "examples", "miconi_dnms_paper.experiment");
        if (text is not null)
        {
            file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "x.experiment");
            File.WriteAllText(file, text.Replace("RULES", Path.Combine(Repo.Root, "rules")));
        }
        var loaded = ExperimentInput.Load(FileSystemModule.disk, file);
        Assert.True(loaded.IsOk);
        return ExperimentSession.Of(loaded.ResultValue);
    }

    /// <summary>The engine's reward on each of <paramref name="trials"/> learning trials.</summary>
    static (double[] Rewards, bool[] Correct) Engine(ExperimentSession session, int seed, int trials, int? learnAfter = null)
    {
        var config = session.RecurrentConfig() with { Horizon = trials };
        if (learnAfter is int wait) config = config with { LearnAfterTrial = wait };
        var learner = new RecurrentLearner(config, session.RecurrentModel(), session.Rule,
            new CognitiveTrials(session.RecurrentTask(), (ulong)seed), session.Backend(), seed);
        var rewards = new double[trials];
        var correct = new bool[trials];
        learner.OnTrial = (h, r, ok) => { rewards[h] = r; correct[h] = ok; };
        Assert.Null(learner.Run(session.Theta.Initial, [], 0, default).Failure);
        return (rewards, correct);
    }

    /// <summary>The reference's reward (−error) on each trial.</summary>
    static (double[] Rewards, bool[] Correct) Reference(ExperimentSession session, MiconiSettings settings, int trials)
    {
        var learner = new MiconiLearner(session.RecurrentTask(), settings);
        var outcomes = Enumerable.Range(0, trials).Select(_ => learner.RunTrial()).ToArray();
        return (outcomes.Select(o => -o.Error).ToArray(), outcomes.Select(o => o.Correct).ToArray());
    }

    void AssertAgree(double[] engine, double[] reference)
    {
        double worst = engine.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        log.WriteLine($"largest reward difference over {engine.Length} trials: {worst:G3}");
        for (int h = 0; h < engine.Length; h++)
            Assert.True(Math.Abs(engine[h] - reference[h]) <= Tolerance,
                $"trial {h}: engine reward {engine[h]:R}, reference {reference[h]:R} (differ by {Math.Abs(engine[h] - reference[h]):G3})");
    }

    [Fact]
    public void At_Miconis_settings_the_engine_reproduces_the_reference_learner_trial_for_trial()
    {
        var session = Load();
        // The experiment's first weight change is at trial index learn_after; the reference's after
        // index LearnAfterTrial (Miconi's `numtrial > 100`): the shipped file matches the two.
        Assert.Equal(MiconiSettings.Default.LearnAfterTrial + 1, session.Spec.LearnAfter);
        // 30 trials at N = 200, dt = 1 ms; weights change from trial 10 on, so learning is compared too.
        const int seed = 1, trials = 30, firstChange = 10;
        var engine = Engine(session, seed, trials, learnAfter: firstChange);
        var reference = Reference(session, MiconiSettings.Default with { Seed = seed, LearnAfterTrial = firstChange - 1 }, trials);
        AssertAgree(engine.Rewards, reference.Rewards);
        Assert.Equal(engine.Correct, reference.Correct);
    }

    [Fact]
    public void Set_to_the_engines_defaults_the_reference_learner_reproduces_the_engine()
    {
        // The engine's defaults (x̄ reset each trial, output before the step, bias units 1 2 3, dt = 5 ms
        // with the kicks scaled to it) on a small network; the reference takes the same choices.
        var session = Load("experiment engine_defaults\n  setting = recurrent\n  rule = RULES/miconi.rule miconi\n  task = dnms\n" +
                           "  learn_after = 3\n  units = 40\n");
        var config = session.RecurrentConfig();
        var task = session.RecurrentTask();
        var settings = MiconiSettings.Default with
        {
            N = 40, Dt = task.Dt, Tau = session.Spec.Tau * 1000, Seed = 7, LearnAfterTrial = 2,
            PerturbationProbability = config.PerturbationProbability, PerturbationAmplitude = config.PerturbationAmplitude,
            Biases = config.Clamped!.Select(c => new ClampedNeuron(c.Unit, c.Value)).ToArray(),
            ResetAverage = true, OutputBeforeStep = true,
        };
        var engine = Engine(session, 7, 40);
        var reference = Reference(session, settings, 40);
        AssertAgree(engine.Rewards, reference.Rewards);
        Assert.Equal(engine.Correct, reference.Correct);
    }

    [LongFact]
    public void At_Miconis_settings_both_learners_reach_criterion_on_the_same_trial()
    {
        // Seed 1 to the end: trials to criterion at 90 % (the engine's) and 95 % (Miconi's) over 100.
        var session = Load();
        const int seed = 1, trials = 2500;
        var engine = Engine(session, seed, trials);
        var reference = Reference(session, MiconiSettings.Default with { Seed = seed }, trials);
        foreach (int required in new[] { 90, 95 })
        {
            int? Criterion(bool[] correct)
            {
                var t = new CriterionTracker(100, required);
                foreach (var c in correct) t.Add(c);
                return t.TrialsToCriterion;
            }
            log.WriteLine($"{required} %: engine {Criterion(engine.Correct)}, reference {Criterion(reference.Correct)}");
            Assert.Equal(Criterion(reference.Correct), Criterion(engine.Correct));
        }
        int firstDifferent = Enumerable.Range(0, trials).FirstOrDefault(h => engine.Correct[h] != reference.Correct[h], -1);
        log.WriteLine($"first trial judged differently: {firstDifferent}; largest reward difference {engine.Rewards.Zip(reference.Rewards, (a, b) => Math.Abs(a - b)).Max():G3}");
    }
}
