namespace RuleDsl.Runtime.Data;

/// <summary>Making the small balanced subsets shipped in data/ (scripts/make-subsets.sh drives this).</summary>
public static class Subsets
{
    /// <summary>
    /// The indices of the first <paramref name="perClass"/> images of each class, in the data set's order,
    /// returned ascending (so the subset keeps the source's interleaving of classes).
    /// </summary>
    public static int[] FirstPerClass(Dataset data, int perClass)
    {
        var result = new List<int>();
        for (int c = 0; c < data.ClassCount; c++)
        {
            var members = data.IndicesOfClass(c);
            if (members.Count < perClass)
                throw new DataException($"{data.Name}: class {c} (\"{data.ClassNames[c]}\") has {members.Count} images, fewer than {perClass}");
            result.AddRange(members.Take(perClass));
        }
        result.Sort();
        return result.ToArray();
    }

    /// <summary>Writes the selected images and labels as STEM-images-idx3-ubyte.gz and STEM-labels-idx1-ubyte.gz in <paramref name="dir"/>.</summary>
    public static (string Images, string Labels) WriteIdx(Dataset data, IReadOnlyList<int> indices, string dir, string stem)
    {
        var images = indices.Select(i => data.Images[i].Select(IdxWriter.ToByte).ToArray()).ToArray();
        var labels = indices.Select(i => checked((byte)data.Labels[i])).ToArray();
        var imagesPath = Path.Combine(dir, $"{stem}-images-idx3-ubyte.gz");
        var labelsPath = Path.Combine(dir, $"{stem}-labels-idx1-ubyte.gz");
        IdxWriter.WriteImages(imagesPath, data.Rows, data.Cols, images);
        IdxWriter.WriteLabels(labelsPath, labels);
        return (imagesPath, labelsPath);
    }
}
