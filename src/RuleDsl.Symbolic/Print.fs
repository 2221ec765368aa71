namespace RuleDsl.Symbolic

open System
open System.Globalization

/// Printers: `text` writes the language's own syntax (the parser reads it back), `latex` writes
/// LaTeX math. Both follow one precedence table:
///   1 sum (+ −) · 2 product (* /) · 3 matrix product (@) · 4 unary minus · 5 power (^, right) ·
///   6 postfix transpose (') · 7 atoms (numbers, names, calls, parentheses)
module Print =
    let private number (x: float) =
        if Double.IsPositiveInfinity x then "inf"
        elif Double.IsNegativeInfinity x then "-inf"
        else x.ToString ("R", CultureInfo.InvariantCulture)

    /// Negative coefficient terms print after a minus sign in a sum.
    let private negated (e: Expr) : Expr option =
        match e with
        | Num c when c < 0.0 -> Some (Num -c)
        | Mul (Num c :: rest) when c < 0.0 ->
            // A lone factor stays wrapped so that x^-n still prints as a fraction.
            Some (if c = -1.0 then Mul rest else Mul (Num -c :: rest))
        | _ -> None

    /// Split a product into numerator and denominator factors (x^-n goes below the line).
    let private fraction (xs: Expr list) =
        let den = xs |> List.choose (function
                                     | Pow (b, Num n) when n < 0.0 -> Some (if n = -1.0 then b else Pow (b, Num -n))
                                     | _ -> None)
        let num = xs |> List.filter (function Pow (_, Num n) when n < 0.0 -> false | _ -> true)
        num, den

    let private precedence (e: Expr) =
        match e with
        | Add _ -> 1
        | Mul (Num c :: _) when c < 0.0 -> 1 // prints as a leading minus
        | Mul _ -> 2
        | Call (Fn.MatMul, _) -> 3
        | Num x when x < 0.0 -> 4
        | Pow _ -> 5
        | Call (Fn.Transpose, _) -> 6
        | _ -> 7

    // ---------------------------------------------------------------- text

    let rec private txt (e: Expr) : string =
        match e with
        | Num x -> number x
        | Sym s -> s.Name
        | Add (first :: rest) ->
            let head = txt first
            let tail =
                rest
                |> List.map (fun t ->
                    match negated t with
                    | Some p -> " - " + paren 2 p
                    | None -> " + " + paren 2 t)
            head + String.Concat tail
        | Add [] -> "0"
        | Mul xs ->
            match negated e with
            | Some p -> "-" + paren 2 p
            | None ->
                let num, den = fraction xs
                let top =
                    match num with
                    | [] -> "1"
                    | fs -> fs |> List.map (paren 3) |> String.concat " * "
                top + String.Concat (den |> List.map (fun d -> " / " + paren 3 d))
        | Pow (a, b) -> paren 6 a + "^" + paren 5 b
        | Call (Fn.MatMul, xs) -> xs |> List.map (paren 4) |> String.concat " @ "
        | Call (Fn.Transpose, [ a ]) -> paren 7 a + "'"
        | Call (fn, xs) -> (Builtins.info fn).Name + "(" + (xs |> List.map txt |> String.concat ", ") + ")"

    /// Print `e` where the context needs at least precedence `level`.
    and private paren (level: int) (e: Expr) =
        let s = txt e
        if precedence e < level then "(" + s + ")" else s

    /// The expression in the language's own syntax.
    [<CompiledName "Text">]
    let text (e: Expr) : string = txt e

    // ---------------------------------------------------------------- LaTeX

    let private greek =
        set [ "alpha"; "beta"; "gamma"; "delta"; "epsilon"; "zeta"; "eta"; "theta"; "iota"; "kappa"
              "lambda"; "mu"; "nu"; "xi"; "pi"; "rho"; "sigma"; "tau"; "upsilon"; "phi"; "chi"; "psi"
              "omega"; "Gamma"; "Delta"; "Theta"; "Lambda"; "Xi"; "Pi"; "Sigma"; "Phi"; "Psi"; "Omega" ]

    /// theta0 → \theta_{0}, theta[1,2] → \theta_{1,2}, y_pre → y_{\mathrm{pre}}, xbar → \bar{x},
    /// ones_post → \mathbf{1}_{\mathrm{post}}, δW → \delta W.
    let rec latexName (name: string) : string =
        if name.StartsWith "δ" then @"\delta " + latexName (name.Substring 1)
        else
            let name, index =
                match name.IndexOf '[' with
                | -1 -> name, None
                | i -> name.Substring (0, i), Some ((name.Substring (i + 1)).TrimEnd ']')
            let stem, sub =
                match name.IndexOf '_' with
                | -1 -> name, None
                | i -> name.Substring (0, i), Some (name.Substring (i + 1))
            // trailing digits become a subscript: theta0 → θ_0
            let digits = stem |> Seq.rev |> Seq.takeWhile Char.IsDigit |> Seq.rev |> String.Concat
            let stem = stem.Substring (0, stem.Length - digits.Length)
            let core (s: string) =
                if s = "ones" then @"\mathbf{1}"
                elif greek.Contains s then "\\" + s
                elif s.EndsWith "bar" && s.Length > 3 then @"\bar{" + (let b = s.Substring (0, s.Length - 3) in if greek.Contains b then "\\" + b else b) + "}"
                elif s.Length = 1 then s
                else @"\mathrm{" + s + "}"
            let subs =
                [ (if digits <> "" then Some digits else None)
                  (sub |> Option.map (fun s -> if s.Length = 1 then s else @"\mathrm{" + s + "}"))
                  index ]
                |> List.choose id
            match subs with
            | [] -> core stem
            | ss -> core stem + "_{" + String.Join (",", ss) + "}"

    let rec private ltx (e: Expr) : string =
        match e with
        | Num x ->
            let s = number x
            match s.IndexOf 'E' with
            | -1 -> s
            | i -> s.Substring (0, i) + @" \cdot 10^{" + s.Substring(i + 1).TrimStart('+') + "}"
        | Sym s -> latexName s.Name
        | Add (first :: rest) ->
            ltx first
            + String.Concat (
                rest
                |> List.map (fun t ->
                    match negated t with
                    | Some p -> " - " + lparen 2 p
                    | None -> " + " + lparen 2 t)
            )
        | Add [] -> "0"
        | Mul xs ->
            match negated e with
            | Some p -> "-" + lparen 2 p
            | None ->
                let num, den = fraction xs
                let scalarFirst = num |> List.sortBy (fun f -> match Typing.check f with Ok Shape.Scalar -> 0 | _ -> 1)
                let body (fs: Expr list) =
                    match fs with
                    | [] -> "1"
                    | fs ->
                        // Scalars juxtapose; two non-scalars side by side are a Hadamard product.
                        let parts =
                            fs
                            |> List.map (fun f -> (match Typing.check f with Ok Shape.Scalar -> true | _ -> false), lparen 3 f)
                        parts
                        |> List.mapi (fun i (isScalar, s) ->
                            if i = 0 then s
                            elif not isScalar && not (fst parts.[i - 1]) then @" \odot " + s
                            else @" \, " + s)
                        |> String.Concat
                match den with
                | [] -> body scalarFirst
                | [ d ] -> @"\frac{" + body scalarFirst + "}{" + ltx d + "}"
                | den -> @"\frac{" + body scalarFirst + "}{" + body den + "}"
        | Pow (a, b) -> lparen 6 a + "^{" + ltx b + "}"
        | Call (Fn.MatMul, xs) -> xs |> List.map (lparen 3) |> String.concat @" \, "
        | Call (Fn.Transpose, [ a ]) -> lparen 7 a + @"^{\top}"
        | Call (Fn.Outer, [ a; b ]) -> lparen 7 a + @" \, " + lparen 7 b + @"^{\top}"
        | Call (Fn.Dot, [ a; b ]) -> @"\langle " + ltx a + ", " + ltx b + @" \rangle"
        | Call (Fn.SumAll, [ a ]) -> @"\textstyle\sum " + lparen 7 a
        | Call (Fn.Softplus, [ z; beta ]) -> @"\operatorname{softplus}_{" + ltx beta + @"}\left(" + ltx z + @"\right)"
        | Call (Fn.Clip, [ x; lo; hi ]) -> @"\operatorname{clip}_{[" + ltx lo + ", " + ltx hi + @"]}\left(" + ltx x + @"\right)"
        | Call (Fn.Between, [ x; lo; hi ]) -> @"\mathbb{1}_{(" + ltx lo + ", " + ltx hi + @")}\left(" + ltx x + @"\right)"
        | Call (fn, xs) -> (Builtins.info fn).LatexName + @"\left(" + (xs |> List.map ltx |> String.concat ", ") + @"\right)"

    /// In LaTeX an outer product is a juxtaposition a bᵀ, not an atom: it binds like a matrix product.
    and private lparen (level: int) (e: Expr) =
        let s = ltx e
        let p = match e with Call (Fn.Outer, _) -> 3 | e -> precedence e
        if p < level then @"\left(" + s + @"\right)" else s

    /// The expression as LaTeX math (no surrounding $…$).
    [<CompiledName "Latex">]
    let latex (e: Expr) : string = ltx e
