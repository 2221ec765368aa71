using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Bench;

/// <summary>
/// Hand-written C# steps for the benchmark's baseline: what a careful engineer writes for each rule
/// and its tangents, derived by hand (not from the IR): matrix–vector products in one pass over each
/// matrix, terms grouped by their row vector, one fused scalar loop per matrix row. They read and
/// write the same buffers as the compiled kernel (same names), so both can be checked against each
/// other (tests link this file and do).
/// </summary>
public abstract class HandStep
{
    protected readonly int D, N, M; // directions, rows (post), cols (pre)

    protected HandStep(KernelArgs<double> a, int directions)
    {
        D = directions;
        N = a.Sizes[a.Layout.DimSlot("post")];
        M = a.Sizes[a.Layout.DimSlot("pre")];
    }

    public abstract void Step();

    protected static string Dir(string name, int d) => $"δ{name}#{d}";

    protected static double[][] Arrays(KernelArgs<double> a, string name, int d) =>
        Enumerable.Range(0, d).Select(k => a.Array(Dir(name, k))).ToArray();

    protected static double[] Scalars(KernelArgs<double> a, string name, int d) =>
        Enumerable.Range(0, d).Select(k => a.Scalar(Dir(name, k))).ToArray();

    public static HandStep For(string rule, KernelArgs<double> a, int directions) => rule switch
    {
        "f0" => new F0Step(a, directions),
        "bio" => new BioStep(a, directions),
        "pool" => new PoolStep(a, directions),
        "neo_hebbian" => new NeoHebbianTraceStep(a, directions),
        _ => throw new ArgumentException(rule),
    };
}

/// <summary>W += -θ0 e yᵀ; U_d += -v0 e yᵀ - θ0 (δe yᵀ + e δyᵀ).</summary>
public sealed class F0Step : HandStep
{
    readonly double[] w, e, y, v0;
    readonly double[][] u, de, dy;
    readonly double theta0;

    public F0Step(KernelArgs<double> a, int d) : base(a, d)
    {
        (w, e, y, theta0) = (a.Array("W"), a.Array("e_post"), a.Array("y_pre"), a.Scalar("theta0"));
        (u, de, dy, v0) = (Arrays(a, "W", d), Arrays(a, "e_post", d), Arrays(a, "y_pre", d), Scalars(a, "theta0", d));
    }

    public override void Step()
    {
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double c = -theta0 * e[i];
            for (int j = 0; j < M; j++) w[off + j] += c * y[j];
            for (int k = 0; k < D; k++)
            {
                double a = -(v0[k] * e[i] + theta0 * de[k][i]);
                var uk = u[k];
                var dyk = dy[k];
                for (int j = 0; j < M; j++) uk[off + j] += a * y[j] + c * dyk[j];
            }
        }
    }
}

/// <summary>
/// Bio: ΔW = e⊗A + y⊗B, A = -θ0 y_pre - θ2 e_pre, B = θ9 (y_pre - Wᵀy).
/// Tangent: δe⊗A + e⊗(Aᵛ + dA) + δy⊗B + y⊗(Bᵛ + dB), Aᵛ = -v0 y_pre - v2 e_pre,
/// dA = -θ0 δy_pre - θ2 δe_pre, Bᵛ = v9 (y_pre - Wᵀy), dB = θ9 (δy_pre - Uᵀy - Wᵀδy).
/// </summary>
public sealed class BioStep : HandStep
{
    readonly double[] w, e, y, yp, ep, v0, v2, v9, z, A, B;
    readonly double[][] u, de, dy, dyp, dep, wtdy, uty, Ad, Bd;
    readonly double t0, t2, t9;

