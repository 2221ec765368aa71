namespace RuleDsl.Runtime.Data;

/// <summary>Bad or missing data: the message names the file and what was expected, for the user to act on.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A labelled image data set held in memory: one flat row of Rows×Cols doubles in [0, 1] per image
/// (row-major, 784 for 28×28), integer labels 0..ClassCount−1 and one name per class.
/// </summary>
public sealed class Dataset
{
    /// <summary>Short name, e.g. "fashion-mnist".</summary>
    public string Name { get; }
    /// <summary>Where the data came from, for the user and for run.json, e.g. "Fashion-MNIST test set, Debian package dataset-fashion-mnist, /usr/share/…".</summary>
    public string Source { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int PixelCount => Rows * Cols;
    /// <summary>Images[i] is image i as a row-major row of PixelCount values in [0, 1]. Treat as read-only.</summary>
    public IReadOnlyList<double[]> Images { get; }
    public IReadOnlyList<int> Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => Images.Count;
    public int ClassCount => ClassNames.Count;

    private readonly double[][] images;
    private readonly int[][] byClass;

    public Dataset(string name, string source, int rows, int cols, double[][] images, int[] labels, IReadOnlyList<string> classNames)
    {
        if (images.Length != labels.Length)
            throw new DataException($"{name}: {images.Length} images but {labels.Length} labels ({source})");
        if (classNames.Count == 0)
            throw new DataException($"{name}: no class names ({source})");
        for (int i = 0; i < images.Length; i++)
        {
            if (images[i].Length != rows * cols)
                throw new DataException($"{name}: image {i} has {images[i].Length} pixels, expected {rows}×{cols} = {rows * cols} ({source})");
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new DataException($"{name}: image {i} has label {labels[i]}, expected 0..{classNames.Count - 1} ({source})");
        }
        Name = name;
        Source = source;
        Rows = rows;
        Cols = cols;
        this.images = images;
        Images = images;
        Labels = labels;
        ClassNames = classNames.ToArray();
        var lists = new List<int>[classNames.Count];
        for (int c = 0; c < lists.Length; c++) lists[c] = [];
        for (int i = 0; i < labels.Length; i++) lists[labels[i]].Add(i);
        byClass = lists.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>Indices of the images of class <paramref name="label"/>, ascending.</summary>
    public IReadOnlyList<int> IndicesOfClass(int label) => byClass[label];

    /// <summary>Number of images per class.</summary>
    public int[] ClassCounts() => byClass.Select(b => b.Length).ToArray();

    /// <summary>The images with the given indices, in that order, as a new data set (rows shared, not copied).</summary>
    public Dataset Select(IReadOnlyList<int> indices, string name, string source)
    {
        var imgs = new double[indices.Count][];
        var labs = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            imgs[i] = images[indices[i]];
            labs[i] = Labels[indices[i]];
        }
        return new Dataset(name, source, Rows, Cols, imgs, labs, ClassNames);
    }

    public override string ToString() =>
        $"{Name}: {Count} images of {Rows}×{Cols}, {ClassCount} classes ({Source})";

    /// <summary>Fashion-MNIST's class names, by label.</summary>
    public static readonly string[] FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>MNIST's class names ("0".."9").</summary>
    public static readonly string[] DigitClasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
}
