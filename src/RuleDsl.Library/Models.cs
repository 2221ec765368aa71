using Microsoft.FSharp.Collections;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl;

/// <summary>One equation of a model (the forward pass, the feedback pass, the dynamics) and the tangent
/// equation the engine propagates through it, as expressions and as text and LaTeX.</summary>
public sealed record ModelEquation(string Name, Expr Expr, Expr Tangent, string Text, string TangentText, string Latex, string TangentLatex);

/// <summary>Models (networks as text, `.model` files): read from a file or a string, derive, check.</summary>
public static class Models
{
    static Outcome<LoadedModel> Read(FileSystem fs, string path)
    {
        var loaded = ExperimentInput.ReadModel(fs, Loader.normalize(path), MapModule.Empty<string, double>());
        return loaded.IsError ? Outcome<LoadedModel>.Of(null, loaded.ErrorValue)
            : Outcome<LoadedModel>.Of(loaded.ResultValue.Item1, loaded.ResultValue.Item2);
    }

    /// <summary>Parses and checks model text held in memory; <paramref name="path"/> names it in messages.</summary>
    public static Outcome<LoadedModel> Parse(string text, string path = "inline.model") => Read(Files.With(path, text), path);

    /// <summary>Reads and checks a model file; `std/mlp.model`, `std/rnn.model` … are the shipped ones.</summary>
    public static Outcome<LoadedModel> Load(string path) => Read(FileSystemModule.disk, path);

    /// <summary>Each equation of the model with its forward differential (`ruledsl derive FILE.model`).</summary>
    public static IReadOnlyList<ModelEquation> Derive(LoadedModel model) =>
        ModelFile.Equations(model).Select(eq =>
        {
            var (name, e) = (eq.Item1, eq.Item2);
            var d = Simplify.simplify(Differentiate.differential(ExprModule.symbols(e), e));
            return new ModelEquation(name, e, d, Print.Text(e), Print.Text(d), Print.Latex(e), Print.Latex(d));
        }).ToList();

    /// <summary>Every tangent the model yields checked against central differences (`ruledsl check FILE.model`).</summary>
    public static CheckTable Check(LoadedModel model, string path = "inline.model") => new(ModelFile.Verify(path, model).ToList(), Verify.tolerance);
}