    public BioStep(KernelArgs<double> a, int d) : base(a, d)
    {
        (w, e, y, yp, ep) = (a.Array("W"), a.Array("e_post"), a.Array("y_post"), a.Array("y_pre"), a.Array("e_pre"));
        (t0, t2, t9) = (a.Scalar("theta0"), a.Scalar("theta2"), a.Scalar("theta9"));
        (u, de, dy, dyp, dep) = (Arrays(a, "W", d), Arrays(a, "e_post", d), Arrays(a, "y_post", d), Arrays(a, "y_pre", d), Arrays(a, "e_pre", d));
        (v0, v2, v9) = (Scalars(a, "theta0", d), Scalars(a, "theta2", d), Scalars(a, "theta9", d));
        (z, A, B) = (new double[M], new double[M], new double[M]);
        wtdy = Enumerable.Range(0, d).Select(_ => new double[M]).ToArray();
        uty = Enumerable.Range(0, d).Select(_ => new double[M]).ToArray();
        Ad = Enumerable.Range(0, d).Select(_ => new double[M]).ToArray();
        Bd = Enumerable.Range(0, d).Select(_ => new double[M]).ToArray();
    }

    public override void Step()
    {
        // One pass over W: z = Wᵀy and Wᵀδy_k; one pass over each U_k: U_kᵀy.
        Array.Clear(z);
        foreach (var x in wtdy) Array.Clear(x);
        foreach (var x in uty) Array.Clear(x);
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double yi = y[i];
            for (int j = 0; j < M; j++) z[j] += yi * w[off + j];
            for (int k = 0; k < D; k++)
            {
                double dyi = dy[k][i];
                var t = wtdy[k];
                for (int j = 0; j < M; j++) t[j] += dyi * w[off + j];
            }
        }
        for (int k = 0; k < D; k++)
        {
            var t = uty[k];
            var uk = u[k];
            for (int i = 0; i < N; i++)
            {
                int off = i * M;
                double yi = y[i];
                for (int j = 0; j < M; j++) t[j] += yi * uk[off + j];
            }
        }
        for (int j = 0; j < M; j++)
        {
            A[j] = -t0 * yp[j] - t2 * ep[j];
            B[j] = t9 * (yp[j] - z[j]);
        }
        for (int k = 0; k < D; k++)
            for (int j = 0; j < M; j++)
            {
                Ad[k][j] = -v0[k] * yp[j] - v2[k] * ep[j] - t0 * dyp[k][j] - t2 * dep[k][j];
                Bd[k][j] = v9[k] * (yp[j] - z[j]) + t9 * (dyp[k][j] - uty[k][j] - wtdy[k][j]);
            }
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double ei = e[i], yi = y[i];
            for (int j = 0; j < M; j++) w[off + j] += ei * A[j] + yi * B[j];
            for (int k = 0; k < D; k++)
            {
                double dei = de[k][i], dyi = dy[k][i];
                var uk = u[k];
                var ak = Ad[k];
                var bk = Bd[k];
                for (int j = 0; j < M; j++) uk[off + j] += dei * A[j] + ei * ak[j] + dyi * B[j] + yi * bk[j];
            }
        }
    }
}

/// <summary>
/// The ten-term pool, grouped by row vector: ΔW = e⊗A + y⊗B + 1⊗C - θ3 W with
/// A = -(θ0 + θ5 s + θ7 c6) y_pre - θ2 e_pre, B = -(θ1 + θ6 c6 + θ8 c8) e_pre + θ9 (y_pre - Wᵀy),
/// C = -θ4 e_pre, s = Σy, c6 = ⟨y, W e_pre⟩, c8 = ⟨e, W y_pre⟩; tangents by the product rule (see Step).
/// </summary>
public sealed class PoolStep : HandStep
{
    readonly double[] w, e, y, yp, ep, th, z, wep, wyp, A, B, C;
    readonly double[][] u, de, dy, dyp, dep, v, wdep, wdyp, wtdy, uep, uyp, uty, Ak, Bk, Ck;

    public PoolStep(KernelArgs<double> a, int d) : base(a, d)
    {
        (w, e, y, yp, ep) = (a.Array("W"), a.Array("e_post"), a.Array("y_post"), a.Array("y_pre"), a.Array("e_pre"));
        th = Enumerable.Range(0, 10).Select(r => a.Scalar($"theta[{r}]")).ToArray();
        (u, de, dy, dyp, dep) = (Arrays(a, "W", d), Arrays(a, "e_post", d), Arrays(a, "y_post", d), Arrays(a, "y_pre", d), Arrays(a, "e_pre", d));
        v = Enumerable.Range(0, d).Select(k => Enumerable.Range(0, 10).Select(r => a.Scalar(Dir($"theta[{r}]", k))).ToArray()).ToArray();
        (z, A, B, C) = (new double[M], new double[M], new double[M], new double[M]);
        (wep, wyp) = (new double[N], new double[N]);
        double[][] Vecs(int n) => Enumerable.Range(0, d).Select(_ => new double[n]).ToArray();
        (wdep, wdyp, uep, uyp) = (Vecs(N), Vecs(N), Vecs(N), Vecs(N));
        (wtdy, uty, Ak, Bk, Ck) = (Vecs(M), Vecs(M), Vecs(M), Vecs(M), Vecs(M));
    }

