/// Name resolution, index expansion, settings, traces and the IR a checked rule becomes.
module CheckTests

open Xunit
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Semantics

let private checkMany (files: (string * string) list) (paths: string list) =
    Check.checkFiles (FileSystem.ofMap (Map.ofList files)) paths

let private clean (text: string) =
    let r = Check.checkText "t.rule" text
    Assert.True (r.Diagnostics.IsEmpty, Check.render r)
    r.Rules

let private one text = clean text |> List.exactlyOne

let private codes (text: string) = (Check.checkText "t.rule" text).Diagnostics |> List.map (fun d -> d.Code.Id)

[<Fact>]
let ``parameter families expand in declaration order, row-major, with their inits`` () =
    let r =
        one "rule r : recurrent\n  param a = 2\n  param theta[k in 0..1, l in 1..2] = 0.5\n  init theta[1,2] = -1\n  trace E' = a * sum(k in 0..1, l in 1..2, theta[k,l] * outer(x^l, r^k))\n  dW = E\n"
    Assert.Equal<string list> ([ "a"; "theta[0,1]"; "theta[0,2]"; "theta[1,1]"; "theta[1,2]" ], r.Params |> List.map (fun p -> p.Symbol.Name))
    Assert.Equal<float list> ([ 2.0; 0.5; 0.5; 0.5; -1.0 ], r.Params |> List.map (fun p -> p.Init))
    Assert.Equal<int list> ([ 1; 2 ], (r.Params |> List.last).Index)
    Assert.Equal ("theta", (r.Params |> List.last).Family)

[<Fact>]
let ``a parameter's meta step is 1 unless it says step s, and a family shares its step`` () =
    let r = one "rule r : feedforward\n  param a = 1e-3\n  param b = 0 step 0.01\n  param c[k in 0..1] = 0 step 1e-2 * 5\n  dW = (a + b + c[0] + c[1]) * outer(e_post, y_pre)\n"
    Assert.Equal<(string * float) list> ([ "a", 1.0; "b", 0.01; "c[0]", 0.05; "c[1]", 0.05 ], r.Params |> List.map (fun p -> p.Symbol.Name, p.Step))
    Assert.Equal<string list> ([ "RD0506" ], codes "rule r : feedforward\n  param b = 0 step 0\n  dW = b * outer(e_post, y_pre)\n")

[<Fact>]
let ``consts become numbers in the IR and are listed`` () =
    let r = one "rule r : recurrent\n  const eta = 2 * 1e-3\n  dW = eta * outer(x, r)\n"
    Assert.Equal (Mul [ Num 0.002; Call (Fn.Outer, [ Expr.sym "x" (Shape.Vector "post"); Expr.sym "r" (Shape.Vector "pre") ]) ], r.Update)
    Assert.Equal<string list> ([ "eta" ], r.Consts |> List.map (fun c -> c.Symbol.Name))

[<Fact>]
let ``index variables become numbers: x^0 stays a power for the simplifier`` () =
    let r = one "rule r : recurrent\n  param theta[k in 0..1] = 0\n  dW = sum(k in 0..1, theta[k] * outer(x^k, r))\n"
    let x = Expr.sym "x" (Shape.Vector "post")
    let r' = Expr.sym "r" (Shape.Vector "pre")
    let t k = Expr.scalar (sprintf "theta[%d]" k)
    Assert.Equal (Add [ Mul [ t 0; Call (Fn.Outer, [ Pow (x, Num 0.0); r' ]) ]; Mul [ t 1; Call (Fn.Outer, [ Pow (x, Num 1.0); r' ]) ] ], r.Update)

[<Fact>]
let ``sum with one argument is SumAll`` () =
    let r = one "rule r : feedforward\n  dW = sum(y_pre) * outer(e_post, y_pre)\n"
    match r.Update with
    | Mul [ Call (Fn.SumAll, [ Sym s ]); _ ] -> Assert.Equal ("y_pre", s.Name)
    | other -> failwithf "%A" other

[<Fact>]
let ``traces: E' = f steps by dt, E += f adds, and the inputs include dt`` () =
    let r = one "rule r : recurrent\n  trace E' = outer(x, r)\n  trace G += E\n  dW = G * R\n"
    let e = Expr.sym "E" (Shape.Matrix ("post", "pre"))
    let g = Expr.sym "G" (Shape.Matrix ("post", "pre"))
    let f = Call (Fn.Outer, [ Expr.sym "x" (Shape.Vector "post"); Expr.sym "r" (Shape.Vector "pre") ])
    match r.Traces with
    | [ te; tg ] ->
        Assert.Equal (Add [ e; Mul [ Expr.scalar "dt"; f ] ], te.Next)
        Assert.True te.Continuous
        Assert.Equal (Add [ g; e ], tg.Next)
        Assert.False tg.Continuous
    | other -> failwithf "%A" other
    Assert.Equal<string list> ([ "R"; "x"; "r"; "dt" ] |> List.sort, r.Inputs |> List.map (fun s -> s.Name) |> List.sort)
    Assert.Equal (Setting.Recurrent, r.Setting)

