namespace RuleDsl.Runtime.Experiments;

/// <summary>A setting of the experiment that the runtime cannot use (data that cannot be read, a task that
/// does not exist). The message is rendered: file:line:col, the line, a caret, a hint.</summary>
public sealed class ExperimentInputException(string rendered) : ArgumentException(rendered);
