namespace RuleDsl.Runtime.Tests.Reference;

/// <summary>A fact that only runs when RULEDSL_LONG=1 (long experiments stay out of the default suite).</summary>
public sealed class LongFactAttribute : FactAttribute
{
    public LongFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("RULEDSL_LONG") != "1")
            Skip = "long experiment; run with RULEDSL_LONG=1";
    }
}
