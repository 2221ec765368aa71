/// The shipped rules: they check, their derivatives verify, and the derived forms read as in the papers.
module RulesTests

open System
open System.IO
open System.Text.Json
open Xunit
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Semantics
open RuleDsl.Cli
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
    Assert.Equal<string list> ([ "bcm"; "bio"; "bio_scaled"; "ehebb"; "ehebb"; "f0"; "fa"; "miconi"; "miconi_anneal"; "miconi_family"; "miconi_pruned"; "neo_hebbian"; "neo_hebbian4"; "neo_hebbian4_scaled"; "oja"; "oja_bounded"; "oja_from_fa"; "oja_scaled"; "oja_units"; "pool"; "pool_precond"; "pool_scaled"; "pool_units" ], names)
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
            match ExprText.parse table text with
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

/// `eval` reads every shipped rule at a generated point, and what it prints is what the rule means:
/// the update by direct evaluation of the rule as written, its partials and differential by central
/// differences. The simplifier's ones_<dim> (x^0 in the polynomial rules) come from the sizes.
[<Fact>]
let ``eval works on every shipped rule and agrees with direct evaluation`` () =
    let dims = Map [ "post", 3; "pre", 2 ]
    let number (x: float) = x.ToString ("R", Globalization.CultureInfo.InvariantCulture)
    let json (v: Value) =
        match v with
        | Value.Scalar x -> number x
        | Value.Vector a -> "[" + String.Join (", ", a |> Array.map number) + "]"
        | Value.Matrix m ->
            "[" + String.Join (", ", [ for i in 0 .. Array2D.length1 m - 1 -> "[" + String.Join (", ", [ for j in 0 .. Array2D.length2 m - 1 -> number m.[i, j] ]) + "]" ]) + "]"
    let rec read (e: JsonElement) =
        match e.ValueKind with
        | JsonValueKind.Number -> Value.Scalar (e.GetDouble ())
        | _ when e.GetArrayLength () > 0 && e.[0].ValueKind = JsonValueKind.Array ->
            let rows = [| for r in e.EnumerateArray () -> [| for x in r.EnumerateArray () -> x.GetDouble () |] |]
            Value.Matrix (Array2D.init rows.Length rows.[0].Length (fun i j -> rows.[i].[j]))
        | _ -> Value.Vector [| for x in e.EnumerateArray () -> x.GetDouble () |]
    for r in checkedRules.Value.Rules do
        let rng = Random (Verify.seedOf (r.File + "/" + r.Name))
        // Vectors of ones (pool's F[4] reads ones_post) are left to the reader.
        let given =
            (r.Inputs |> List.filter (fun s -> (Expr.onesDim s).IsNone)) @ (r.Traces |> List.map (fun t -> t.Symbol)) @ (r.Params |> List.map (fun p -> p.Symbol))
        let wrt = Tangents.state r
        let values = given |> List.map (fun s -> s.Name, Verify.randomValue rng dims s.Shape 0.2 1.2) |> Map.ofList
        let direction = wrt |> List.map (fun s -> s.Name, Verify.randomValue rng dims s.Shape -1.0 1.0) |> Map.ofList
        let text =
            "{ " + String.Join (",\n  ", [ for KeyValue (n, v) in values -> sprintf "\"%s\": %s" n (json v) ]
                                         @ [ for KeyValue (n, v) in direction -> sprintf "\"δ%s\": %s" n (json v) ]) + " }"
        let pointFs = { fs with Read = fun p -> if p = "point.json" then Some text else fs.Read p }
        let code, out, err = run (fun out err -> LanguageCommands.Eval (pointFs, out, err, r.File, r.Name, "point.json"))
        Assert.True ((code = 0 && err = ""), sprintf "eval %s --rule %s: exit %d\n%s" r.File r.Name code err)
        use doc = JsonDocument.Parse out
        let full = values |> Map.add "ones_post" (Value.Vector (Array.create 3 1.0)) |> Map.add "ones_pre" (Value.Vector (Array.create 2 1.0))
        let at (point: Map<string, Value>) (e: Expr) = Eval.evalNamed point e
        let close (what: string) (expected: Value) (actual: Value) (tol: float) =
            let e = Verify.relError expected actual
            Assert.True (e <= tol, sprintf "%s %s: eval prints %A, expected %A (relative error %g)" r.Name what actual expected e)
        let section (name: string) (expr: Expr) (s: JsonElement) =
            close (name + " value") (at full expr) (read (s.GetProperty "value")) 1e-12
            for p in r.Params do
                let theta = match full.[p.Symbol.Name] with Value.Scalar x -> x | _ -> 0.0
                let h = 1e-5 * max 1.0 (abs theta)
                let moved t = at (full.Add (p.Symbol.Name, Value.Scalar (theta + t))) expr
                let numeric = Value.map (fun v -> (v.[0] - v.[1]) / (2.0 * h)) [ moved h; moved -h ]
                close (sprintf "∂%s/∂%s" name p.Symbol.Name) numeric (read (s.GetProperty("partials").GetProperty p.Symbol.Name)) 1e-6
            if not wrt.IsEmpty then
                let h = 1e-6
                let moved t = wrt |> List.fold (fun (m: Map<string, Value>) s -> m.Add (s.Name, Value.map (fun v -> v.[0] + t * v.[1]) [ m.[s.Name]; direction.[s.Name] ])) full
                let numeric = Value.map (fun v -> (v.[0] - v.[1]) / (2.0 * h)) [ at (moved h) expr; at (moved -h) expr ]
                close (sprintf "δ(%s)" name) numeric (read (s.GetProperty "differential")) 1e-6
        section "ΔW" r.Update (doc.RootElement.GetProperty "update")
        for t in r.Traces do
            section t.Symbol.Name t.Next (doc.RootElement.GetProperty("traces").GetProperty t.Symbol.Name)