    static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) s += a[k] * b[k];
        return s;
    }

    public override void Step()
    {
        // One pass over W: W e_pre, W y_pre, Wᵀy, and per direction W δe_pre, W δy_pre, Wᵀδy.
        Array.Clear(z);
        foreach (var x in wtdy) Array.Clear(x);
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double s1 = 0, s2 = 0, yi = y[i];
            for (int j = 0; j < M; j++)
            {
                double wij = w[off + j];
                s1 += wij * ep[j];
                s2 += wij * yp[j];
                z[j] += yi * wij;
            }
            wep[i] = s1;
            wyp[i] = s2;
            for (int k = 0; k < D; k++)
            {
                double t1 = 0, t2 = 0, dyi = dy[k][i];
                var depk = dep[k];
                var dypk = dyp[k];
                var tk = wtdy[k];
                for (int j = 0; j < M; j++)
                {
                    double wij = w[off + j];
                    t1 += wij * depk[j];
                    t2 += wij * dypk[j];
                    tk[j] += dyi * wij;
                }
                wdep[k][i] = t1;
                wdyp[k][i] = t2;
            }
        }
        // One pass over each U_k: U e_pre, U y_pre, Uᵀy.
        for (int k = 0; k < D; k++)
        {
            var uk = u[k];
            var tk = uty[k];
            Array.Clear(tk);
            for (int i = 0; i < N; i++)
            {
                int off = i * M;
                double s1 = 0, s2 = 0, yi = y[i];
                for (int j = 0; j < M; j++)
                {
                    double uij = uk[off + j];
                    s1 += uij * ep[j];
                    s2 += uij * yp[j];
                    tk[j] += yi * uij;
                }
                uep[k][i] = s1;
                uyp[k][i] = s2;
            }
        }
        double s = 0;
        for (int i = 0; i < N; i++) s += y[i];
        double c6 = Dot(y, wep), c8 = Dot(e, wyp);
        double a0 = th[0] + th[5] * s + th[7] * c6, b0 = th[1] + th[6] * c6 + th[8] * c8;
        for (int j = 0; j < M; j++)
        {
            A[j] = -a0 * yp[j] - th[2] * ep[j];
            B[j] = -b0 * ep[j] + th[9] * (yp[j] - z[j]);
            C[j] = -th[4] * ep[j];
        }
        for (int k = 0; k < D; k++)
        {
            var vk = v[k];
            double ds = 0;
            for (int i = 0; i < N; i++) ds += dy[k][i];
            double dc6 = Dot(dy[k], wep) + Dot(y, uep[k]) + Dot(y, wdep[k]);
            double dc8 = Dot(de[k], wyp) + Dot(e, uyp[k]) + Dot(e, wdyp[k]);
            double av = vk[0] + vk[5] * s + vk[7] * c6, bv = vk[1] + vk[6] * c6 + vk[8] * c8;
            double da = th[5] * ds + th[7] * dc6, db = th[6] * dc6 + th[8] * dc8;
            for (int j = 0; j < M; j++)
            {
                double dz = uty[k][j] + wtdy[k][j];
                Ak[k][j] = -av * yp[j] - vk[2] * ep[j] - da * yp[j] - a0 * dyp[k][j] - th[2] * dep[k][j];
                Bk[k][j] = -bv * ep[j] + vk[9] * (yp[j] - z[j]) - db * ep[j] - b0 * dep[k][j] + th[9] * (dyp[k][j] - dz);
                Ck[k][j] = -vk[4] * ep[j] - th[4] * dep[k][j];
            }
        }
        // Per row: each U_k (reads the old W), then W.
        double keep = 1 - th[3];
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double ei = e[i], yi = y[i];
            for (int k = 0; k < D; k++)
            {
                double dei = de[k][i], dyi = dy[k][i], v3 = v[k][3];
                var uk = u[k];
                var ak = Ak[k];
                var bk = Bk[k];
                var ck = Ck[k];
                for (int j = 0; j < M; j++)
                    uk[off + j] = (1 - th[3]) * uk[off + j] - v3 * w[off + j]
                        + ei * ak[j] + dei * A[j] + yi * bk[j] + dyi * B[j] + ck[j];
            }
            for (int j = 0; j < M; j++) w[off + j] = keep * w[off + j] + ei * A[j] + yi * B[j] + C[j];
        }
    }
}

