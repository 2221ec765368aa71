using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Tasks;

// The example of docs/tasks.md, "Adding a task", kept compiling and working here.
public sealed record DmsSettings(double TrialMs = 800, double CueMs = 200, double ResponseMs = 200, double Dt = 1.0);

public sealed class DmsTask(DmsSettings s) : CognitiveTask(s.Dt)
{
    public override string Name => "dms";
    public override int InputCount => 2;          // cue A, cue B
    public override int ConditionCount => 2;
    public override double TrialMs => s.TrialMs;
    public override string ConditionLabel(int c) => c == 0 ? "A" : "B";
    public override double ChanceLevel => 0.5;    // two answers: the chance line of its accuracy plots

    protected override Trial Generate(int index, int condition, TrialBuilder trial, Rng rng)
    {
        trial.Add(channel: condition, startMs: 1, durationMs: s.CueMs, value: 1.0)
             .AddNoise(channel: condition, startMs: 1, durationMs: s.CueMs, stdAt1Ms: 0.1, rng)
             .Score(startMs: s.TrialMs - s.ResponseMs, durationMs: s.ResponseMs, target: condition == 0 ? 0.98 : -0.98);
        return trial.Build(index, condition, ConditionLabel(condition), new Scoring(Correctness.MeanOutputSide, 0.0));
    }
}

public class AddingATaskTests
{
    [Fact]
    public void The_documented_example_task_works_with_the_learner()
    {
        var task = new DmsTask(new DmsSettings());
        var trial = task.Sample(3, Rng.Numbered(0, 0));
        Assert.Equal((800, 1, 200), (trial.Steps, trial.Condition, trial.ScoredSteps));
        Assert.Equal(-0.98, trial.Target[799]);
        var learner = new MiconiLearner(task, MiconiSettings.Default with { N = 30 });
        Assert.True(double.IsFinite(learner.RunTrial().Error));
    }
}
