using System.Text.RegularExpressions;

namespace RuleDsl.Runtime.Plots;

/// <summary>
/// What an episodes.csv column measures, in words a slide can show: <paramref name="Words"/> for legends and
/// titles ("query accuracy", not <c>accuracy</c>), <paramref name="Unit"/> for the axis, and the factor from the
/// stored value to the drawn one (<paramref name="Scale"/> = 100 draws a 0–1 fraction in %).
/// </summary>
public sealed record Quantity(string Words, string Unit, double Scale = 1)
{
    /// <summary>The axis label: the words with the unit in brackets.</summary>
    public string AxisLabel => Unit.Length == 0 ? Words : $"{Words} ({Unit})";

    /// <summary>Accuracies are drawn in % and get a chance line.</summary>
    public bool IsAccuracy => Scale == 100;
}

/// <summary>The columns of episodes.csv (docs/results-format.md) in words, for either setting.</summary>
public static partial class ColumnWords
{
    /// <summary>
    /// <paramref name="column"/> of a feedforward run (<paramref name="recurrent"/> false) or a recurrent one, in
    /// words with its unit. A column this table does not know keeps its name, so a new column is still drawn.
    /// </summary>
    public static Quantity Of(string column, bool recurrent)
    {
        var layer = LayerColumn().Match(column);
        if (layer.Success)
            return layer.Groups[1].Value == "angle"
                ? new Quantity($"alignment angle with backprop, layer {layer.Groups[2].Value}", "degrees")
                : new Quantity($"orthonormality error E_W, layer {layer.Groups[2].Value}", "squared activity");
        if (column.StartsWith("accuracy_", StringComparison.Ordinal))
            return new Quantity($"fraction correct on {column["accuracy_".Length..]}, last 100 trials", "%", 100);
        if (column.StartsWith("J_", StringComparison.Ordinal))
            return new Quantity($"meta-objective J on {column["J_".Length..]}", "reward");
        return column switch
        {
            "accuracy" when recurrent => new Quantity("fraction correct, last 100 trials", "%", 100),
            "accuracy" => new Quantity("query accuracy", "%", 100),
            "meta_loss" when recurrent => new Quantity("meta-loss −J/H", "reward per trial"),
            "meta_loss" => new Quantity("meta-loss (query cross-entropy)", "nats"),
            "penalised" => new Quantity("meta-loss + penalty λ‖θ‖", recurrent ? "reward per trial" : "nats"),
            "J" => new Quantity("meta-objective J", "reward"),
            "final_reward" => new Quantity("mean reward, last 100 trials", "reward"),
            "trials_to_criterion" => new Quantity("trials to criterion", "trials"),
            "batch_failed" => new Quantity("diverged networks per step", "networks"),
            "grad_norm" => new Quantity("meta-gradient norm", "meta-loss per unit of θ"),
            "lr" => new Quantity("Adam learning rate", "θ's unit per step"),
            "seconds" => new Quantity("time per episode", "s"),
            _ => new Quantity(column, ""),
        };
    }

    [GeneratedRegex(@"^(angle|orth)_(\d+)$")]
    private static partial Regex LayerColumn();
}
