namespace RuleDsl.Runtime.Analysis.Geometry;

/// <summary>
/// Condition-averaged trajectories: the mean state over all trials of each condition, step by step.
/// They are what PCA, CKA and RSA compare (trial noise and perturbations average out).
/// </summary>
public static class ConditionAverages
{
    /// <summary>
    /// Averages the trials (T × N state arrays) of each condition. Returns one T × N array per condition
    /// 0..conditionCount−1; every condition needs at least one trial and all trials the same shape.
    /// </summary>
    public static double[][,] Compute(IEnumerable<(int Condition, double[,] States)> trials, int conditionCount)
    {
        var sums = new double[conditionCount][,];
        var counts = new int[conditionCount];
        int steps = -1, units = -1;
        foreach (var (c, x) in trials)
        {
            if (c < 0 || c >= conditionCount) throw new ArgumentException($"condition {c} is outside 0..{conditionCount - 1}.");
            if (steps < 0) { steps = x.GetLength(0); units = x.GetLength(1); }
            if (x.GetLength(0) != steps || x.GetLength(1) != units)
                throw new ArgumentException($"all trials must be {steps}×{units}; got {x.GetLength(0)}×{x.GetLength(1)}.");
            var s = sums[c] ??= new double[steps, units];
            for (int t = 0; t < steps; t++)
                for (int i = 0; i < units; i++) s[t, i] += x[t, i];
            counts[c]++;
        }
        for (int c = 0; c < conditionCount; c++)
        {
            if (counts[c] == 0) throw new ArgumentException($"condition {c} has no trials.");
            var s = sums[c];
            for (int t = 0; t < steps; t++)
                for (int i = 0; i < units; i++) s[t, i] /= counts[c];
        }
        return sums;
    }

    /// <summary>
    /// Stacks condition-averaged trajectories into a samples × units matrix: rows are (condition, step)
    /// pairs, condition-major, keeping every <paramref name="stride"/>-th step from <paramref name="from"/>.
    /// Two networks stacked the same way have matching rows, as CKA and RSA require.
    /// </summary>
    public static double[,] Stack(IReadOnlyList<double[,]> averages, int stride = 1, int from = 0)
    {
        if (averages.Count == 0) throw new ArgumentException("no conditions to stack.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), "stride must be ≥ 1.");
        int steps = averages[0].GetLength(0), units = averages[0].GetLength(1);
        if (from < 0 || from >= steps) throw new ArgumentOutOfRangeException(nameof(from), $"from must be in 0..{steps - 1}.");
        int kept = (steps - from + stride - 1) / stride;
        var m = new double[averages.Count * kept, units];
        for (int c = 0; c < averages.Count; c++)
        {
            var a = averages[c];
            if (a.GetLength(0) != steps || a.GetLength(1) != units) throw new ArgumentException("all conditions must have the same shape.");
            for (int k = 0; k < kept; k++)
                for (int i = 0; i < units; i++) m[c * kept + k, i] = a[from + k * stride, i];
        }
        return m;
    }
}
