namespace RuleDsl.Symbolic

/// The reference interpreter: plain, obviously correct evaluation of the IR on concrete values.
/// Everything faster (the compiled kernels) is tested against it.
module Eval =
    let rec eval (env: Symbol -> Value) (e: Expr) : Value =
        let ev = eval env
        match e with
        | Num x -> Value.Scalar x
        | Sym s -> env s
        | Add xs -> Value.map Array.sum (List.map ev xs)
        | Mul xs -> Value.map (Array.fold (*) 1.0) (List.map ev xs)
        | Pow (a, b) -> Value.map (fun v -> Kernels.Pow (v.[0], v.[1])) [ ev a; ev b ]
        | Call (fn, xs) -> (Builtins.info fn).Eval (List.map ev xs)

    /// Evaluate with values looked up by symbol name; a missing name is a clear error.
    let evalNamed (values: Map<string, Value>) (e: Expr) : Value =
        eval (fun s ->
            match values.TryFind s.Name with
            | Some v -> v
            | None -> invalidArg "values" (sprintf "no value given for %s" s.Name)) e
