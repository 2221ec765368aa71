namespace RuleDsl.Runtime.Meta;

/// <summary>Adam (Kingma &amp; Ba 2014) on a flat parameter vector. Its state is plain data so a
/// resumed run continues exactly where it stopped.</summary>
public sealed class Adam
{
    public double LearningRate { get; set; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public AdamState State { get; private set; }

    public Adam(int size, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        // 0 is allowed: a run that evaluates θ (meta-loss and meta-gradient logged) without changing it.
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), "the meta learning rate must be 0 or positive");
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        State = new AdamState(0, new double[size], new double[size]);
    }

    public void Restore(AdamState state)
    {
        if (state.M.Length != State.M.Length) throw new ArgumentException("Adam state has the wrong size");
        State = state with { M = (double[])state.M.Clone(), V = (double[])state.V.Clone() };
    }

    /// <summary>One descent step: theta ← theta − lr · m̂ / (√v̂ + ε). With per-parameter step scales s
    /// (a rule's <c>param … step s</c>) it is Adam on φ = θ / s: the moments see s·g and θ moves by s·Δφ,
    /// so θᵢ's steps are sᵢ times the learning rate. No scales (or all 1) is plain Adam, bit for bit.</summary>
    public void Step(double[] theta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> scale = default)
    {
        if (gradient.Length != theta.Length) throw new ArgumentException("gradient and parameters differ in size");
        if (!scale.IsEmpty && scale.Length != theta.Length) throw new ArgumentException("step scales and parameters differ in size");
        int t = State.Step + 1;
        var m = State.M;
        var v = State.V;
        double c1 = 1 - Math.Pow(Beta1, t), c2 = 1 - Math.Pow(Beta2, t);
        for (int i = 0; i < theta.Length; i++)
        {
            double s = scale.IsEmpty ? 1 : scale[i], g = s * gradient[i];
            m[i] = Beta1 * m[i] + (1 - Beta1) * g;
            v[i] = Beta2 * v[i] + (1 - Beta2) * g * g;
            theta[i] -= s * (LearningRate * (m[i] / c1) / (Math.Sqrt(v[i] / c2) + Epsilon));
        }
        State = State with { Step = t };
    }

    /// <summary>Zeroes the first moment (momentum), keeping the second: the next steps follow fresh
    /// gradients only, at the step sizes Adam has learned.</summary>
    public void ForgetMomentum() => Array.Clear(State.M);

    /// <summary>The proximal step of λ‖θ‖₁ after <see cref="Step"/>: soft-thresholding each θᵢ at the
    /// step size Adam just used for it, sᵢ² · lr · λ / (√v̂ᵢ + ε) (the L1 prox in the metric Adam's
    /// preconditioner defines; sᵢ as in <see cref="Step"/>). A coefficient whose averaged meta-gradient
    /// stays below λ lands on 0 and stays there, instead of oscillating around it as the subgradient
    /// λ·sign(θ) makes it do once Adam has normalised the step.</summary>
    public void ShrinkL1(double[] theta, double lambda, ReadOnlySpan<double> scale = default)
    {
        if (State.Step == 0) throw new InvalidOperationException("the proximal step follows an Adam step");
        double c2 = 1 - Math.Pow(Beta2, State.Step);
        for (int i = 0; i < theta.Length; i++)
        {
            double s = scale.IsEmpty ? 1 : scale[i];
            double tau = s * s * LearningRate * lambda / (Math.Sqrt(State.V[i] / c2) + Epsilon);
            theta[i] = Math.Abs(theta[i]) > tau ? theta[i] - Math.Sign(theta[i]) * tau : 0;   // +0, never −0
        }
    }
}

public sealed record AdamState(int Step, double[] M, double[] V);
