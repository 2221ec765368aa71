using RuleDsl.Bench;
using RuleDsl.Runtime.Engine.Recurrent;

namespace RuleDsl.Runtime.Tests.Bench;

/// <summary>A python3 with the named modules (bench/peers/), else skipped with the reason.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute(string modules)
    {
        if (PythonPeer.Find(modules, out _, out var why) is null) Skip = why;
    }
}

/// The peers of issue 19 read the engine's random streams from a dump: replayed from the file alone, the
/// learning must give the engine's numbers (else the speed ratio would compare different work).
public class StreamDumpTests
{
    /// <summary>The engine's rewards, J, final weights and (with θ) exact gradient of a short run.</summary>
    static PeerResult Engine(StreamDump.Setting setting, int horizon, int? learnAfter)
    {
        var learner = (RecurrentLearner)StreamDump.Session(setting, horizon, learnAfter).LoopFactory()(0);
        var rewards = new List<double>();
        double[]? weights = null;
        learner.OnTrial = (_, reward, _) => rewards.Add(reward);
        learner.OnTrained = (w, _) => weights = w;
        var dirs = StreamDump.Directions(setting);
        var outcome = learner.Run(StreamDump.Theta(setting), dirs, StreamDump.Episode, default);
        Assert.Null(outcome.Diverged);
        var gradient = dirs.Length == 0 ? null : outcome.Directional.Select(g => -g * horizon).ToArray();
        return new PeerResult("engine", 0, [.. rewards], outcome.Metrics["J"], gradient, weights, 0, 0);
    }

    static string Dump(StreamDump.Setting setting, int horizon, int? learnAfter)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("ruledsl-dump-").FullName, "streams.bin");
        StreamDump.Write(path, setting, StreamDump.Session(setting, horizon, learnAfter));
        return path;
    }

    [Theory]
    [InlineData("miconi", 5, 1)]   // his settings, weights changing from the second trial
    [InlineData("grad", 4, 0)]     // the 3×3 family at its bench θ, learning from the first trial
    public void A_plain_replay_of_the_dump_reproduces_the_engine(string name, int horizon, int learnAfter)
    {
        var setting = StreamDump.Parse(name);
        var engine = Engine(setting, horizon, learnAfter);
        var replay = StreamReplay.Run(Dump(setting, horizon, learnAfter));
        Assert.Equal(horizon, replay.Rewards.Length);
        for (int h = 0; h < horizon; h++) Assert.True(Math.Abs(engine.Rewards[h] - replay.Rewards[h]) <= 1e-12, $"trial {h}: {engine.Rewards[h]:R} vs {replay.Rewards[h]:R}");
        Assert.True(Math.Abs(engine.J - replay.J) <= 1e-12);
        double dw = engine.Weights!.Zip(replay.Weights!, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(dw <= 1e-12, $"final weights differ by {dw:E2}");
        // The run learned: the weights moved away from the dump's initial W (else the check above is weak).
        var initial = StreamReplay.Run(Dump(setting, 1, horizon)).Weights!;
        Assert.True(engine.Weights!.Zip(initial, (a, b) => Math.Abs(a - b)).Max() > 1e-6);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_a_message()
    {
        Assert.Equal(2, StreamDump.Command(["miconi", "0", "x.bin"]));
        Assert.Equal(2, StreamDump.Command(["hebb", "3", "x.bin"]));
        Assert.Equal(2, StreamDump.Command(["grad"]));
    }

    [PythonFact("numpy")]
    public void The_numpy_peer_computes_the_engines_numbers()
    {
        var python = PythonPeer.Find("numpy", out _, out _)!;
        var engine = Engine(StreamDump.Setting.Miconi, 4, 1);
        var dump = Dump(StreamDump.Setting.Miconi, 4, 1);
        var peer = PythonPeer.Run(python, "miconi_numpy.py", dump, dump + ".json", out var why);
        Assert.True(peer is not null, why);
        var agreement = PeerChecks.Compare(engine, peer!);
        Assert.True(agreement.Agrees, string.Join("; ", agreement.Problems));
    }

    [PythonFact("numpy, torch")]
    public void The_pytorch_peer_computes_the_engines_gradient()
    {
        var python = PythonPeer.Find("numpy, torch", out _, out _)!;
        var engine = Engine(StreamDump.Setting.Grad, 3, 0) with { Weights = null };
        var dump = Dump(StreamDump.Setting.Grad, 3, 0);
        var peer = PythonPeer.Run(python, "meta_gradient_torch.py", dump, dump + ".json", out var why);
        Assert.True(peer is not null, why);
        var agreement = PeerChecks.Compare(engine, peer!);
        Assert.True(agreement.Agrees, string.Join("; ", agreement.Problems));
        Assert.Contains(engine.Gradient!, g => Math.Abs(g) > 1e-3);
    }
}
