using System.Diagnostics;
using System.Globalization;

namespace RuleDsl.Bench;

/// <summary>
/// Runs a Python peer of bench/peers/ in a process of its own (one thread: OMP/MKL/OpenBLAS capped at 1;
/// the scripts also call torch.set_num_threads(1)). The Debian packages python3-numpy and python3-torch
/// (scripts/install-bench-deps.sh) install into /usr/bin/python3; a python3 earlier on PATH may lack them,
/// so /usr/bin/python3 is tried first, or RULEDSL_PYTHON when set.
/// </summary>
public static class PythonPeer
{
    /// <summary>bench/peers/ above the running program (the bench and the tests run inside the repository).</summary>
    public static string? PeersDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "bench", "peers");
            if (File.Exists(Path.Combine(p, "rnn_streams.py"))) return p;
        }
        return null;
    }

    /// <summary>A python3 that imports <paramref name="modules"/> (e.g. "numpy", "torch") and its version
    /// line, or null with the reason.</summary>
    public static string? Find(string modules, out string versions, out string why)
    {
        versions = ""; why = "";
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("RULEDSL_PYTHON") is { Length: > 0 } env) candidates.Add(env);
        candidates.AddRange(["/usr/bin/python3", "python3"]);
        var names = modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var probe = $"import {string.Join(", ", names)}; print(' '.join(m.__name__ + ' ' + m.__version__ for m in [{string.Join(", ", names)}]))";
        foreach (var python in candidates)
        {
            var r = Exec(python, ["-c", probe]);
            if (r is { Code: 0 }) { versions = r.Value.Out.Trim(); return python; }
        }
        why = $"no python3 with {modules} (tried {string.Join(", ", candidates)}; ./scripts/install-bench-deps.sh installs the Debian packages)";
        return null;
    }

    /// <summary>Runs bench/peers/<paramref name="script"/> DUMP RESULT; the peer's result, or null with the reason.</summary>
    public static PeerResult? Run(string python, string script, string dump, string resultPath, out string why)
    {
        why = "";
        if (PeersDir() is not { } dir) { why = "bench/peers/ not found"; return null; }
        File.Delete(resultPath);
        var r = Exec(python, [Path.Combine(dir, script), dump, resultPath]);
        if (r is null) { why = $"cannot start {python}"; return null; }
        if (r.Value.Code != 0 || !File.Exists(resultPath))
        {
            why = $"{script} exited with code {r.Value.Code.ToString(CultureInfo.InvariantCulture)}: {r.Value.Err.Trim()}";
            return null;
        }
        return PeerResult.Read(resultPath);
    }

    public static (int Code, string Out, string Err)? Exec(string file, string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var v in new[] { "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS" }) psi.Environment[v] = "1";
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, err.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
