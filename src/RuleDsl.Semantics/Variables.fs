namespace RuleDsl.Semantics

open RuleDsl.Symbolic
open RuleDsl.Syntax

/// A variable a rule may read, supplied by the runtime.
type Variable =
    { Name: string
      Shape: Shape
      Settings: Setting list
      /// false for quantities that are fixed during learning (dt, vectors of ones): they get no tangent.
      HasTangent: bool
      Doc: string }

    member this.Symbol : Symbol = { Name = this.Name; Shape = this.Shape }

/// The variables of each setting, in one place. `ruledsl vars` prints this table.
/// Shapes: "pre" is the presynaptic population (columns of W), "post" the postsynaptic one (rows).
module Variables =
    let private post = Shape.Vector "post"
    let private pre = Shape.Vector "pre"
    let private weightShape = Shape.Matrix ("post", "pre")
    let private ff = [ Setting.Feedforward ]
    let private rec' = [ Setting.Recurrent ]
    let private both = [ Setting.Feedforward; Setting.Recurrent ]
    let private v name shape settings doc = { Name = name; Shape = shape; Settings = settings; HasTangent = true; Doc = doc }
    let private fixedV name shape settings doc = { v name shape settings doc with HasTangent = false }

    let all : Variable list =
        [ v "W" weightShape both "the weight being updated, post × pre (W_{ℓ−1,ℓ}; the recurrent J)"
          // feedforward (Shervani-Tabar & Rosenbaum): layer ℓ−1 is pre, layer ℓ is post
          v "y_pre" pre ff "presynaptic activity y_{ℓ−1} (the layer's input)"
          v "y_post" post ff "postsynaptic activity y_ℓ = softplus(z_ℓ)"
          v "e_pre" pre ff "presynaptic error e_{ℓ−1} (the synthetic e_0 at the first layer)"
          v "e_post" post ff "postsynaptic error (modulating signal) e_ℓ"
          v "z_post" post ff "postsynaptic pre-activation z_ℓ = W y_pre"
          v "B" (Shape.Matrix ("pre", "post")) ff "feedback matrix B_{ℓ,ℓ−1}, pre × post (fixed random; Wᵀ with backprop)"
          fixedV "ones_pre" pre both "vector of ones over the presynaptic population"
          fixedV "ones_post" post both "vector of ones over the postsynaptic population (1_ℓ)"
          // recurrent (Maoutsa; Miconi): pre and post are the same N neurons, seen from either side of W
          v "x" post rec' "postsynaptic state x_i (τ dx/dt = −x + W r + W_in u)"
          v "xbar" post rec' "running average x̄_i of the postsynaptic state"
          v "r" pre rec' "presynaptic rate r_j = tanh(x_j)"
          v "r_post" post rec' "postsynaptic rate r_i = tanh(x_i)"
          v "x_pre" pre rec' "presynaptic state x_j"
          v "xbar_pre" pre rec' "running average x̄_j of the presynaptic state"
          v "R" Shape.Scalar rec' "reward of the trial (delivered at its end; −error in Miconi's task)"
          v "Rbar" Shape.Scalar rec' "running average R̄ of the reward"
          fixedV "dt" Shape.Scalar rec' "Euler time step of the dynamics (no tangent: fixed)" ]

    let private byName = all |> List.map (fun v -> v.Name, v) |> Map.ofList

    let tryFind (name: string) : Variable option = byName.TryFind name

    let ofSetting (s: Setting) : Variable list = all |> List.filter (fun v -> List.contains s v.Settings)

    let settingName (s: Setting) = string s

    /// The weight symbol every rule updates.
    let weight : Symbol = { Name = "W"; Shape = weightShape }

    /// Names the engine binds for the network in each setting beyond the rule's variables: what a model's
    /// equations read (`ModelFile.variables`; a test keeps the two in step) and the learners' own quantities
    /// (the reward accumulator, the orthonormality error, backprop's errors beside the feedback's). A
    /// parameter or trace of a rule so named would be bound to the engine's quantity: the checker refuses it.
    let engineNames (s: Setting) : Set<string> =
        match s with
        | Setting.Feedforward -> set [ "B_out"; "z_pre"; "dsigma"; "target"; "e_out"; "orth"; "e_pre_bp"; "e_post_bp" ]
        | Setting.Recurrent -> set [ "free"; "clamp"; "noise"; "w_out"; "W_in"; "u"; "z"; "target"; "mask"; "Racc" ]

