using System.Globalization;
using System.Text.Json;

namespace RuleDsl.Bench;

/// <summary>What one side of a peer comparison computed and what it cost: the engine's child process
/// and the Python peers write the same JSON (bench/peers/rnn_streams.py, write_result).</summary>
public sealed record PeerResult(string Peer, double Seconds, double[] Rewards, double J, double[]? Gradient, double[]? Weights,
    double PeakRssMb, double SetupRssMb)
{
    public static PeerResult Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        double[]? Array(string name) => root.TryGetProperty(name, out var a) ? a.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
        double Number(string name) => root.TryGetProperty(name, out var v) ? v.GetDouble() : 0;
        return new PeerResult(root.TryGetProperty("peer", out var p) ? p.GetString() ?? "" : "", Number("seconds"), Array("rewards") ?? [],
            Number("J"), Array("grad"), Array("w"), Number("peak_rss_mb"), Number("setup_rss_mb"));
    }

    public void Write(string path)
    {
        var o = new Dictionary<string, object?>
        {
            ["peer"] = Peer,
            ["seconds"] = Seconds,
            ["rewards"] = Rewards,
            ["J"] = J,
            ["grad"] = Gradient,
            ["w"] = Weights,
            ["peak_rss_mb"] = PeakRssMb,
            ["setup_rss_mb"] = SetupRssMb,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(o.Where(kv => kv.Value is not null).ToDictionary()));
    }
}

/// <summary>
/// The check that makes a speed ratio mean something: the engine and the peer computed the same
/// numbers from the same streams. Miconi's learner: every trial's reward, J and the final weights to
/// 1e-10 (absolute; rewards are errors in [−2, 0], weights O(0.1)); the meta-gradient: J to 1e-10 and
/// the gradient to 1e-8 relative to its largest component. Anything non-finite disagrees.
/// </summary>
public static class PeerChecks
{
    public const double ValueTolerance = 1e-10;
    public const double GradientTolerance = 1e-8;

    /// <summary>The measured differences, and the problems (empty when the two agree).</summary>
    public sealed record Agreement(double Rewards, double J, double Weights, double Gradient, IReadOnlyList<string> Problems)
    {
        public bool Agrees => Problems.Count == 0;

        public string Describe() => string.Join(", ", new[]
        {
            $"max |ΔR| over trials = {Rewards:E1}", $"|ΔJ| = {J:E1}",
            double.IsNaN(Weights) ? null : $"max |ΔW| = {Weights:E1}",
            double.IsNaN(Gradient) ? null : $"max |Δ∇J| / max |∇J| = {Gradient:E1}",
        }.Where(s => s is not null));
    }

    public static Agreement Compare(PeerResult engine, PeerResult peer)
    {
        var problems = new List<string>();
        double rewards = MaxAbsDiff(engine.Rewards, peer.Rewards, "per-trial rewards", problems);
        if (rewards > ValueTolerance) problems.Add($"per-trial rewards differ by up to {rewards:E2} (tolerance {ValueTolerance:E0})");
        double j = Math.Abs(engine.J - peer.J);
        if (!(j <= ValueTolerance)) problems.Add($"J differs: {engine.J:R} vs {peer.J:R} (|Δ| = {j:E2}, tolerance {ValueTolerance:E0})");
        double weights = double.NaN, gradient = double.NaN;
        if (engine.Weights is not null || peer.Weights is not null)
        {
            weights = MaxAbsDiff(engine.Weights ?? [], peer.Weights ?? [], "final weights", problems);
            if (weights > ValueTolerance) problems.Add($"final weights differ by up to {weights:E2} (tolerance {ValueTolerance:E0})");
        }
        if (engine.Gradient is not null || peer.Gradient is not null)
        {
            double diff = MaxAbsDiff(engine.Gradient ?? [], peer.Gradient ?? [], "gradient", problems);
            double scale = (engine.Gradient ?? []).Select(Math.Abs).DefaultIfEmpty(0).Max();
            gradient = diff / Math.Max(scale, 1e-300);
            if (!(gradient <= GradientTolerance))
                problems.Add($"gradients differ by up to {gradient:E2} of the largest component (tolerance {GradientTolerance:E0})");
        }
        return new Agreement(rewards, j, weights, gradient, problems);
    }

    /// <summary>max |a − b|; +∞ (and a problem) when the lengths differ or a value is not finite.</summary>
    static double MaxAbsDiff(double[] a, double[] b, string what, List<string> problems)
    {
        if (a.Length != b.Length)
        {
            problems.Add($"{what}: {a.Length} values from the engine, {b.Length} from the peer");
            return double.PositiveInfinity;
        }
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(a[i] - b[i]);
            if (!double.IsFinite(d))
            {
                problems.Add($"{what}: value {i.ToString(CultureInfo.InvariantCulture)} is not finite ({a[i]:R} vs {b[i]:R})");
                return double.PositiveInfinity;
            }
            max = Math.Max(max, d);
        }
        return max;
    }
}
