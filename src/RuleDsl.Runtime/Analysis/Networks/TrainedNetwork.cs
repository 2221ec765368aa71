using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Analysis.Networks;

/// <summary>
/// A rate RNN after learning, run by the model's own equations without exploration noise: its step
/// map x ↦ F(x; u), the Jacobian ∂F/∂x of that step (the forward differential of the model's dynamics
/// through its rate, from the differentiator — no hand-written Jacobian), and trajectories per trial.
/// What the fixed-point search, PCA and CKA/RSA analyse.
/// </summary>
public sealed class TrainedNetwork
{
    readonly int _n;
    readonly Tensor _x, _rate, _w, _win, _u, _noise, _free, _clamp, _dx, _dRate;
    readonly BoundKernel _rateK, _stepK, _dRateK, _dStepK;

    public int Units => _n;
    public int Inputs => _u.Rows;

    public TrainedNetwork(RecurrentModel model, RecurrentConfig config, double[] w, double[] win, int inputs, IKernelBackend backend)
    {
        int n = config.Units;
        if (w.Length != n * n || win.Length != n * inputs)
            throw new ArgumentException($"weights of {w.Length} and {win.Length} entries do not fit {n} units with {inputs} inputs");
        _n = n;
        _x = Tensor.Vector(n); _rate = Tensor.Vector(n); _dx = Tensor.Vector(n); _dRate = Tensor.Vector(n);
        _w = Tensor.Matrix(n, n); _w.CopyFrom(w);
        _win = Tensor.Matrix(n, inputs); _win.CopyFrom(win);
        _u = Tensor.Vector(inputs); _noise = Tensor.Vector(n);
        _free = Tensor.Vector(n); _clamp = Tensor.Vector(n);
        Array.Fill(_free.Data, 1.0);
        foreach (var (unit, value) in config.Clamped ?? []) { _free[unit] = 0; _clamp[unit] = value; }
        var dt = Tensor.Scalar(config.Dt);
        Tensor? Lookup(string name) => name switch
        {
            "x" or "x_pre" => _x,
            "r" or "r_post" => _rate,
            "δx" or "δx_pre" => _dx,
            "δr" or "δr_post" => _dRate,
            "W" => _w,
            "W_in" => _win,
            "u" => _u,
            "noise" => _noise,
            "free" => _free,
            "clamp" => _clamp,
            "dt" => dt,
            _ => null,
        };
        BoundKernel K(string name, KernelOutput output) => BoundKernel.Bind(backend.Compile(name, [output]), Lookup);
        _rateK = K("r", Set("r", Vec("pre"), model.Rate));
        _stepK = K("step", Set("x", Vec("post"), model.Dynamics));
        // One column of ∂F/∂x per unit vector δx: δr = ∂φ/∂x δx, then δx' = ∂F/∂x δx + ∂F/∂r δr.
        _dRateK = K("δr", Set("δr", Vec("pre"), Tangent(model.Rate, "x_pre")));
        _dStepK = K("δstep", Set("δx", Vec("post"), Tangent(model.Dynamics, "x", "r")));
    }

    void Load(double[] x, double[] u)
    {
        _x.CopyFrom(x);
        _u.CopyFrom(u);
        _rateK.Run();
    }

    /// <summary>One Euler step F(x; u) without noise.</summary>
    public double[] Step(double[] x, double[] u)
    {
        Load(x, u);
        _stepK.Run();
        return (double[])_x.Data.Clone();
    }

    /// <summary>The Jacobian ∂F/∂x at (x, u), column by column from the IR's forward differential.</summary>
    public double[,] Jacobian(double[] x, double[] u)
    {
        var j = new double[_n, _n];
        for (int c = 0; c < _n; c++)
        {
            Load(x, u);
            _dx.Clear(); _dx[c] = 1;
            _dRateK.Run();
            _dStepK.Run();
            for (int r = 0; r < _n; r++) j[r, c] = _dx[r];
        }
        return j;
    }

    /// <summary>One trial from <paramref name="x0"/>, without noise: row t of States is the state
    /// after step t, row t of Rates the rates the step read (what the readout sees at step t).</summary>
    public (double[,] States, double[,] Rates) Run(TrialData trial, double[] x0)
    {
        int steps = trial.Inputs.Length;
        var states = new double[steps, _n];
        var rates = new double[steps, _n];
        _x.CopyFrom(x0);
        for (int t = 0; t < steps; t++)
        {
            _u.CopyFrom(trial.Inputs[t]);
            _rateK.Run();
            for (int i = 0; i < _n; i++) rates[t, i] = _rate[i];
            _stepK.Run();
            for (int i = 0; i < _n; i++) states[t, i] = _x[i];
        }
        return (states, rates);
    }
}
