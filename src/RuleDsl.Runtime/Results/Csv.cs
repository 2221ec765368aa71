using System.Collections;
using System.Globalization;
using System.Text;

namespace RuleDsl.Runtime.Results;

/// <summary>A results file that cannot be read or written as asked; the message names the file.</summary>
public sealed class ResultsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One CSV row as ordered (column, value) pairs. Numbers are written in invariant round-trip form
/// ("0.001", "1E-05", "NaN"), so a value read back is the value written.
/// </summary>
public sealed class CsvRow : IEnumerable<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> cells = [];

    public CsvRow Add(string column, double value) => AddText(column, Format(value));
    public CsvRow Add(string column, long value) => AddText(column, value.ToString(CultureInfo.InvariantCulture));
    public CsvRow Add(string column, int value) => AddText(column, value.ToString(CultureInfo.InvariantCulture));
    public CsvRow Add(string column, bool value) => AddText(column, value ? "true" : "false");
    public CsvRow Add(string column, string value) => AddText(column, value);

    /// <summary>Adds one column per value: prefix[0], prefix[1], … (e.g. theta[0]…theta[9]).</summary>
    public CsvRow AddRange(string prefix, IReadOnlyList<double> values)
    {
        for (int i = 0; i < values.Count; i++) Add($"{prefix}[{i}]", values[i]);
        return this;
    }

    private CsvRow AddText(string column, string text)
    {
        if (string.IsNullOrEmpty(column)) throw new ArgumentException("CSV column name is empty");
        foreach (var c in cells)
            if (c.Key == column) throw new ArgumentException($"CSV column '{column}' added twice to one row");
        cells.Add(new(column, text));
        return this;
    }

    public int Count => cells.Count;
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => cells.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// A CSV file read back: the header and the complete rows. A crash while a row was being appended leaves a last
/// line without its line break; that torn line is not a row: <see cref="TornLine"/> holds it, and
/// <see cref="Read"/> with <c>repair</c> cuts it off the file so appending can continue cleanly.
/// </summary>
public sealed class CsvTable
{
    public string Path { get; }
    /// <summary>Column names; empty when the file has no complete header line.</summary>
    public IReadOnlyList<string> Header { get; }
    public IReadOnlyList<string[]> Rows { get; }
    /// <summary>The text of a torn last line that was dropped, or null.</summary>
    public string? TornLine { get; }
    /// <summary>Length in bytes of the complete part of the file (header and complete rows).</summary>
    public long CompleteLength { get; }

    private readonly Dictionary<string, int> index;

    private CsvTable(string path, IReadOnlyList<string> header, IReadOnlyList<string[]> rows, string? torn, long completeLength)
    {
        Path = path;
        Header = header;
        Rows = rows;
        TornLine = torn;
        CompleteLength = completeLength;
        index = new Dictionary<string, int>();
        for (int i = 0; i < header.Count; i++)
            if (!index.TryAdd(header[i], i))
                throw new ResultsException($"{path}:1: column '{header[i]}' appears twice in the header");
    }

    public bool HasColumn(string column) => index.ContainsKey(column);

    public int ColumnIndex(string column) =>
        index.TryGetValue(column, out var i) ? i : throw new ResultsException($"{Path}: no column '{column}' (columns: {string.Join(", ", Header)})");

    /// <summary>A column as doubles (invariant culture; "NaN" and "Infinity" accepted).</summary>
    public double[] Doubles(string column)
    {
        int c = ColumnIndex(column);
        var result = new double[Rows.Count];
        for (int r = 0; r < Rows.Count; r++)
            if (!double.TryParse(Rows[r][c], NumberStyles.Float, CultureInfo.InvariantCulture, out result[r]))
                throw new ResultsException($"{Path}:{r + 2}: column '{column}' holds '{Rows[r][c]}', expected a number");
        return result;
    }

    /// <summary>A column as 64-bit integers.</summary>
    public long[] Longs(string column)
    {
        int c = ColumnIndex(column);
        var result = new long[Rows.Count];
        for (int r = 0; r < Rows.Count; r++)
            if (!long.TryParse(Rows[r][c], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[r]))
                throw new ResultsException($"{Path}:{r + 2}: column '{column}' holds '{Rows[r][c]}', expected an integer");
        return result;
    }