/// A rule file and a point held in memory beside the shipped files.
let private evalText (ruleText: string) (pointText: string) =
    let memFs = { fs with Read = fun p -> match p with "p.rule" -> Some ruleText | "p.json" -> Some pointText | p -> fs.Read p }
    run (fun out err -> LanguageCommands.Eval (memFs, out, err, "p.rule", null, "p.json"))

[<Fact>]
let ``eval of x^0: ones_post comes from the sizes, and a given one must fit them`` () =
    let rule = "rule p : feedforward\n  param a = 1\n  dW = a * outer(y_post^0, y_pre)\n"
    let code, out, err = evalText rule """{ "y_post": [1, 2], "y_pre": [3, 4, 5] }"""
    Assert.Equal ("", err)
    Assert.Equal (0, code)
    use doc = JsonDocument.Parse out
    Assert.Equal ("[[3,4,5],[3,4,5]]", doc.RootElement.GetProperty("update").GetProperty("partials").GetProperty("a").GetRawText().Replace(" ", "").Replace("\n", ""))
    let code, _, err = evalText rule """{ "y_post": [1, 2], "y_pre": [3, 4, 5], "ones_post": [1, 1] }"""
    Assert.Equal ("", err)
    Assert.Equal (0, code)
    let code, _, err = evalText rule """{ "y_post": [1, 2], "y_pre": [3, 4, 5], "ones_post": [1, 1, 1] }"""
    Assert.Equal (2, code)
    Assert.Contains ("p.json:1:54: error RD0602: ones_post has 3 entries, but post has 2 (from y_post)", err)
    let code, _, err = evalText rule """{ "y_post": [1, 2], "y_pre": [3, 4, 5], "ones_post": [1, 2] }"""
    Assert.Equal (2, code)
    Assert.Contains ("error RD0602: ones_post must be a vector of ones", err)

[<Fact>]
let ``eval reads dX as the ASCII spelling of the tangent δX`` () =
    let rule = "rule p : recurrent\n  param a = 1\n  dW = a * R * outer(x, r)\n"
    let point (key: string) = sprintf """{ "x": [1, 2], "r": [3, 4], "R": 0.5, "%s": 2 }""" key
    let code, ascii, err = evalText rule (point "dR")
    Assert.Equal ("", err)
    Assert.Equal (0, code)
    let _, greek, _ = evalText rule (point "δR")
    Assert.Equal (greek, ascii)
    use doc = JsonDocument.Parse ascii
    let rows = [ for row in doc.RootElement.GetProperty("update").GetProperty("differential").EnumerateArray () -> [ for v in row.EnumerateArray () -> v.GetDouble () ] ]
    Assert.Equal<float list list> ([ [ 6.0; 8.0 ]; [ 12.0; 16.0 ] ], rows)

/// A failed check (exit 1) names the rule and the line it checks, and why when a value is not finite.
[<Fact>]
let ``a failed check names the rule and its line`` () =
    let text = "include \"terms.rule\"\nrule r : feedforward\n  param theta0 = 1e-3\n  param theta2 = 0\n  dW = theta0 * F[0] ^ theta2 * F[2]\n"
    let memFs = { fs with Read = fun p -> match p with "rules/p.rule" -> Some text | p -> fs.Read p }
    let code, out, _ = run (fun out err -> LanguageCommands.CheckFiles (memFs, out, err, [| "rules/p.rule" |], false))
    Assert.Equal (1, code)
    Assert.Contains ("rules/p.rule:5:3: FAIL: rule r, ∂ΔW/∂theta0 (a value is not finite at the check point", out)