/// <summary>
/// Neo-Hebbian trace step: E += dt Σ_{k,l} θ_kl p^l ⊗ r^k (p = xbar - x), grouped by r^k:
/// E_ij += a0 + a1 r_j + a2 r_j², a_k = dt Σ_l θ_kl p_i^l. Tangent: δE += dt Σ [v_kl p^l ⊗ r^k
/// + θ_kl (l p^{l-1} δp) ⊗ r^k + θ_kl p^l ⊗ (k r^{k-1} δr)].
/// </summary>
public sealed class NeoHebbianTraceStep : HandStep
{
    readonly double[] eT, x, xbar, r, r2, th;
    readonly double[][] dE, dx, dxbar, dr, v, rdr;
    readonly double dt;

    public NeoHebbianTraceStep(KernelArgs<double> a, int d) : base(a, d)
    {
        (eT, x, xbar, r, dt) = (a.Array("E"), a.Array("x"), a.Array("xbar"), a.Array("r"), a.Scalar("dt"));
        th = new double[9];
        for (int k = 0; k <= 2; k++)
            for (int l = 0; l <= 2; l++)
                th[3 * k + l] = a.Scalar($"theta[{k},{l}]");
        (dE, dx, dxbar, dr) = (Arrays(a, "E", d), Arrays(a, "x", d), Arrays(a, "xbar", d), Arrays(a, "r", d));
        v = Enumerable.Range(0, d).Select(k => Enumerable.Range(0, 9).Select(q => a.Scalar(Dir($"theta[{q / 3},{q % 3}]", k))).ToArray()).ToArray();
        r2 = new double[M];
        rdr = Enumerable.Range(0, d).Select(_ => new double[M]).ToArray();
    }

    public override void Step()
    {
        for (int j = 0; j < M; j++) r2[j] = r[j] * r[j];
        for (int k = 0; k < D; k++)
            for (int j = 0; j < M; j++) rdr[k][j] = 2 * r[j] * dr[k][j];
        for (int i = 0; i < N; i++)
        {
            int off = i * M;
            double p = xbar[i] - x[i], p2 = p * p;
            double a0 = dt * (th[0] + th[1] * p + th[2] * p2);
            double a1 = dt * (th[3] + th[4] * p + th[5] * p2);
            double a2 = dt * (th[6] + th[7] * p + th[8] * p2);
            for (int k = 0; k < D; k++)
            {
                var vk = v[k];
                double dp = dxbar[k][i] - dx[k][i];
                double b0 = dt * (vk[0] + vk[1] * p + vk[2] * p2 + (th[1] + 2 * th[2] * p) * dp);
                double b1 = dt * (vk[3] + vk[4] * p + vk[5] * p2 + (th[4] + 2 * th[5] * p) * dp);
                double b2 = dt * (vk[6] + vk[7] * p + vk[8] * p2 + (th[7] + 2 * th[8] * p) * dp);
                var ek = dE[k];
                var drk = dr[k];
                var rdrk = rdr[k];
                for (int j = 0; j < M; j++)
                    ek[off + j] += b0 + b1 * r[j] + b2 * r2[j] + a1 * drk[j] + a2 * rdrk[j];
            }
            for (int j = 0; j < M; j++) eT[off + j] += a0 + a1 * r[j] + a2 * r2[j];
        }
    }
}