    /// <summary>
    /// Reads a CSV file. Every complete line must have as many fields as the header (else it is corrupt, an error
    /// naming file:line). With <paramref name="repair"/>, a torn last line is also removed from the file.
    /// A missing file reads as empty.
    /// </summary>
    public static CsvTable Read(string path, bool repair = false)
    {
        if (!File.Exists(path)) return new CsvTable(path, [], [], null, 0);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new ResultsException($"{path}: cannot read: {e.Message}", e);
        }
        var records = Parse(bytes, path, out long completeLength, out string? torn);
        var header = records.Count > 0 ? records[0] : [];
        var rows = records.Skip(1).ToList();
        for (int r = 0; r < rows.Count; r++)
            if (rows[r].Length != header.Length)
                throw new ResultsException($"{path}:{r + 2}: {rows[r].Length} fields, the header has {header.Length}; the file is corrupt (only a torn last line is repaired)");
        if (repair && torn is not null)
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
            f.SetLength(completeLength);
        }
        return new CsvTable(path, header, rows, torn, completeLength);
    }

    /// <summary>
    /// RFC 4180 records (quoted fields may hold commas, quotes and line breaks). Only records ended by a line break
    /// are complete; trailing text without one is returned as <paramref name="torn"/>.
    /// </summary>
    private static List<string[]> Parse(byte[] bytes, string path, out long completeLength, out string? torn)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int recordStart = 0, line = 1;
        bool inQuotes = false, fieldQuoted = false;
        completeLength = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else inQuotes = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    field.Append(ch);
                }
                continue;
            }
            switch (ch)
            {
                case '"':
                    if (field.Length > 0 || fieldQuoted)
                        throw new ResultsException($"{path}:{line}: stray quote inside an unquoted field");
                    inQuotes = true;
                    fieldQuoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldQuoted = false;
                    break;
                case '\r':
                    break; // accept CRLF files
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldQuoted = false;
                    records.Add(fields.ToArray());
                    fields.Clear();
                    line++;
                    recordStart = i + 1;
                    break;
                default:
                    if (fieldQuoted) throw new ResultsException($"{path}:{line}: text after a closing quote");
                    field.Append(ch);
                    break;
            }
        }
        completeLength = Encoding.UTF8.GetByteCount(text.AsSpan(0, recordStart));
        torn = recordStart < text.Length ? text[recordStart..] : null;
        return records;
    }
}

/// <summary>
/// Appends rows to a CSV file, one flushed write per row, so a crash loses at most the row being written (and
/// leaves it detectably torn). The header is fixed by the first row written (or by the existing file when
/// appending); every later row must have exactly the same columns, in any order.
/// </summary>
public sealed class CsvAppender : IDisposable
{
    private readonly FileStream stream;
    private string[]? header;
    private Dictionary<string, int>? positions;

    public string Path { get; }
    public IReadOnlyList<string>? Header => header;
    public long RowsWritten { get; private set; }

    /// <summary>Opens <paramref name="path"/> for appending. <paramref name="existingHeader"/> is the header already in the file (empty for a new or empty file).</summary>
    public CsvAppender(string path, IReadOnlyList<string> existingHeader)
    {
        Path = path;
        try
        {
            stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ResultsException($"{path}: cannot open for appending: {e.Message}", e);
        }
        if (existingHeader.Count > 0) SetHeader(existingHeader.ToArray());
    }

    private void SetHeader(string[] columns)
    {
        header = columns;
        positions = new Dictionary<string, int>();
        for (int i = 0; i < columns.Length; i++) positions[columns[i]] = i;
    }

    public void Append(CsvRow row)
    {
        var sb = new StringBuilder();
        if (header is null)
        {
            if (row.Count == 0) throw new ResultsException($"{Path}: the first row has no columns");
            SetHeader(row.Select(c => c.Key).ToArray());
            AppendLine(sb, header!);
        }
        var values = new string[header!.Length];
        var seen = 0;
        foreach (var (column, text) in row)
        {
            if (!positions!.TryGetValue(column, out var p))
                throw new ResultsException($"{Path}: row has column '{column}', which is not in the header ({string.Join(", ", header)}); the header is fixed by the first row");
            values[p] = text;
            seen++;
        }
        if (seen != header.Length)
        {
            var missing = header.Where(h => !row.Any(c => c.Key == h));
            throw new ResultsException($"{Path}: row lacks column(s) {string.Join(", ", missing)} of the header");
        }
        AppendLine(sb, values);
        // One write, then flush to the operating system: a crash can tear only this line.
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        stream.Write(bytes);
        stream.Flush();
        RowsWritten++;
    }

    private static void AppendLine(StringBuilder sb, IReadOnlyList<string> values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(Quote(values[i]));
        }
        sb.Append('\n');
    }

    /// <summary>A field as written to CSV: quoted (with doubled quotes) when it holds a comma, quote or line break.</summary>
    public static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    public void Dispose() => stream.Dispose();
}
