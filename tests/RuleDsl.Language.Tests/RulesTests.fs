/// The shipped rules: they check, their derivatives verify, and the derived forms read as in the papers.
module RulesTests

open System
open System.IO
open System.Text.Json
open Xunit
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Semantics
open TestSupport

let ruleFiles =
    Directory.GetFiles (Path.Combine (repoRoot, "rules"), "*.rule") |> Array.sort |> Array.map (fun p -> "rules/" + Path.GetFileName p) |> List.ofArray

let private checkedRules = lazy (Check.checkFiles fs ruleFiles)

let private rule name = checkedRules.Value.Rules |> List.find (fun r -> r.Name = name)

[<Fact>]
let ``ruledsl check rules/*.rule passes`` () =
    let code, out, err = runArgs ("check" :: ruleFiles)
    Assert.Equal ("", err)
    Assert.Equal (0, code)
    Assert.Contains ("all passed", out)

[<Fact>]
let ``ruledsl check takes experiment files beside rule files`` () =
    let files = [ "examples/miconi_pruned_perceptual.experiment"; "rules/fa.rule" ]
    let code, out, err = runArgs ("check" :: files)
    Assert.Equal ("", err)
    Assert.Equal (0, code)
    Assert.Contains ("experiment miconi_pruned_perceptual: recurrent rule miconi_pruned with 2 parameters", out)
    Assert.Contains ("all passed", out)
    // --json: stdout is the JSON table alone, the experiment's summary goes to stderr
    let code, out, err = runArgs ("check" :: "--json" :: files)
    Assert.Equal (0, code)
    use doc = JsonDocument.Parse out
    Assert.Contains ("experiment miconi_pruned_perceptual", err)
    // a bad experiment is an input error (2) even when the rule files pass
    let code, _, err = runArgs [ "check"; "tests/bad/experiment_bad_value.experiment"; "rules/fa.rule" ]
    Assert.Equal (2, code)
    Assert.Contains ("tests/bad/experiment_bad_value.experiment:", err)

[<Fact>]
let ``every shipped rule checks clean and every derivative verifies`` () =
    let r = checkedRules.Value
    Assert.True (r.Diagnostics.IsEmpty, Check.render r)
    let names = r.Rules |> List.map (fun x -> x.Name) |> List.sort
    // table1.rule: f0 and its own ehebb; scaled.rule: the preconditioned paper rules
    Assert.Equal<string list> ([ "bio"; "bio_scaled"; "ehebb"; "ehebb"; "f0"; "fa"; "miconi"; "miconi_anneal"; "miconi_family"; "miconi_pruned"; "neo_hebbian"; "neo_hebbian4"; "neo_hebbian4_scaled"; "oja"; "oja_bounded"; "oja_from_fa"; "oja_scaled"; "oja_units"; "pool"; "pool_precond"; "pool_scaled"; "pool_units" ], names)
    for rule in r.Rules do
        let rows = Verify.verifyRule rule
        // simplify check, one row per parameter, and the differential, per target
        Assert.Equal ((1 + rule.Traces.Length) * (2 + rule.Params.Length), rows.Length)
        for row in rows do
            Assert.True (row.Passed, sprintf "%s %s: relative error %g" row.Rule row.Target row.RelError)

[<Fact>]
let ``a wrong derivative fails the check`` () =
    let bio = rule "bio"
    let wrongPartial (p: Symbol) (e: Expr) = Simplify.simplify (Mul [ Num 1.01; Differentiate.partial p e ])
    let rows = Verify.verifyWith wrongPartial Differentiate.differential bio
    Assert.All (rows |> List.filter (fun r -> r.Target.StartsWith "∂"), fun r -> Assert.False r.Passed)
    // a differential that forgets the weight's tangent
    let forgetW (wrt: Symbol list) (e: Expr) = Differentiate.differential (wrt |> List.filter (fun s -> s.Name <> "W")) e
    let rows = Verify.verifyWith Differentiate.partial forgetW bio
    Assert.False ((rows |> List.find (fun r -> r.Target = "δ(ΔW)")).Passed)

[<Fact>]
let ``the pool has the ten terms of section 4.2, theta[0] starting at 1e-3`` () =
    let pool = rule "pool"
    Assert.Equal<string list> ([ for r in 0..9 -> sprintf "theta[%d]" r ], pool.Params |> List.map (fun p -> p.Symbol.Name))
    Assert.Equal<float list> (0.001 :: List.replicate 9 0.0, pool.Params |> List.map (fun p -> p.Init))
    let d = Derive.derive pool
    let partial (r: int) = d.Equations |> List.find (fun e -> e.Wrt.IsSome && e.Wrt.Value.Name = sprintf "theta[%d]" r) |> fun e -> Print.text e.Expr
    Assert.Equal ("-outer(e_post, y_pre)", partial 0)
    Assert.Equal ("-outer(y_post, e_pre)", partial 1)
    Assert.Equal ("-outer(e_post, e_pre)", partial 2)
    Assert.Equal ("-W", partial 3)
    Assert.Equal ("-outer(ones_post, e_pre)", partial 4)
    Assert.Equal ("-outer(e_post, ones_post) @ outer(y_post, y_pre)", partial 5)
    Assert.Equal ("-outer(y_post, y_post) @ W @ outer(e_pre, e_pre)", partial 6)
    Assert.Equal ("-outer(e_post, y_post) @ W @ outer(e_pre, y_pre)", partial 7)
    Assert.Equal ("-outer(y_post, y_pre) @ W' @ outer(e_post, e_pre)", partial 8)
    Assert.Equal ("outer(y_post, y_pre) - outer(y_post, y_post) @ W", partial 9)

[<Fact>]
let ``derive prints bio's partials and its tangent equation with their origin`` () =
    let code, out, err = runArgs [ "derive"; "rules/bio.rule" ]
    Assert.Equal (0, code)
    Assert.Equal ("", err)
    Assert.Contains ("  ∂ΔW/∂theta0 = -outer(e_post, y_pre)  # from rules/bio.rule:9:3", out)
    Assert.Contains ("  ∂ΔW/∂theta2 = -outer(e_post, e_pre)  # from rules/bio.rule:9:3", out)
    Assert.Contains ("  ∂ΔW/∂theta9 = outer(y_post, y_pre) - outer(y_post, y_post) @ W  # from rules/bio.rule:9:3", out)
    Assert.Contains ("  term F[0] = -outer(e_post, y_pre)  # rules/terms.rule:6:6", out)
    Assert.Contains ("δ(ΔW) = ", out)
    Assert.Contains ("outer(y_post, y_post) @ δW", out)

[<Fact>]
let ``derive of fa: the tangent equation of the pseudo-gradient rule`` () =
    let d = Derive.derive (rule "fa")
    let delta = d.Equations |> List.find (fun e -> e.Wrt.IsNone)
    Assert.Equal ("theta0 * (-outer(e_post, δy_pre) - outer(δe_post, y_pre))", Print.text delta.Expr)

[<Fact>]
let ``derive of the neo-Hebbian rule: trace tangents in terms of δE, δx, δxbar, δr`` () =
    let d = Derive.derive (rule "neo_hebbian")
    let e = d.Equations |> List.filter (fun e -> e.Target = "E_next")
    let p11 = e |> List.find (fun e -> e.Wrt.IsSome && e.Wrt.Value.Name = "theta[1,1]")
    Assert.Equal ("dt * outer(-x + xbar, r)", Print.text p11.Expr)
    let delta = e |> List.find (fun e -> e.Wrt.IsNone)
    Assert.StartsWith ("δE + dt * (", Print.text delta.Expr)
    Assert.Equal ("rules/neo_hebbian.rule", delta.From.File)
    // ΔW reads θ only through E
    Assert.All (d.Equations |> List.filter (fun e -> e.Target = "ΔW" && e.Wrt.IsSome), fun e -> Assert.Equal (Num 0.0, e.Expr))

[<Fact>]
let ``neo_hebbian4 starts at Miconi's point`` () =
    let r = rule "neo_hebbian4"
    Assert.Equal (16, r.Params.Length)
    Assert.Equal<string list> ([ "theta[3,3]" ], r.Params |> List.filter (fun p -> p.Init <> 0.0) |> List.map (fun p -> p.Symbol.Name))
    Assert.Equal (-1.0, (r.Params |> List.find (fun p -> p.Symbol.Name = "theta[3,3]")).Init)

[<Fact>]
let ``derive --latex writes one align environment`` () =
    let code, out, _ = runArgs [ "derive"; "rules/oja.rule"; "--latex" ]
    Assert.Equal (0, code)
    Assert.Contains (@"\begin{align*}", out)
    Assert.Contains (@"\frac{\partial \Delta W}{\partial \theta_{9}} &= ", out)
    Assert.Contains (@"\text{from rules/oja.rule:8:3}", out)
    Assert.Contains (@"\end{align*}", out)

[<Fact>]
let ``printed derivatives parse back to the same values`` () =
    // The printer writes what the parser reads: check it on every derived equation of every rule.
    let rng = Random 7
    let dims = Map [ "post", 3; "pre", 4 ]
    for r in checkedRules.Value.Rules do
        let d = Derive.derive r
        let syms =
            (r.Inputs @ (r.Traces |> List.map (fun t -> t.Symbol)) @ (r.Params |> List.map (fun p -> p.Symbol)))
            |> List.collect (fun s -> [ s; Differentiate.tangentSymbol s ])
            // the simplifier writes a constant vector as c · ones_<dim>
            |> List.append [ { Name = "ones_post"; Shape = Shape.Vector "post" }; { Name = "ones_pre"; Shape = Shape.Vector "pre" } ]
        let table = syms |> List.map (fun s -> s.Name, s) |> Map.ofList
        let values = syms |> List.map (fun s -> s.Name, Verify.randomValue rng dims s.Shape 0.2 1.2) |> Map.ofList
        for e in d.Equations do
            let text = Print.text e.Expr
            match Parser.parseExpression table text with
            | Ok parsed ->
                let err = Verify.relError (Eval.evalNamed values parsed) (Eval.evalNamed values e.Expr)
                Assert.True (err < 1e-12, sprintf "%s: %s reparses to a different value (%g)" r.Name text err)
            | Error ds -> failwithf "%s: cannot parse %s: %A" r.Name text (ds |> List.map (fun d -> d.Message))

[<Fact>]
let ``eval gives the update and its derivatives at a point`` () =
    let point = Path.Combine (Path.GetTempPath (), sprintf "ruledsl-point-%d.json" (Environment.ProcessId))
    File.WriteAllText (point, """{ "e_post": [1, -2], "y_pre": [0.5, 1, 2], "theta0": 0.1, "δy_pre": [1, 0, 0] }""")
    try
        let code, out, err = runArgs [ "eval"; "rules/fa.rule"; "--at"; point ]
        Assert.Equal ("", err)
        Assert.Equal (0, code)
        use doc = JsonDocument.Parse out
        let root = doc.RootElement
        let matrix (e: JsonElement) = [ for row in e.EnumerateArray () -> [ for x in row.EnumerateArray () -> x.GetDouble () ] ]
        let u = root.GetProperty "update"
        // ΔW = −θ0 e_post y_preᵀ
        Assert.Equal<float list list> ([ [ -0.05; -0.1; -0.2 ]; [ 0.1; 0.2; 0.4 ] ], matrix (u.GetProperty "value"))
        Assert.Equal<float list list> ([ [ -0.5; -1.0; -2.0 ]; [ 1.0; 2.0; 4.0 ] ], matrix (u.GetProperty("partials").GetProperty "theta0"))
        // δ(ΔW) = −θ0 e_post δy_preᵀ (other tangents zero)
        Assert.Equal<float list list> ([ [ -0.1; 0.0; 0.0 ]; [ 0.2; 0.0; 0.0 ] ], matrix (u.GetProperty "differential"))
        Assert.Equal (2, root.GetProperty("dims").GetProperty("post").GetInt32 ())
    finally
        File.Delete point

[<Fact>]
let ``vars lists every variable with its shape`` () =
    let code, out, _ = runArgs [ "vars" ]
    Assert.Equal (0, code)
    for v in Variables.all do
        Assert.Contains (v.Name, out)
    Assert.Contains ("post×pre matrix", out)

[<Fact>]
let ``check --json prints the same table as JSON`` () =
    let code, out, _ = runArgs [ "check"; "rules/bio.rule"; "rules/miconi.rule"; "--json" ]
    Assert.Equal (0, code)
    use doc = JsonDocument.Parse out
    let root = doc.RootElement
    Assert.True (root.GetProperty("passed").GetBoolean ())
    let checks = [ for c in root.GetProperty("checks").EnumerateArray () -> string (c.GetProperty("rule").GetString ()), string (c.GetProperty("differentiated").GetString ()) ]
    Assert.Contains (("bio", "∂ΔW/∂theta9"), checks)
    Assert.Contains (("miconi", "δ(E_next)"), checks)
    // Miconi's clip is checked where it is not saturated (else its derivative is 0 on both sides)
    Assert.Contains (("miconi", "δ(ΔW)"), checks)

[<Fact>]
let ``a discovered rule may drop only the linear coefficients of its terms`` () =
    let coefficients (e: Expr) (r: Rule) = RuleOf.coefficientTerms r e |> List.map (fun (s, t) -> s.Name, Print.text (Simplify.simplify t))
    // A threshold (theta1) is no coefficient; the rate (theta0) multiplies the whole update.
    let bcm =
        (Check.checkText "bcm.rule" "rule bcm : feedforward\n  param theta0 = 1e-3\n  param theta1 = 0.5\n  dW = theta0 * outer(y_post * (y_post - theta1), y_pre)\n").Rules.Head
    Assert.Equal<(string * string) list> ([ "theta0", Print.text (Simplify.simplify bcm.Update) ], coefficients bcm.Update bcm)
    // A coefficient inside a scaled sum (pool_units: 0.01 * (θ3 F3 + Σ θr Fr)) is one; θ in an exponent is not.
    let units = rule "pool_units"
    Assert.Equal (10, (coefficients units.Update units).Length)
    Assert.Contains (("theta[3]", "-0.01 * W * theta[3]"), coefficients units.Update units)
    let anneal = rule "miconi_anneal"
    Assert.Equal<string list> ([ "theta33"; "theta13" ], coefficients (anneal.Traces.Head.Rate) anneal |> List.map fst)
    Assert.Empty (coefficients anneal.Update anneal)
