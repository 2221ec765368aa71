using System.IO.Compression;
using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Data;

/// <summary>A temporary folder deleted after the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ruledsl-test-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public class IdxTests
{
    /// <summary>Writes an IDX file by hand (big-endian header), independent of IdxWriter.</summary>
    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var ms = new MemoryStream();
        void Int(int v) { ms.WriteByte((byte)(v >> 24)); ms.WriteByte((byte)(v >> 16)); ms.WriteByte((byte)(v >> 8)); ms.WriteByte((byte)v); }
        Int(magic);
        foreach (var d in dims) Int(d);
        ms.Write(data);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    // Three 2×3 images with distinct pixels, labels 2, 0, 1.
    private static readonly byte[] Pixels = Enumerable.Range(0, 18).Select(i => (byte)(i * 15)).ToArray();
    private static readonly byte[] LabelBytes = [2, 0, 1];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_plain_and_gzip_files(bool gzip)
    {
        using var dir = new TempDir();
        var imgs = Idx(0x803, [3, 2, 3], Pixels);
        var labs = Idx(0x801, [3], LabelBytes);
        File.WriteAllBytes(dir.File("i"), gzip ? Gzip(imgs) : imgs);
        File.WriteAllBytes(dir.File("l"), gzip ? Gzip(labs) : labs);
        var ds = IdxReader.ReadDataset(dir.File("i"), dir.File("l"), "tiny", "test", ["a", "b", "c"]);
        Assert.Equal(3, ds.Count);
        Assert.Equal((2, 3), (ds.Rows, ds.Cols));
        Assert.Equal([2, 0, 1], ds.Labels);
        Assert.Equal(Pixels[6..12].Select(b => b / 255.0), ds.Images[1]);
        Assert.Equal(255 / 255.0, ds.Images[2][5]);
        Assert.Equal([1], ds.IndicesOfClass(0));
    }

    [Fact]
    public void Transposed_read_turns_column_major_images_upright()
    {
        using var dir = new TempDir();
        // One image stored as a 2×3 raster S = [[0,1,2],[3,4,5]]; read transposed it is the 3×2 image Sᵀ.
        File.WriteAllBytes(dir.File("i"), Idx(0x803, [1, 2, 3], [0, 1, 2, 3, 4, 5]));
        File.WriteAllBytes(dir.File("l"), Idx(0x801, [1], [0]));
        var ds = IdxReader.ReadDataset(dir.File("i"), dir.File("l"), "t", "t", null, transpose: true);
        Assert.Equal((3, 2), (ds.Rows, ds.Cols));
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }.Select(v => v / 255.0), ds.Images[0]);
    }

    [Fact]
    public void Writer_round_trips()
    {
        using var dir = new TempDir();
        var images = new[] { Pixels[..6], Pixels[6..12], Pixels[12..] };
        IdxWriter.WriteImages(dir.File("x-images-idx3-ubyte.gz"), 2, 3, images);
        IdxWriter.WriteLabels(dir.File("x-labels-idx1-ubyte.gz"), LabelBytes);
        var back = IdxReader.ReadImages(dir.File("x-images-idx3-ubyte.gz"));
        Assert.Equal(Pixels, back.Pixels);
        Assert.Equal(LabelBytes, IdxReader.ReadLabels(dir.File("x-labels-idx1-ubyte.gz")));
        // The gz file really is compressed (gzip signature).
        Assert.Equal(0x1F, File.ReadAllBytes(dir.File("x-images-idx3-ubyte.gz"))[0]);
    }

    [Fact]
    public void Truncated_images_file_names_file_and_sizes()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("cut"), Idx(0x803, [3, 2, 3], Pixels[..17]));
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(dir.File("cut")));
        Assert.Contains("cut", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("18", e.Message);
        Assert.Contains("holds 17", e.Message);
    }

    [Fact]
    public void Truncated_header_and_truncated_gzip_are_reported()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("hdr"), Idx(0x803, [3, 2], []));
        Assert.Contains("truncated IDX images header", Assert.Throws<DataException>(() => IdxReader.ReadImages(dir.File("hdr"))).Message);
        var gz = Gzip(Idx(0x803, [3, 2, 3], Pixels));
        File.WriteAllBytes(dir.File("gz"), gz[..(gz.Length / 2)]);
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(dir.File("gz")));
        Assert.Contains(dir.File("gz"), e.Message);
    }

    [Fact]
    public void Wrong_magic_says_what_the_file_is()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("labels"), Idx(0x801, [3], LabelBytes));
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(dir.File("labels")));
        Assert.Contains("expected an IDX images file", e.Message);
        Assert.Contains("that is an IDX labels file", e.Message);
        File.WriteAllBytes(dir.File("text"), "hello world"u8.ToArray());
        Assert.Contains("not an IDX file", Assert.Throws<DataException>(() => IdxReader.ReadLabels(dir.File("text"))).Message);
    }

    [Fact]
    public void Trailing_bytes_and_mismatched_counts_are_errors()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("long"), Idx(0x801, [2], LabelBytes));
        Assert.Contains("1 bytes after", Assert.Throws<DataException>(() => IdxReader.ReadLabels(dir.File("long"))).Message);
        File.WriteAllBytes(dir.File("i"), Idx(0x803, [3, 2, 3], Pixels));
        File.WriteAllBytes(dir.File("l"), Idx(0x801, [2], LabelBytes[..2]));
        Assert.Contains("do not belong together", Assert.Throws<DataException>(() => IdxReader.ReadDataset(dir.File("i"), dir.File("l"), "x", "x")).Message);
        File.WriteAllBytes(dir.File("l3"), Idx(0x801, [3], [0, 1, 7]));
        Assert.Contains("label 7", Assert.Throws<DataException>(() => IdxReader.ReadDataset(dir.File("i"), dir.File("l3"), "x", "x", ["a", "b"])).Message);
        Assert.Contains("cannot read", Assert.Throws<DataException>(() => IdxReader.ReadLabels(dir.File("missing"))).Message);
    }
}
