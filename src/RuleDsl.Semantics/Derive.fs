namespace RuleDsl.Semantics

open System
open System.Text
open RuleDsl.Symbolic

/// A derived equation: `Target` differentiated (by a parameter, or forward along all tangents),
/// simplified, with the rule line it came from.
type Equation =
    { /// "ΔW" or a trace's next value "E_next".
      Target: string
      /// Some θ for ∂Target/∂θ; None for the forward differential δ(Target).
      Wrt: Symbol option
      Expr: Expr
      From: SourceLoc }

type Derivation =
    { Rule: Rule
      /// ∂ΔW/∂θ, δ(ΔW), then for each trace ∂E_next/∂θ and δE_next.
      Equations: Equation list }

/// The tangent equations of a rule, as `ruledsl derive` prints them.
module Derive =
    [<CompiledName "Derive">]
    let derive (rule: Rule) : Derivation =
        let wrt = Tangents.state rule
        let forTarget (name: string) (expr: Expr) (from: SourceLoc) =
            [ for p in rule.Params -> { Target = name; Wrt = Some p.Symbol; Expr = Differentiate.partial p.Symbol expr; From = from }
              if not wrt.IsEmpty then
                  yield { Target = name; Wrt = None; Expr = Differentiate.differential wrt expr; From = from } ]
        { Rule = rule
          Equations =
            forTarget "ΔW" rule.Update rule.UpdateLoc
            @ (rule.Traces |> List.collect (fun t -> forTarget (t.Symbol.Name + "_next") t.Next t.Loc)) }

    let private num (x: float) = Print.text (Num x)

    /// " step s" when a parameter's meta step is not 1 (a family shares one).
    let private stepOf (s: float) = if s = 1.0 then "" else " step " + num s
    let private clauses (p: Param) =
        stepOf p.Step
        + (if Double.IsNegativeInfinity p.Min then "" else " min " + num p.Min)
        + (if Double.IsPositiveInfinity p.Max then "" else " max " + num p.Max)

    /// Parameters grouped by family: "theta[0..9] = 0" plus the elements that differ.
    let private paramLines (rule: Rule) : (string * string) list =
        rule.Params
        |> List.groupBy (fun p -> p.Family)
        |> List.collect (fun (family, ps) ->
            match ps with
            | [ p ] when p.Index.IsEmpty -> [ sprintf "param %s = %s%s" p.Symbol.Name (num p.Init) (clauses p), p.Symbol.Name ]
            | ps ->
                let axes = ps.Head.Index.Length
                let ranges =
                    [ for a in 0 .. axes - 1 ->
                          let ks = ps |> List.map (fun p -> p.Index.[a])
                          sprintf "%d..%d" (List.min ks) (List.max ks) ]
                let common = ps |> List.countBy (fun p -> p.Init) |> List.maxBy snd |> fst
                (sprintf "param %s[%s] = %s%s" family (String.Join (", ", ranges)) (num common) (clauses ps.Head), family)
                :: [ for p in ps do
                         if p.Init <> common then yield sprintf "init %s = %s" p.Symbol.Name (num p.Init), p.Symbol.Name ])

    let private zeroNote (zeros: Equation list) (all: int) =
        let names = zeros |> List.map (fun e -> e.Wrt.Value.Name)
        if names.Length = all && all > 1 then sprintf "for all %d parameters" all
        else String.Join (", ", names)

    let private isZero (e: Equation) = Expr.isZero e.Expr

    /// Plain text: the rule as checked, then every derived equation with its origin.
    [<CompiledName "RenderText">]
    let renderText (d: Derivation) : string =
        let r = d.Rule
        let sb = StringBuilder ()
        let line (s: string) = sb.Append(s).Append('\n') |> ignore
        let from (loc: SourceLoc) = sprintf "  # from %O" loc
        line (sprintf "rule %s : %s  # %O" r.Name (Variables.settingName r.Setting) r.Loc)
        for (l, _) in paramLines r do line ("  " + l)
        for c in r.Consts do line (sprintf "  const %s = %s" c.Symbol.Name (num c.Value))
        for t in r.Terms do line (sprintf "  term %s = %s  # %O" t.Name (Print.text (Simplify.simplify t.Body)) t.Loc)
        for t in r.Traces do
            let op = if t.Continuous then "' =" else " +="
            line (sprintf "  trace %s%s %s  # %O" t.Symbol.Name op (Print.text (Simplify.simplify t.Rate)) t.Loc)
        line (sprintf "  dW = %s  # %O" (Print.text (Simplify.simplify r.Update)) r.UpdateLoc)
        for t in r.Traces do
            line (sprintf "  %s_next = %s  # %O" t.Symbol.Name (Print.text (Simplify.simplify t.Next)) t.Loc)
        let groups = d.Equations |> List.groupBy (fun e -> e.Target)
        for (target, eqs) in groups do
            let partials = eqs |> List.filter (fun e -> e.Wrt.IsSome)
            let nonzero, zeros = partials |> List.partition (isZero >> not)
            if not partials.IsEmpty then
                line ""
                line (sprintf "derivatives of %s with respect to the parameters" target)
                for e in nonzero do
                    line (sprintf "  ∂%s/∂%s = %s%s" target e.Wrt.Value.Name (Print.text e.Expr) (from e.From))
                if not zeros.IsEmpty then
                    line (sprintf "  ∂%s/∂θ = 0 %s%s" target (zeroNote zeros partials.Length) (from zeros.Head.From))
            for e in eqs |> List.filter (fun e -> e.Wrt.IsNone) do
                line ""
                line (sprintf "tangent equation of %s (forward differential; δX is the tangent of X)" target)
                let lhs = if target = "ΔW" then "δ(ΔW)" else "δ" + target
                line (sprintf "  %s = %s%s" lhs (Print.text e.Expr) (from e.From))
        sb.ToString ()

    let private latexText (s: string) = s.Replace("\\", "\\textbackslash{}").Replace("_", "\\_").Replace("#", "\\#")

    let private latexTarget (target: string) =
        if target = "ΔW" then @"\Delta W"
        else Print.latexName (target.Substring (0, target.Length - 5)) + @"_{\mathrm{next}}"

    /// LaTeX: one align* environment per rule, each line tagged with its origin.
    [<CompiledName "RenderLatex">]
    let renderLatex (d: Derivation) : string =
        let r = d.Rule
        let lines = Collections.Generic.List<string> ()
        let eq (lhs: string) (rhs: string) (loc: SourceLoc) =
            lines.Add (sprintf @"%s &= %s && \text{from %s}" lhs rhs (latexText (string loc)))
        for t in r.Traces do
            eq (latexTarget (t.Symbol.Name + "_next")) (Print.latex (Simplify.simplify t.Next)) t.Loc
        eq @"\Delta W" (Print.latex (Simplify.simplify r.Update)) r.UpdateLoc
        for e in d.Equations do
            if not (e.Wrt.IsSome && isZero e) then
                let target = latexTarget e.Target
                let lhs =
                    match e.Wrt with
                    | Some p -> sprintf @"\frac{\partial %s}{\partial %s}" target (Print.latexName p.Name)
                    | None -> if e.Target = "ΔW" then @"\delta(\Delta W)" else @"\delta " + target
                eq lhs (Print.latex e.Expr) e.From
        let sb = StringBuilder ()
        sb.AppendFormat("% rule {0} ({1}), {2}\n", r.Name, Variables.settingName r.Setting, r.Loc) |> ignore
        sb.Append(@"\begin{align*}").Append('\n') |> ignore
        sb.Append(String.Join (" \\\\\n", lines)).Append('\n') |> ignore
        sb.Append(@"\end{align*}").Append('\n') |> ignore
        sb.ToString ()
