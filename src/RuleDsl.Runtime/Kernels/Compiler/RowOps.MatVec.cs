using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Matrix–vector products of <see cref="RowOps{T}"/>: each row summed in <see cref="RowOps{T}.Dot"/>'s order.</summary>
public static partial class RowOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>y = M x for a row-major rows × cols matrix M.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatVec(T[] m, int rows, int cols, T[] x, T[] y)
    {
        Check(m, 0, rows * cols);
        Check(x, 0, cols);
        Check(y, 0, rows);
        // A copy laid out for this product, where the caller made one for this matrix (the same sums).
        if (PackedMatricesOfThread.Current is PackedMatrices<T> packed && packed.TryMatVec(m, rows, cols, x, y)) return;
        int i = 0;
        // Four rows at a time share each load of x; each row is summed in Dot's order (bit-identical).
        if (Vector.IsHardwareAccelerated && cols >= 2 * Vector<T>.Count)
            for (; i <= rows - 4; i += 4) Rows4(m, i, cols, x, y);
        else if (cols < 2 * Vector<T>.Count)
        {
            // Narrow (W_in @ u, a few inputs): Dot's scalar sum inline, four rows at a time (four independent
            // add chains: one row's chain is bound by the add's latency), not a call per row.
            ref T q = ref MemoryMarshal.GetArrayDataReference(x);
            for (; i <= rows - 4; i += 4)
            {
                ref T r0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
                ref T r1 = ref Unsafe.Add(ref r0, cols);
                ref T r2 = ref Unsafe.Add(ref r1, cols);
                ref T r3 = ref Unsafe.Add(ref r2, cols);
                ScalarTail4(ref r0, ref r1, ref r2, ref r3, ref q, 0, cols, T.Zero, T.Zero, T.Zero, T.Zero, y, i);
            }
        }
        for (; i < rows; i++) y[i] = Dot(m, i * cols, x, 0, cols);
    }

    /// <summary>
    /// y_k[i..i+4) = rows i..i+4 of M · x_k for k &lt; count (1..4): a 4 × 4 tile of the product M X (X's
    /// columns the x_k, the D state tangents of a step), each load of a row chunk of M used by four x and
    /// each load of x by four rows. Every element is summed exactly as <see cref="Dot"/> sums it
    /// (Rows4Wide's lanes), so the block equals four MatVec calls bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatVecs4(T[] m, int i, int cols, T[] x0, T[] x1, T[] x2, T[] x3, int count, T[] y0, T[] y1, T[] y2, T[] y3)
    {
        // Fewer than four: the last one again (computed twice, stored once), so the loop has one shape.
        if (count < 2) { x1 = x0; y1 = y0; }
        if (count < 3) { x2 = x1; y2 = y1; }
        if (count < 4) { x3 = x2; y3 = y2; }
        Check(m, i * cols, 4 * cols);
        Check(x0, 0, cols); Check(x1, 0, cols); Check(x2, 0, cols); Check(x3, 0, cols);
        Check(y0, i, 4); Check(y1, i, 4); Check(y2, i, 4); Check(y3, i, 4);
        // One x, or no 512-bit vectors (then the 16 pairs of accumulators do not fit the registers): Rows4 each.
        if (count == 1 || !(Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count))
        {
            Quad(m, i, cols, x0, y0);
            if (count > 1) Quad(m, i, cols, x1, y1);
            if (count > 2) Quad(m, i, cols, x2, y2);
            if (count > 3) Quad(m, i, cols, x3, y3);
            return;
        }
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
        ref T p1 = ref Unsafe.Add(ref p0, cols);
        ref T p2 = ref Unsafe.Add(ref p1, cols);
        ref T p3 = ref Unsafe.Add(ref p2, cols);
        ref T q0 = ref MemoryMarshal.GetArrayDataReference(x0);
        ref T q1 = ref MemoryMarshal.GetArrayDataReference(x1);
        ref T q2 = ref MemoryMarshal.GetArrayDataReference(x2);
        ref T q3 = ref MemoryMarshal.GetArrayDataReference(x3);
        // s{row}{x}: 16 accumulators + 4 rows + 4 x = 24 of the 32 512-bit registers.
        var s00 = Vector512<T>.Zero; var s01 = Vector512<T>.Zero; var s02 = Vector512<T>.Zero; var s03 = Vector512<T>.Zero;
        var s10 = Vector512<T>.Zero; var s11 = Vector512<T>.Zero; var s12 = Vector512<T>.Zero; var s13 = Vector512<T>.Zero;
        var s20 = Vector512<T>.Zero; var s21 = Vector512<T>.Zero; var s22 = Vector512<T>.Zero; var s23 = Vector512<T>.Zero;
        var s30 = Vector512<T>.Zero; var s31 = Vector512<T>.Zero; var s32 = Vector512<T>.Zero; var s33 = Vector512<T>.Zero;
        int w2 = Vector512<T>.Count, j = 0;
        for (; j <= cols - w2; j += w2)
        {
            nuint u = (nuint)j;
            var a0 = Vector512.LoadUnsafe(ref q0, u); var a1 = Vector512.LoadUnsafe(ref q1, u);
            var a2 = Vector512.LoadUnsafe(ref q2, u); var a3 = Vector512.LoadUnsafe(ref q3, u);
            var r = Vector512.LoadUnsafe(ref p0, u);
            s00 += r * a0; s01 += r * a1; s02 += r * a2; s03 += r * a3;
            r = Vector512.LoadUnsafe(ref p1, u);
            s10 += r * a0; s11 += r * a1; s12 += r * a2; s13 += r * a3;
            r = Vector512.LoadUnsafe(ref p2, u);
            s20 += r * a0; s21 += r * a1; s22 += r * a2; s23 += r * a3;
            r = Vector512.LoadUnsafe(ref p3, u);
            s30 += r * a0; s31 += r * a1; s32 += r * a2; s33 += r * a3;
        }
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q0, j, cols, Half(s00), Half(s10), Half(s20), Half(s30), y0, i);
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q1, j, cols, Half(s01), Half(s11), Half(s21), Half(s31), y1, i);
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q2, j, cols, Half(s02), Half(s12), Half(s22), Half(s32), y2, i);
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q3, j, cols, Half(s03), Half(s13), Half(s23), Half(s33), y3, i);
    }

    /// <summary>
    /// One pass over rows i..i+4 of M for the products a fused mat-vec pass makes of them (Phase A's pass over W
    /// for the pool's d = 6, 8, 9 terms: W e_pre, Wᵀ e_post, Wᵀ y_post): dy[i..i+4) = the rows · dx (skipped when
    /// dx is null), and for each y_k given, y_k += Σ_q x_k[i + q] · row q. Each load of a row chunk serves all of
    /// them. Every element gets the arithmetic and order of the separate calls (the dot as <see cref="Dots"/> and
    /// Dot sum it, each y_k as <see cref="Axpy4"/>: the four rows in turn), so the outputs are bit-identical to
    /// Dots then one Axpy4 per y_k. Off (<see cref="FusedPasses"/>) or without 512-bit vectors: those calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotAxpys4(T[] m, int i, int cols, T[]? dx, T[]? dy, T[]? y0, T[]? x0, T[]? y1, T[]? x1, T[]? y2, T[]? x2, T[]? y3, T[]? x3)
    {
        int o = i * cols;
        if (dx is null && y0 is null && y1 is null && y2 is null && y3 is null) return;
        if (!FusedPasses || !(Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count) || cols < Vector512<T>.Count)
        {
            if (dx is not null) DotsOfFour(m, i, cols, dx, dy!);
            if (y0 is not null) Axpy4Rows(y0, x0!, m, i, cols);
            if (y1 is not null) Axpy4Rows(y1, x1!, m, i, cols);
            if (y2 is not null) Axpy4Rows(y2, x2!, m, i, cols);
            if (y3 is not null) Axpy4Rows(y3, x3!, m, i, cols);
            return;
        }
        Check(m, o, 4 * cols);
        bool dot = dx is not null, h0 = y0 is not null, h1 = y1 is not null, h2 = y2 is not null, h3 = y3 is not null;
        if (dot) { Check(dx!, 0, cols); Check(dy!, i, 4); }
        if (h0) { Check(y0!, 0, cols); Check(x0!, i, 4); }
        if (h1) { Check(y1!, 0, cols); Check(x1!, i, 4); }
        if (h2) { Check(y2!, 0, cols); Check(x2!, i, 4); }
        if (h3) { Check(y3!, 0, cols); Check(x3!, i, 4); }
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), o);
        ref T p1 = ref Unsafe.Add(ref p0, cols);
        ref T p2 = ref Unsafe.Add(ref p1, cols);
        ref T p3 = ref Unsafe.Add(ref p2, cols);
        // An absent operand points at row 0 (never read: its flag is off).
        ref T q = ref dot ? ref MemoryMarshal.GetArrayDataReference(dx!) : ref p0;
        ref T d0 = ref h0 ? ref MemoryMarshal.GetArrayDataReference(y0!) : ref p0;
        ref T d1 = ref h1 ? ref MemoryMarshal.GetArrayDataReference(y1!) : ref p0;
        ref T d2 = ref h2 ? ref MemoryMarshal.GetArrayDataReference(y2!) : ref p0;
        ref T d3 = ref h3 ? ref MemoryMarshal.GetArrayDataReference(y3!) : ref p0;
        T c00 = h0 ? x0![i] : T.Zero, c01 = h0 ? x0![i + 1] : T.Zero, c02 = h0 ? x0![i + 2] : T.Zero, c03 = h0 ? x0![i + 3] : T.Zero;
        T c10 = h1 ? x1![i] : T.Zero, c11 = h1 ? x1![i + 1] : T.Zero, c12 = h1 ? x1![i + 2] : T.Zero, c13 = h1 ? x1![i + 3] : T.Zero;
        T c20 = h2 ? x2![i] : T.Zero, c21 = h2 ? x2![i + 1] : T.Zero, c22 = h2 ? x2![i + 2] : T.Zero, c23 = h2 ? x2![i + 3] : T.Zero;
        T c30 = h3 ? x3![i] : T.Zero, c31 = h3 ? x3![i + 1] : T.Zero, c32 = h3 ? x3![i + 2] : T.Zero, c33 = h3 ? x3![i + 3] : T.Zero;
        var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero; var s2 = Vector512<T>.Zero; var s3 = Vector512<T>.Zero;
        Vector512<T> v00 = Vector512.Create(c00), v01 = Vector512.Create(c01), v02 = Vector512.Create(c02), v03 = Vector512.Create(c03);
        Vector512<T> v10 = Vector512.Create(c10), v11 = Vector512.Create(c11), v12 = Vector512.Create(c12), v13 = Vector512.Create(c13);
        Vector512<T> v20 = Vector512.Create(c20), v21 = Vector512.Create(c21), v22 = Vector512.Create(c22), v23 = Vector512.Create(c23);
        Vector512<T> v30 = Vector512.Create(c30), v31 = Vector512.Create(c31), v32 = Vector512.Create(c32), v33 = Vector512.Create(c33);
        int w2 = Vector512<T>.Count, j = 0;
        for (; j <= cols - w2; j += w2)
        {
            nuint u = (nuint)j;
            var r0 = Vector512.LoadUnsafe(ref p0, u); var r1 = Vector512.LoadUnsafe(ref p1, u);
            var r2 = Vector512.LoadUnsafe(ref p2, u); var r3 = Vector512.LoadUnsafe(ref p3, u);
            if (dot)
            {
                var xu = Vector512.LoadUnsafe(ref q, u);
                s0 += r0 * xu; s1 += r1 * xu; s2 += r2 * xu; s3 += r3 * xu;
            }
            // Axpy4's element arithmetic on 512-bit lanes: y + c0·r0, then + c1·r1, + c2·r2, + c3·r3.
            if (h0) { var y = Vector512.LoadUnsafe(ref d0, u) + v00 * r0; y += v01 * r1; y += v02 * r2; y += v03 * r3; y.StoreUnsafe(ref d0, u); }
            if (h1) { var y = Vector512.LoadUnsafe(ref d1, u) + v10 * r0; y += v11 * r1; y += v12 * r2; y += v13 * r3; y.StoreUnsafe(ref d1, u); }
            if (h2) { var y = Vector512.LoadUnsafe(ref d2, u) + v20 * r0; y += v21 * r1; y += v22 * r2; y += v23 * r3; y.StoreUnsafe(ref d2, u); }
            if (h3) { var y = Vector512.LoadUnsafe(ref d3, u) + v30 * r0; y += v31 * r1; y += v32 * r2; y += v33 * r3; y.StoreUnsafe(ref d3, u); }
        }
        if (dot) ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q, j, cols, Half(s0), Half(s1), Half(s2), Half(s3), dy!, i);
        for (; j < cols; j++)
        {
            T a0 = Unsafe.Add(ref p0, j), a1 = Unsafe.Add(ref p1, j), a2 = Unsafe.Add(ref p2, j), a3 = Unsafe.Add(ref p3, j);
            if (h0) { ref T y = ref Unsafe.Add(ref d0, j); T r = y + c00 * a0; r += c01 * a1; r += c02 * a2; r += c03 * a3; y = r; }
            if (h1) { ref T y = ref Unsafe.Add(ref d1, j); T r = y + c10 * a0; r += c11 * a1; r += c12 * a2; r += c13 * a3; y = r; }
            if (h2) { ref T y = ref Unsafe.Add(ref d2, j); T r = y + c20 * a0; r += c21 * a1; r += c22 * a2; r += c23 * a3; y = r; }
            if (h3) { ref T y = ref Unsafe.Add(ref d3, j); T r = y + c30 * a0; r += c31 * a1; r += c32 * a2; r += c33 * a3; y = r; }
        }
    }

    /// <summary><see cref="MatVecs4"/> for up to four products whose operands may be absent (a guard off: x_k null):
    /// the present ones, in order, as one call (each row summed as Dot sums it); none present, nothing is read.</summary>
    public static void MatVecs4OrFewer(T[] m, int i, int cols, T[]? x0, T[]? y0, T[]? x1, T[]? y1, T[]? x2, T[]? y2, T[]? x3, T[]? y3)
    {
        T[]? a0 = null, a1 = null, a2 = null, a3 = null, b0 = null, b1 = null, b2 = null, b3 = null;
        int count = 0;
        void Add(T[]? x, T[]? y)
        {
            if (x is null) return;
            switch (count++)
            {
                case 0: (a0, b0) = (x, y); break;
                case 1: (a1, b1) = (x, y); break;
                case 2: (a2, b2) = (x, y); break;
                default: (a3, b3) = (x, y); break;
            }
        }
        Add(x0, y0); Add(x1, y1); Add(x2, y2); Add(x3, y3);
        if (count == 0) return;
        if (!FusedPasses)
        {
            // As before: Dots over the four rows, one product at a time.
            DotsOfFour(m, i, cols, a0!, b0!);
            if (count > 1) DotsOfFour(m, i, cols, a1!, b1!);
            if (count > 2) DotsOfFour(m, i, cols, a2!, b2!);
            if (count > 3) DotsOfFour(m, i, cols, a3!, b3!);
            return;
        }
        MatVecs4(m, i, cols, a0!, a1 ?? a0!, a2 ?? a0!, a3 ?? a0!, count, b0!, b1 ?? b0!, b2 ?? b0!, b3 ?? b0!);
    }

    /// <summary>
    /// y_k += Mᵀ x_k for count outputs at once over all rows of M (yx[2k] = y_k, yx[2k + 1] = x_k): each element
    /// y_k[j] summed over the rows in their order, y + x_k[0]·M[0, j] + x_k[1]·M[1, j] + …, exactly as
    /// <see cref="Axpy4"/> over four rows at a time and <see cref="Axpy"/> for the last ones sum it, so the same
    /// bits. By blocks of columns, two outputs at a time: their 32 columns stay in registers down all the rows and
    /// the block of M stays in L1 for the next two, where four rows per call loaded and stored every output again
    /// for each four rows (Phase A's pass over W with every pool term active has 22 such products).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AxpysColumns(T[] m, int rows, int cols, T[][] yx, int count)
    {
        Check(m, 0, rows * cols);
        for (int k = 0; k < count; k++) { Check(yx[2 * k], 0, cols); Check(yx[2 * k + 1], 0, rows); }
        if (!FusedPasses || !Vector512.IsHardwareAccelerated)
        {
            // As the pass does it without: four rows per Axpy4, the rest one Axpy each.
            for (int k = 0; k < count; k++)
            {
                T[] y = yx[2 * k], x = yx[2 * k + 1];
                int i = 0;
                for (; i + 4 <= rows; i += 4) Axpy4Rows(y, x, m, i, cols);
                for (; i < rows; i++) Axpy(y, 0, x[i], m, i * cols, cols);
            }
            return;
        }
        for (int k = 0; k < count; k += 2)
        {
            if (k + 1 < count) ColumnsOf<Yes>(m, rows, cols, yx[2 * k], yx[2 * k + 1], yx[2 * k + 2], yx[2 * k + 3]);
            else ColumnsOf<No>(m, rows, cols, yx[2 * k], yx[2 * k + 1], yx[2 * k], yx[2 * k + 1]);
        }
    }

    /// <summary>One or two (TTwo) outputs of <see cref="AxpysColumns"/>: blocks of four 512-bit vectors of columns,
    /// then single vectors, then single columns, each accumulated down all the rows in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ColumnsOf<TTwo>(T[] m, int rows, int cols, T[] ya, T[] xa, T[] yb, T[] xb) where TTwo : struct, IFlag
    {
        ref T mm = ref MemoryMarshal.GetArrayDataReference(m);
        ref T pa = ref MemoryMarshal.GetArrayDataReference(ya);
        ref T pb = ref MemoryMarshal.GetArrayDataReference(yb);
        ref T ca = ref MemoryMarshal.GetArrayDataReference(xa);
        ref T cb = ref MemoryMarshal.GetArrayDataReference(xb);
        int w = Vector512<T>.Count, j = 0;
        for (; j + 4 * w <= cols; j += 4 * w)
        {
            nuint u = (nuint)j;
            var a0 = Vector512.LoadUnsafe(ref pa, u); var a1 = Vector512.LoadUnsafe(ref pa, u + (nuint)w);
            var a2 = Vector512.LoadUnsafe(ref pa, u + (nuint)(2 * w)); var a3 = Vector512.LoadUnsafe(ref pa, u + (nuint)(3 * w));
            Vector512<T> b0 = default, b1 = default, b2 = default, b3 = default;
            if (TTwo.On)
            {
                b0 = Vector512.LoadUnsafe(ref pb, u); b1 = Vector512.LoadUnsafe(ref pb, u + (nuint)w);
                b2 = Vector512.LoadUnsafe(ref pb, u + (nuint)(2 * w)); b3 = Vector512.LoadUnsafe(ref pb, u + (nuint)(3 * w));
            }
            ref T row = ref Unsafe.Add(ref mm, j);
            for (int i = 0; i < rows; i++, row = ref Unsafe.Add(ref row, cols))
            {
                var r0 = Vector512.LoadUnsafe(ref row); var r1 = Vector512.LoadUnsafe(ref row, (nuint)w);
                var r2 = Vector512.LoadUnsafe(ref row, (nuint)(2 * w)); var r3 = Vector512.LoadUnsafe(ref row, (nuint)(3 * w));
                var c = Vector512.Create(Unsafe.Add(ref ca, i));
                a0 += c * r0; a1 += c * r1; a2 += c * r2; a3 += c * r3;
                if (TTwo.On)
                {
                    var e = Vector512.Create(Unsafe.Add(ref cb, i));
                    b0 += e * r0; b1 += e * r1; b2 += e * r2; b3 += e * r3;
                }
            }
            a0.StoreUnsafe(ref pa, u); a1.StoreUnsafe(ref pa, u + (nuint)w);
            a2.StoreUnsafe(ref pa, u + (nuint)(2 * w)); a3.StoreUnsafe(ref pa, u + (nuint)(3 * w));
            if (TTwo.On)
            {
                b0.StoreUnsafe(ref pb, u); b1.StoreUnsafe(ref pb, u + (nuint)w);
                b2.StoreUnsafe(ref pb, u + (nuint)(2 * w)); b3.StoreUnsafe(ref pb, u + (nuint)(3 * w));
            }
        }
        for (; j + w <= cols; j += w)
        {
            nuint u = (nuint)j;
            var a = Vector512.LoadUnsafe(ref pa, u);
            var b = TTwo.On ? Vector512.LoadUnsafe(ref pb, u) : default;
            ref T row = ref Unsafe.Add(ref mm, j);
            for (int i = 0; i < rows; i++, row = ref Unsafe.Add(ref row, cols))
            {
                var r = Vector512.LoadUnsafe(ref row);
                a += Vector512.Create(Unsafe.Add(ref ca, i)) * r;
                if (TTwo.On) b += Vector512.Create(Unsafe.Add(ref cb, i)) * r;
            }
            a.StoreUnsafe(ref pa, u);
            if (TTwo.On) b.StoreUnsafe(ref pb, u);
        }
        for (; j < cols; j++)
        {
            T a = Unsafe.Add(ref pa, j), b = TTwo.On ? Unsafe.Add(ref pb, j) : T.Zero;
            for (int i = 0; i < rows; i++)
            {
                T r = Unsafe.Add(ref mm, i * cols + j);
                a += Unsafe.Add(ref ca, i) * r;
                if (TTwo.On) b += Unsafe.Add(ref cb, i) * r;
            }
            Unsafe.Add(ref pa, j) = a;
            if (TTwo.On) Unsafe.Add(ref pb, j) = b;
        }
    }

    /// <summary>y[i..i+4) = rows i..i+4 of M · x by one <see cref="Dots"/> call (the separate calls' way).</summary>
    static void DotsOfFour(T[] m, int i, int cols, T[] x, T[] y)
    {
        var res = DotsResult ??= new T[4];
        int o = i * cols;
        Dots(m, o, x, m, o + cols, x, m, o + 2 * cols, x, m, o + 3 * cols, x, 4, cols, res);
        for (int q = 0; q < 4; q++) y[i + q] = res[q];
    }

    /// <summary>y += Σ_q x[i + q] · row i + q of M, by one <see cref="Axpy4"/> call.</summary>
    static void Axpy4Rows(T[] y, T[] x, T[] m, int i, int cols)
    {
        int o = i * cols;
        Axpy4(y, x[i], x[i + 1], x[i + 2], x[i + 3], m, o, o + cols, o + 2 * cols, o + 3 * cols, cols);
    }

    [ThreadStatic] static T[]? DotsResult;

    /// <summary>Off: <see cref="DotAxpys4"/> and <see cref="MatVecs4OrFewer"/> make their separate calls (the same bits): an A/B switch for timing,
    /// `bench … ratio-parts abfused`.</summary>
    public static bool FusedPasses { get; set; } = true;

    static void Quad(T[] m, int i, int cols, T[] x, T[] y)
    {
        if (Vector.IsHardwareAccelerated) Rows4(m, i, cols, x, y);
        else for (int k = 0; k < 4; k++) y[i + k] = Dot(m, (i + k) * cols, x, 0, cols);
    }

    /// <summary>Dot's sum of its two accumulators held side by side in one 512-bit register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Half(Vector512<T> s) => Vector.Sum((s.GetLower() + s.GetUpper()).AsVector());

    /// <summary>Rows4 with one 512-bit register holding Dot's two accumulators side by side (lanes
    /// [0, w) are s0, [w, 2w) are s1): the same sums, added in the same order, half the instructions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows4Wide(ref T p0, ref T p1, ref T p2, ref T p3, ref T q, int cols, T[] y, int i)
    {
        var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero; var s2 = Vector512<T>.Zero; var s3 = Vector512<T>.Zero;
        int w2 = Vector512<T>.Count, j = 0;
        for (; j <= cols - w2; j += w2)
        {
            nuint u = (nuint)j;
            var xu = Vector512.LoadUnsafe(ref q, u);
            s0 += Vector512.LoadUnsafe(ref p0, u) * xu;
            s1 += Vector512.LoadUnsafe(ref p1, u) * xu;
            s2 += Vector512.LoadUnsafe(ref p2, u) * xu;
            s3 += Vector512.LoadUnsafe(ref p3, u) * xu;
        }
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q, j, cols, Half(s0), Half(s1), Half(s2), Half(s3), y, i);
    }

    /// <summary>y[i..i+4) = rows i..i+4 of M · x, each exactly as <see cref="Dot"/> sums it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows4(T[] m, int i, int cols, T[] x, T[] y)
    {
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
        ref T p1 = ref Unsafe.Add(ref p0, cols);
        ref T p2 = ref Unsafe.Add(ref p1, cols);
        ref T p3 = ref Unsafe.Add(ref p2, cols);
        ref T q = ref MemoryMarshal.GetArrayDataReference(x);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count)
        {
            Rows4Wide(ref p0, ref p1, ref p2, ref p3, ref q, cols, y, i);
            return;
        }
        var s00 = Vector<T>.Zero; var s01 = Vector<T>.Zero;
        var s10 = Vector<T>.Zero; var s11 = Vector<T>.Zero;
        var s20 = Vector<T>.Zero; var s21 = Vector<T>.Zero;
        var s30 = Vector<T>.Zero; var s31 = Vector<T>.Zero;
        int w = Vector<T>.Count, j = 0;
        for (; j <= cols - 2 * w; j += 2 * w)
        {
            nuint u = (nuint)j, v = (nuint)(j + w);
            var xu = Vector.LoadUnsafe(ref q, u);
            var xv = Vector.LoadUnsafe(ref q, v);
            s00 += Vector.LoadUnsafe(ref p0, u) * xu;
            s01 += Vector.LoadUnsafe(ref p0, v) * xv;
            s10 += Vector.LoadUnsafe(ref p1, u) * xu;
            s11 += Vector.LoadUnsafe(ref p1, v) * xv;
            s20 += Vector.LoadUnsafe(ref p2, u) * xu;
            s21 += Vector.LoadUnsafe(ref p2, v) * xv;
            s30 += Vector.LoadUnsafe(ref p3, u) * xu;
            s31 += Vector.LoadUnsafe(ref p3, v) * xv;
        }
        T r0 = Vector.Sum(s00 + s01), r1 = Vector.Sum(s10 + s11), r2 = Vector.Sum(s20 + s21), r3 = Vector.Sum(s30 + s31);
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q, j, cols, r0, r1, r2, r3, y, i);
    }

    /// <summary>y[i..i+4) = r_k + Σ_{j ∈ [from, cols)} row k · x, column after column: Dot's scalar sum, for four
    /// rows at once (the tail after Rows4's vectors, or a whole narrow row from r_k = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScalarTail4(ref T p0, ref T p1, ref T p2, ref T p3, ref T q, int from, int cols, T r0, T r1, T r2, T r3, T[] y, int i)
    {
        for (int j = from; j < cols; j++)
        {
            T xj = Unsafe.Add(ref q, j);
            r0 += Unsafe.Add(ref p0, j) * xj;
            r1 += Unsafe.Add(ref p1, j) * xj;
            r2 += Unsafe.Add(ref p2, j) * xj;
            r3 += Unsafe.Add(ref p3, j) * xj;
        }
        y[i] = r0; y[i + 1] = r1; y[i + 2] = r2; y[i + 3] = r3;
    }

    /// <summary>y = Mᵀ x for a row-major rows × cols matrix M (row by row: contiguous reads).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatTVec(T[] m, int rows, int cols, T[] x, T[] y)
    {
        Check(m, 0, rows * cols);
        Check(x, 0, rows);
        Check(y, 0, cols);
        Array.Clear(y, 0, cols);
        for (int i = 0; i < rows; i++) Axpy(y, 0, x[i], m, i * cols, cols);
    }
}
