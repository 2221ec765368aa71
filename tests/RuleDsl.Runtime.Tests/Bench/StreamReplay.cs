using System.Text.Json;
using RuleDsl.Bench;

namespace RuleDsl.Runtime.Tests.Bench;

/// <summary>
/// A plain C# replay of a stream dump (bench/RuleDsl.Bench/StreamDump.cs): it reads the file the Python
/// peers read and runs models/rnn.model with rules/miconi.rule or rules/neo_hebbian.rule written out by
/// hand, in scalar loops (the learning only, no tangents). If it reproduces the engine's rewards, the dump
/// holds every number the engine drew and the peers' reading of it (bench/peers/) has a C# twin.
/// </summary>
public static class StreamReplay
{
    sealed record Trial(int Condition, double[] X0, double[][] Inputs, double[] Target, double[] Mask, List<(int T, int I, double A)> Kicks);

    public static PeerResult Run(string path)
    {
        using var file = File.OpenRead(path);
        var header = new List<byte>();
        for (int b; (b = file.ReadByte()) != '\n';) header.Add((byte)b);
        using var doc = JsonDocument.Parse(header.ToArray());
        var s = doc.RootElement;
        int n = s.GetProperty("units").GetInt32(), k = s.GetProperty("inputs").GetInt32(), horizon = s.GetProperty("trials").GetInt32();
        double dt = s.GetProperty("dt").GetDouble(), hdt = dt / s.GetProperty("tau").GetDouble();
        double ax = s.GetProperty("alpha_x").GetDouble(), ar = s.GetProperty("alpha_r").GetDouble(), gamma = s.GetProperty("gamma").GetDouble();
        double eta = s.GetProperty("eta").GetDouble(), clip = s.GetProperty("clip").GetDouble();
        bool miconi = s.GetProperty("rule").GetString() == "miconi";
        bool carry = s.GetProperty("carry_average").GetBoolean(), after = s.GetProperty("readout_after").GetBoolean();
        int traceFrom = s.GetProperty("trace_from_step").GetInt32(), learnAfter = s.GetProperty("learn_after").GetInt32();
        int output = s.GetProperty("output_unit").GetInt32();
        var theta = s.GetProperty("theta").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var free = Enumerable.Repeat(1.0, n).ToArray();
        var clamp = new double[n];
        foreach (var c in s.GetProperty("clamped").EnumerateArray())
        {
            free[c[0].GetInt32()] = 0;
            clamp[c[0].GetInt32()] = c[1].GetDouble();
        }

        using var reader = new BinaryReader(file);
        double[] Take(int count) => Enumerable.Range(0, count).Select(_ => reader.ReadDouble()).ToArray();
        var w = Take(n * n);
        var win = Take(n * k);
        var trials = new List<Trial>();
        for (int h = 0; h < horizon; h++)
        {
            int condition = (int)reader.ReadDouble(), steps = (int)reader.ReadDouble();
            var x0 = Take(n);
            var inputs = Enumerable.Range(0, steps).Select(_ => Take(k)).ToArray();
            var target = Take(steps);
            var mask = Take(steps);
            int m = (int)reader.ReadDouble();
            var kicks = Enumerable.Range(0, m).Select(_ => ((int)reader.ReadDouble(), (int)reader.ReadDouble(), reader.ReadDouble())).ToList();
            trials.Add(new Trial(condition, x0, inputs, target, mask, kicks));
        }
        if (file.Position != file.Length) throw new InvalidDataException($"{path}: {file.Length - file.Position} bytes left over");

        var x = new double[n]; var xNew = new double[n]; var r = new double[n]; var xbar = new double[n]; var xbarNew = new double[n];
        var e = new double[n * n];
        var rbar = new double[s.GetProperty("conditions").GetInt32()];
        var rewards = new List<double>();
        double objective = 0, weight = 1;
        foreach (var trial in trials)
        {
            for (int i = 0; i < n; i++) x[i] = free[i] * trial.X0[i] + clamp[i];
            if (!carry) x.CopyTo(xbar, 0);
            Array.Clear(e);
            double racc = 0, scored = 0;
            var kick = new double[n];
            for (int t = 0; t < trial.Target.Length; t++)
            {
                Array.Clear(kick);
                foreach (var (kt, ki, ka) in trial.Kicks) if (kt == t) kick[ki] = ka;
                for (int i = 0; i < n; i++) r[i] = Math.Tanh(x[i]);
                if (!after) racc -= trial.Mask[t] * Math.Abs(r[output] - trial.Target[t]);
                for (int i = 0; i < n; i++)
                {
                    double input = kick[i];
                    for (int j = 0; j < n; j++) input += w[i * n + j] * r[j];
                    for (int q = 0; q < k; q++) input += win[i * k + q] * trial.Inputs[t][q];
                    xNew[i] = free[i] * (x[i] + hdt * (-x[i] + input)) + clamp[i];
                    xbarNew[i] = carry && t == 0 ? xbar[i] : ax * xbar[i] + (1 - ax) * x[i];
                }
                (x, xNew) = (xNew, x);
                (xbar, xbarNew) = (xbarNew, xbar);
                if (t >= traceFrom)
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++)
                        {
                            if (miconi) { double v = (x[i] - xbar[i]) * r[j]; e[i * n + j] += v * v * v; continue; }
                            double sum = 0, d = xbar[i] - x[i];
                            for (int kk = 0; kk < 3; kk++)
                                for (int l = 0; l < 3; l++) sum += theta[3 * kk + l] * Math.Pow(d, l) * Math.Pow(r[j], kk);
                            e[i * n + j] += dt * sum;
                        }
                if (after) racc -= trial.Mask[t] * Math.Abs(Math.Tanh(x[output]) - trial.Target[t]);
                scored += trial.Mask[t];
            }
            if (carry) for (int i = 0; i < n; i++) xbar[i] = ax * xbar[i] + (1 - ax) * x[i];
            double reward = racc / Math.Max(scored, 1), baseline = rbar[trial.Condition];
            if (rewards.Count >= learnAfter)
                for (int a = 0; a < w.Length; a++)
                    w[a] += miconi ? Math.Clamp(-eta * baseline * (reward - baseline) * e[a], -clip, clip) : eta * e[a] * (reward - baseline);
            rbar[trial.Condition] = ar * baseline + (1 - ar) * reward;
            rewards.Add(reward);
            objective += weight * reward;
            weight *= gamma;
        }
        return new PeerResult("C# replay", 0, [.. rewards], objective, null, w, 0, 0);
    }
}