[<Fact>]
let ``feedforward traces: a post or pre vector or a post×pre matrix, E' = f stepping by one training step`` () =
    // BCM's sliding threshold reads itself: its shape (a post vector) is the one its right-hand side keeps.
    let r = one "rule r : feedforward\n  param tau = 20\n  trace m' = (y_post^2 - m) / tau\n  trace p += y_pre\n  trace E += outer(e_post, y_pre)\n  dW = outer(y_post * (y_post - m), p) + E\n"
    let m = Expr.sym "m" (Shape.Vector "post")
    Assert.Equal<Shape list> ([ Shape.Vector "post"; Shape.Vector "pre"; Shape.Matrix ("post", "pre") ], r.Traces |> List.map (fun t -> t.Symbol.Shape))
    // No dt in the feedforward setting: Next = m + rate.
    Assert.Equal (Add [ m; r.Traces.Head.Rate ], r.Traces.Head.Next)
    Assert.DoesNotContain ("dt", r.Inputs |> List.map (fun s -> s.Name))
    // Without a declared setting the variables decide; a trace is no evidence for either.
    Assert.Equal (Setting.Feedforward, (one "rule r\n  trace m += y_post - m\n  dW = outer(m, y_pre)\n").Setting)
    // A recurrent vector trace reading itself steps by dt.
    let rec' = one "rule r : recurrent\n  trace a' = x - a\n  dW = outer(a, r) * R\n"
    Assert.Equal (Shape.Vector "post", rec'.Traces.Head.Symbol.Shape)
    Assert.Contains ("dt", rec'.Inputs |> List.map (fun s -> s.Name))

[<Fact>]
let ``a trace of another shape is RD0302, in either setting`` () =
    Assert.Equal<string list> ([ "RD0302" ], codes "rule r : feedforward\n  trace m += sum(y_post)\n  dW = m * outer(e_post, y_pre)\n")
    Assert.Equal<string list> ([ "RD0302" ], codes "rule r : feedforward\n  trace m += outer(y_pre, y_post)\n  dW = outer(e_post, y_pre)\n")
    Assert.Equal<string list> ([ "RD0302" ], codes "rule r : recurrent\n  trace m += sum(x)\n  dW = m * outer(x, r)\n")

[<Fact>]
let ``the setting is inferred from the variables read`` () =
    Assert.Equal (Setting.Feedforward, (one "rule r\n  dW = outer(e_post, y_pre)\n").Setting)
    Assert.Equal (Setting.Recurrent, (one "rule r\n  dW = outer(x, r) * R\n").Setting)
    Assert.Equal<string list> ([ "RD0205" ], codes "rule r\n  dW = outer(e_post, y_pre) * R\n")

[<Fact>]
let ``a term read by a rule counts for its setting`` () =
    Assert.Equal<string list> ([ "RD0204" ], codes "term G = outer(x, r)\nrule r : feedforward\n  dW = G\n")

[<Fact>]
let ``includes are relative to the including file, each file loaded once`` () =
    let files =
        [ "rules/a.rule", "include \"lib/terms.rule\"\ninclude \"lib/more.rule\"\nrule a : feedforward\n  param t = 1\n  dW = t * (G + H)\n"
          "rules/lib/terms.rule", "term G = -outer(e_post, y_pre)\n"
          "rules/lib/more.rule", "include \"terms.rule\"\nterm H = 2 * G\n" ]
    let r = checkMany files [ "rules/a.rule" ]
    Assert.True (r.Diagnostics.IsEmpty, Check.render r)
    Assert.Equal<string list> ([ "rules/a.rule"; "rules/lib/terms.rule"; "rules/lib/more.rule" ], List.ofSeq r.Program.Order)
    let rule = r.Rules |> List.exactlyOne
    Assert.Equal<string list> ([ "G"; "H" ], rule.Terms |> List.map (fun t -> t.Name) |> List.sort)
    Assert.Equal ("rules/lib/terms.rule", (rule.Terms |> List.find (fun t -> t.Name = "G")).Loc.File)

[<Fact>]
let ``an absolute include is not joined to the including file's folder`` () =
    // A rule file in one folder including a shared terms file by its absolute path.
    let files =
        [ "/home/u/exp/mine.rule", "include \"/srv/rules/terms.rule\"\nrule a : feedforward\n  param t = 1\n  dW = t * G\n"
          "/srv/rules/terms.rule", "term G = -outer(e_post, y_pre)\n" ]
    let r = checkMany files [ "/home/u/exp/mine.rule" ]
    Assert.True (r.Diagnostics.IsEmpty, Check.render r)
    Assert.Equal<string list> ([ "/home/u/exp/mine.rule"; "/srv/rules/terms.rule" ], List.ofSeq r.Program.Order)

[<Fact>]
let ``term families over ranges, and local terms reading parameters`` () =
    let r = one "rule r : feedforward\n  param theta[k in 0..2] = 0\n  term P[k in 0..2] = theta[k] * y_post^k\n  dW = outer(sum(k in 0..2, P[k]), y_pre)\n"
    Assert.Equal (3, r.Terms.Length)
    Assert.Equal<string list> ([ "P[0]"; "P[1]"; "P[2]" ], r.Terms |> List.map (fun t -> t.Name))

[<Fact>]
let ``a shape error inside a term used by dW points into the term with the fix`` () =
    let res = Check.checkText "t.rule" "term F[0] = -outer(e_post, y_pre)\nterm F[1] = -outer(e_pre, e_post)\nrule p : feedforward\n  param theta[r in 0..1] = 0\n  dW = sum(r in 0..1, theta[r] * F[r])\n"
    match res.Diagnostics with
    | [ d ] ->
        Assert.Equal ("RD0301", d.Code.Id)
        Assert.Equal ({ Line = 2; Col = 20 }, d.Range.Value.Start)
        Assert.Equal (Some "did you mean outer(e_post, e_pre)?", d.Hint)
    | ds -> failwithf "%s" (Check.render res)

[<Fact>]
let ``warnings do not stop a rule; errors do`` () =
    let r = Check.checkText "t.rule" "rule a : feedforward\n  param t = 1\n  param u = 1\n  dW = t * W\nrule b : feedforward\n  dW = y_pre\n"
    Assert.Equal<string list> ([ "RD0901"; "RD0301" ], r.Diagnostics |> List.map (fun d -> d.Code.Id))
    Assert.Equal<string list> ([ "a" ], r.Rules |> List.map (fun x -> x.Name))

[<Fact>]
let ``every rule and term element is checked: all errors of a file in one run`` () =
    let c = codes "rule a : feedforward\n  dW = y_pre\nrule b : feedforward\n  dW = foo\nrule c : recurrent\n  dW = outer(x, x)\n"
    Assert.Equal<string list> ([ "RD0301"; "RD0201"; "RD0301" ], c)

/// An undeclared coefficient beside a declared one is a new coefficient, not a typo of the old one.
[<Fact>]
let ``an undeclared theta asks to be declared; other misspellings keep did you mean`` () =
    let hints (text: string) = (Check.checkText "t.rule" text).Diagnostics |> List.map (fun d -> d.Code.Id, d.Message, d.Hint)
    Assert.Equal<(string * string * string option) list> (
        [ "RD0201", "unknown name theta1", Some "declare it: param theta1 = <initial value>" ],
        hints "rule r : feedforward\n  param theta0 = 1e-3\n  dW = theta0 * outer(e_post, y_pre) + theta1 * outer(e_post, e_pre)\n")
    Assert.Equal<(string * string * string option) list> (
        [ "RD0201", "unknown parameter theta1", Some "declare it: param theta1 = <initial value>" ],
        hints "rule r : feedforward\n  param theta0 = 1e-3\n  init theta1 = 2\n  dW = theta0 * outer(e_post, y_pre)\n")
    Assert.Equal<(string * string * string option) list> (
        [ "RD0201", "unknown name eta2", Some "did you mean eta1?" ],
        hints "rule r : feedforward\n  const eta1 = 1e-3\n  dW = eta2 * outer(e_post, y_pre)\n")

[<Fact>]
let ``a parameter or trace named like a quantity the engine binds for its setting is refused, at its name`` () =
    // A trace `u` in a recurrent rule would be bound to the task's input u (and crash on its size).
    let r = Check.checkText "t.rule" "rule r : recurrent\n  param eta = 0.1\n  trace u' = outer(x, r)\n  dW = eta * u\n"
    let d = r.Diagnostics |> List.find (fun d -> d.Code = Codes.ReservedName)
    Assert.Equal (3, d.Range.Value.Start.Line)
    Assert.Contains ("engine binds for the recurrent network", d.Message)
    Assert.Contains (Codes.ReservedName.Id, codes "rule f : feedforward\n  param target = 0.1\n  dW = target * outer(e_post, y_pre)\n")
    // The same names are free in the other setting.
    Assert.Empty (codes "rule f : feedforward\n  param u = 0.1\n  dW = u * outer(e_post, y_pre)\n")

[<Fact>]
let ``the engine's names are every name a model may read that is not a rule's variable`` () =
    for setting in [ Setting.Feedforward; Setting.Recurrent ] do
        let modelNames = ModelFile.variables.[setting] |> Map.toList |> List.map fst |> Set.ofList
        let ruleNames = Variables.ofSetting setting |> List.map (fun v -> v.Name) |> Set.ofList
        let missing = Set.difference (Set.difference modelNames ruleNames) (Variables.engineNames setting)
        Assert.True (missing.IsEmpty, sprintf "%A: model names missing from Variables.engineNames: %A" setting missing)
