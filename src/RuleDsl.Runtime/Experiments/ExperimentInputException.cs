using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Experiments;

/// <summary>A setting of the experiment that the runtime cannot use (data that cannot be read, a task that
/// does not exist). The message is rendered: file:line:col, the line, a caret, a hint; <see cref="Diagnostic"/>
/// is the same located error as data (for `check --format gcc|json`).</summary>
public sealed class ExperimentInputException(Diagnostic diagnostic, string rendered) : ArgumentException(rendered)
{
    public Diagnostic Diagnostic { get; } = diagnostic;
}
