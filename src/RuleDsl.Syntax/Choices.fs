namespace RuleDsl.Syntax

open Microsoft.FSharp.Reflection

// The closed word sets of rules and experiments, as unions: a word is parsed once, at the front end,
// and everything after it matches on a case. Each union's ToString is its word, and its cases (in
// declaration order) are the words an experiment file may give (`Choice.words`).

/// The two research settings a rule or an experiment is written for. Each fixes the variables a rule
/// may read and the network an experiment runs.
[<RequireQualifiedAccess>]
type Setting =
    /// Deep feedforward networks with (random) feedback: y_pre, y_post, e_pre, e_post, z_post, W, …
    | Feedforward
    /// Rate RNNs with three-factor rules: x, xbar, r, R, Rbar, W, dt, traces, …
    | Recurrent
    override this.ToString () = match this with Setting.Feedforward -> "feedforward" | Setting.Recurrent -> "recurrent"

/// How a meta-step chooses the directions v in θ-space along which tangents are carried through learning.
[<RequireQualifiedAccess>]
type GradientEstimator =
    /// One unit vector per θ: the exact gradient, cost linear in the number of θ.
    | Exact
    /// k Gaussian directions u ~ N(0, I): ĝ = (1/k) Σ (g·u) u, unbiased since E[u uᵀ] = I; cost
    /// independent of the number of θ (the poster's χ̃ = Σ u_kl χ_kl).
    | RandomProjection
    /// REINFORCE on a Gaussian search distribution over θ, with antithetic pairs and no tangents at all.
    | Reinforce
    override this.ToString () = match this with GradientEstimator.Exact -> "exact" | GradientEstimator.RandomProjection -> "projections" | GradientEstimator.Reinforce -> "reinforce"

/// The regulariser added to the meta-loss (Eq. 6 and S.3 of Shervani-Tabar & Rosenbaum).
[<RequireQualifiedAccess>]
type PenaltyKind =
    | None
    | L1
    | L2
    override this.ToString () = match this with PenaltyKind.None -> "none" | PenaltyKind.L1 -> "l1" | PenaltyKind.L2 -> "l2"

/// How the L1 penalty enters the meta-step.
[<RequireQualifiedAccess>]
type PenaltyStep =
    /// Its subgradient λ·sign(θ) added to the meta-gradient (as the paper).
    | Gradient
    /// A proximal step after Adam's (soft-thresholding), which can set a coefficient exactly to 0.
    | Proximal
    override this.ToString () = match this with PenaltyStep.Gradient -> "gradient" | PenaltyStep.Proximal -> "proximal"

/// What to do when an episode diverges. Whatever the policy, a failed episode never touches θ or
/// Adam's state.
[<RequireQualifiedAccess>]
type DivergencePolicy =
    /// Skip the meta-step and go on with the next episode.
    | Skip
    /// Skip the meta-step and halve the meta learning rate from then on.
    | ReduceStep
    /// Skip the meta-step, scale θ toward zero and drop Adam's momentum. A diverged episode gives no
    /// gradient, so under Skip nothing tells meta-learning that the rule's steps were too large, and θ
    /// can drift to where many episodes diverge.
    | Shrink
    /// Stop the run (results so far are kept).
    | Stop
    override this.ToString () = match this with DivergencePolicy.Skip -> "skip" | DivergencePolicy.ReduceStep -> "reduce" | DivergencePolicy.Shrink -> "shrink" | DivergencePolicy.Stop -> "stop"

/// How the equations of a run are executed.
[<RequireQualifiedAccess>]
type Backend =
    /// SIMD-compiled kernels (Runtime/Kernels/Compiler).
    | Simd
    /// The reference interpreter: the independent cross-check of every compiled kernel.
    | Interpreter
    override this.ToString () = match this with Backend.Simd -> "simd" | Backend.Interpreter -> "interpreter"

/// The floating-point type a run's kernels compute in. The meta-gradient and objective are summed in
/// double either way.
[<RequireQualifiedAccess>]
type Precision =
    | Float64
    /// Single precision: vectors and matrices stored as float, compiled kernels in float (twice the
    /// SIMD lanes, half the memory traffic); the compiled backend only.
    | Float32
    override this.ToString () = match this with Precision.Float64 -> "float64" | Precision.Float32 -> "float32"

/// Recurrent: the running average x̄ at a trial's start.
[<RequireQualifiedAccess>]
type AverageStart =
    /// Reset to the trial's initial state.
    | Reset
    /// Carried over from the end of the previous trial (Miconi's; 0 before the first).
    | Carry
    override this.ToString () = match this with AverageStart.Reset -> "reset" | AverageStart.Carry -> "carry"

/// Recurrent: when in a step the output z = w_out·r is read and scored.
[<RequireQualifiedAccess>]
type ReadoutTime =
    /// Before the Euler step, from the rates r(t−1) that drive it.
    | Before
    /// After it, from r(t) = φ(x(t)) (Miconi's).
    | After
    override this.ToString () = match this with ReadoutTime.Before -> "before" | ReadoutTime.After -> "after"

module Choice =
    /// Every case of one of the unions above, in declaration order.
    let cases<'T> () : 'T list =
        FSharpType.GetUnionCases typeof<'T> |> Array.map (fun c -> FSharpValue.MakeUnion (c, [||]) :?> 'T) |> List.ofArray

    /// The words of a union's cases: what a file may write.
    let words<'T> () : string list = cases<'T> () |> List.map string

    /// The case a word names, if any.
    let tryParse<'T> (word: string) : 'T option = cases<'T> () |> List.tryFind (fun c -> string c = word)
