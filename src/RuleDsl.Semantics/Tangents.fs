namespace RuleDsl.Semantics

open RuleDsl.Symbolic

/// Which symbols of a rule carry tangents, decided here once: for the printed and verified
/// differential (derive, verify, eval) and for the learners' kernels. How a tangent is named is
/// `Differentiate.tangentSymbol` (δX) and `Differentiate.tangentAlong` (δX#d, along direction d).
module Tangents =
    /// A variable changes during learning unless the variable table fixes it (dt, vectors of ones).
    let private changes (s: Symbol) =
        match Variables.tryFind s.Name with
        | Some v -> v.HasTangent
        | None -> true

    /// The state whose tangents the forward differential of a rule carries: the inputs that change
    /// during learning, and the rule's traces (θ is constant along it).
    let state (rule: Rule) : Symbol list =
        (rule.Inputs |> List.filter changes) @ (rule.Traces |> List.map (fun t -> t.Symbol))

    /// Everything a learner carries tangents of through a rule: θ, the weight, the traces and the
    /// inputs that change during learning, less `fixedHere` (what a network holds fixed, such as the
    /// feedback matrix B, or the input of its first layer).
    let carried (rule: Rule) (fixedHere: string seq) : Symbol list =
        let fixedNames = Set.ofSeq fixedHere
        (rule.Params |> List.map (fun p -> p.Symbol))
        @ [ rule.Weight ]
        @ (rule.Traces |> List.map (fun t -> t.Symbol))
        @ (rule.Inputs |> List.filter changes)
        |> List.distinct
        |> List.filter (fun s -> not (fixedNames.Contains s.Name))
