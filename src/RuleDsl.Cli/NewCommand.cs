using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Cli;

/// `ruledsl new rule|experiment NAME [--setting S]`: write the library's commented template
/// (Templates) to NAME.rule or NAME.experiment; NAME may carry a folder (`rules/mine`). Never overwrites.
static class NewCommand
{
    public static int Run(string kind, string path, string setting)
    {
        var name = Path.GetFileName(path);
        if (!Templates.IsValidName(name))
        {
            Console.Error.WriteLine($"ruledsl: error: '{name}' is not a name a {kind} may have: a letter or _, then letters, digits and _ (e.g. my_rule)");
            return ExitCodes.InputError;
        }
        if (Choice.tryParse<Setting>(setting) is not { } s)
        {
            Console.Error.WriteLine($"ruledsl: error: --setting {setting}: give feedforward or recurrent");
            return ExitCodes.InputError;
        }
        var file = path + (kind == "rule" ? ".rule" : ".experiment");
        var text = kind == "rule" ? Templates.Rule(name, s.Value) : Templates.Experiment(name, s.Value);
        var folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        if (!Directory.Exists(folder))
        {
            Console.Error.WriteLine($"ruledsl: error: cannot write {file}: no folder {folder}");
            return ExitCodes.InputError;
        }
        try
        {
            // CreateNew: refuse, atomically, to overwrite a file that is there.
            using var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write);
            using var writer = new StreamWriter(stream);
            writer.Write(text);
        }
        catch (IOException) when (File.Exists(file))
        {
            Console.Error.WriteLine($"ruledsl: error: {file} exists; not overwritten (remove it, or choose another name)");
            return ExitCodes.InputError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ruledsl: error: cannot write {file}: {e.Message}");
            return ExitCodes.InputError;
        }
        Console.WriteLine($"wrote {file}");
        Console.WriteLine(kind == "rule" ? $"check it: ruledsl check {file}" : $"check it: ruledsl run {file} --check; run it: ruledsl run {file}");
        return ExitCodes.Ok;
    }
}
