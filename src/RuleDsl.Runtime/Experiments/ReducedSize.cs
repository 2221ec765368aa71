namespace RuleDsl.Runtime.Experiments;

/// <summary>An experiment's text with its size settings made small and everything else as written
/// (its rule, model, feedback, task and seed): what the examples' gradient-check test and the bench's
/// `examples-values` dump run, so that every shipped experiment is exercised in seconds.</summary>
public static class ReducedSize
{
    public static string Text(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n').ToList();
        string? Value(string key) => lines.Select(l => l.Split('#')[0].Split('=', 2)).Where(kv => kv.Length == 2 && kv[0].Trim() == key)
            .Select(kv => kv[1].Trim()).FirstOrDefault();
        var set = new Dictionary<string, string>();
        if (Value("setting") == "recurrent")
        {
            // 12 units: enough for every shipped choice of bias units (Miconi's are 1 10 11).
            set["units"] = "12";
            // Enough learning trials for the per-condition reward baselines to make the rule's ΔW non-zero.
            set["horizon"] = "10";
            set["learn_after"] = "0";
        }
        else
        {
            var layers = (Value("layers") ?? "784 170 130 100 70 5").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            set["layers"] = string.Join(" ", layers.Select((n, i) => i == 0 || i == layers.Length - 1 ? n : "6"));
            set["data"] = (Value("data") ?? "fashion-mnist").StartsWith("mnist") ? "mnist:subset" : "fashion-mnist:subset";
            set["train"] = "2";
            set["query"] = "2";
        }
        var kept = lines.Where(l => !set.ContainsKey(l.Split('#')[0].Split('=')[0].Trim())).ToList();
        int end = kept.FindLastIndex(l => l.Trim() != "") + 1;
        kept.InsertRange(end, set.Select(kv => $"  {kv.Key} = {kv.Value}"));
        return string.Join("\n", kept) + "\n";
    }
}
