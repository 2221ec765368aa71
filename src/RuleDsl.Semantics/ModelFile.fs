namespace RuleDsl.Semantics

open System
open System.IO
open RuleDsl.Symbolic
open RuleDsl.Syntax

/// A network read from a `.model` file: the equations of one of the two settings.
type LoadedModel =
    | FeedforwardNet of FeedforwardModel
    | RecurrentNet of RecurrentModel

/// `.model` files: a network written as named equations in the rule language's expression syntax.
///
///     model mlp : feedforward
///       const beta = 10
///       preactivation = W @ y_pre
///       hidden        = softplus(z_post, beta)
///       feedback fa   = (B @ e_post) * dsigma
///
/// One equation per line: `ROLE = EXPR`, or `ROLE MODE = EXPR` for the feedback pass and the
/// synthetic e₀ (one per feedback mode, the names an experiment's `feedback =` picks from), and
/// `const NAME = NUMBER`. The roles and the variables each setting's equations may read are in
/// `roles` and `variables` below. `dsigma` is σ'(z_pre), the derivative of `hidden` taken by the
/// differentiator; the engine derives every tangent it propagates from these equations.
module ModelFile =
    type private Role = { Name: string; Moded: bool; Shape: Shape; Doc: string }

    let private post, pre = Shape.Vector "post", Shape.Vector "pre"
    let private role name moded shape doc = { Name = name; Moded = moded; Shape = shape; Doc = doc }

    let private roles =
        Map [ Setting.Feedforward,
              [ role "preactivation" false post "z_post of a layer from W and y_pre"
                role "hidden" false post "y_post of a hidden layer from z_post"
                role "output" false post "y_post of the output layer from z_post"
                role "loss" false Shape.Scalar "the per-sample loss from z_post of the output layer and target"
                role "error" false post "e_post at the output layer (the loss's derivative by z_post)"
                role "feedback" true pre "e_pre of a hidden layer, per feedback mode"
                role "synthetic" true pre "e_0, the presynaptic error of the first layer, per feedback mode" ]
              Setting.Recurrent,
              [ role "rate" false pre "r from x_pre"
                role "dynamics" false post "x after one Euler step"
                role "average" false post "xbar after one step"
                role "readout" false Shape.Scalar "the output z from r_post and w_out"
                role "reward" false Shape.Scalar "the reward earned in one step (a trial's R is its mean over scored steps)"
                role "baseline" false Shape.Scalar "Rbar after a trial, from Rbar and R" ] ]

    /// The equation names a model may give, of both settings (editors highlight them).
    [<CompiledName "RoleNames">]
    let roleNames : string list = roles |> Map.toList |> List.collect (fun (_, rs) -> rs |> List.map (fun r -> r.Name))

    let private v name shape = name, ({ Name = name; Shape = shape }: Symbol)

    /// The variables a model's equations may read, per setting (the engine binds them).
    let variables =
        Map [ Setting.Feedforward,
              Map [ v "W" (Shape.Matrix ("post", "pre")); v "B" (Shape.Matrix ("pre", "post")); v "B_out" (Shape.Matrix ("pre", "out"))
                    v "y_pre" pre; v "z_pre" pre; v "dsigma" pre; v "z_post" post; v "e_post" post; v "target" post
                    v "e_out" (Shape.Vector "out") ]
              Setting.Recurrent,
              Map [ v "x" post; v "xbar" post; v "free" post; v "clamp" post; v "noise" post; v "w_out" post; v "r_post" post
                    v "x_pre" pre; v "r" pre; v "W" (Shape.Matrix ("post", "pre")); v "W_in" (Shape.Matrix ("post", "in"))
                    v "u" (Shape.Vector "in"); v "z" Shape.Scalar; v "target" Shape.Scalar; v "mask" Shape.Scalar
                    v "R" Shape.Scalar; v "Rbar" Shape.Scalar ] ]

    let private describe (s: Shape) =
        match s with
        | Shape.Scalar -> "a scalar"
        | Shape.Vector d -> sprintf "a %s vector" d
        | Shape.Matrix (r, c) -> sprintf "a %s×%s matrix" r c

    type private Line = { Number: int; Indent: int; Text: string }

    /// Parses and checks a model's text. `overrides` replace constants of the same name (an
    /// experiment's `beta`, `dt`, `tau`). All problems of the file are reported together.
    [<CompiledName "Parse">]
    let parse (file: string) (text: string) (overrides: Map<string, float>) : Result<LoadedModel, Diagnostic list> * Diagnostic list =
        let lines = Layout.clean text
        let errors = ResizeArray<Diagnostic> ()
        let warnings = ResizeArray<Diagnostic> ()
        let at code line col len msg = Diagnostic.at code (SourceRange.make file (line, col) (line, col + max 1 len)) msg
        let content =
            lines
            |> Array.mapi (fun i l -> { Number = i + 1; Indent = l.Length - l.TrimStart().Length; Text = l.Trim () })
            |> Array.filter (fun l -> l.Text <> "")
        // The header: `model NAME : SETTING`.
        let header, body =
            match List.ofArray content with
            | h :: rest when h.Text.StartsWith "model " || h.Text = "model" ->
                let parts = h.Text.Substring(5).Split (':', 2)
                let name = parts.[0].Trim ()
                let setting =
                    if parts.Length < 2 then None
                    else Choice.tryParse<Setting> (parts.[1].Trim ())
                match setting with
                | Some s when name <> "" && Seq.forall (fun c -> Char.IsLetterOrDigit c || c = '_') name -> Some (name, s), rest
                | _ ->
                    errors.Add (
                        at Codes.ModelStructure h.Number (h.Indent + 1) h.Text.Length "expected `model NAME : feedforward` or `model NAME : recurrent`"
                        |> Diagnostic.withHint "a model file starts with its header line, then its equations indented below it")
                    None, rest
            | h :: _ ->
                errors.Add (at Codes.ModelStructure h.Number (h.Indent + 1) h.Text.Length "a model file starts with `model NAME : SETTING`"
                            |> Diagnostic.withHint "e.g. `model mlp : feedforward`")
                None, []
            | [] ->
                errors.Add (Diagnostic.inFile Codes.ModelStructure file "the file holds no model: write `model NAME : SETTING` and its equations")
                None, []
        match header with
        | None -> Result.Error (List.ofSeq errors), []
        | Some (name, setting) ->
        let settingRoles = roles.[setting]
        let vars = variables.[setting]
        let consts = Collections.Generic.Dictionary<string, float * int> ()
        let equations = ResizeArray<Role * string option * int * int * string> () // role, mode, line, col of expr, expr text
        for l in body do
            if l.Indent = 0 then
                errors.Add (at Codes.Indentation l.Number 1 l.Text.Length "a model's equations are indented under its `model` line"
                            |> Diagnostic.withHint "indent this line, or start a new file for a second model")
            else
            match l.Text.IndexOf '=' with
            | -1 ->
                errors.Add (at Codes.Syntax l.Number (l.Indent + 1) l.Text.Length "expected `ROLE = EXPRESSION` or `const NAME = NUMBER`")
            | eq ->
                let lhs = l.Text.Substring(0, eq).Trim ()
                let rhs = l.Text.Substring (eq + 1)
                let rhsCol = l.Indent + 1 + eq + 1 + (rhs.Length - rhs.TrimStart().Length)
                let words = lhs.Split ([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries) |> List.ofArray
                match words with
                | [ "const"; n ] ->
                    match Double.TryParse (rhs.Trim (), Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
                    | true, x when consts.ContainsKey n ->
                        errors.Add (at Codes.Duplicate l.Number (l.Indent + 1) lhs.Length (sprintf "const %s is defined twice" n)); ignore x
                    | true, x when vars.ContainsKey n ->
                        errors.Add (at Codes.ReservedName l.Number (l.Indent + 7) n.Length (sprintf "%s is a variable of %s models, not a free name" n (Variables.settingName setting))); ignore x
                    | true, x -> consts.[n] <- (x, l.Number)
                    | _ -> errors.Add (at Codes.NumberRequired l.Number rhsCol (rhs.Trim().Length) (sprintf "const %s needs a number" n))
                | r :: rest ->
                    match settingRoles |> List.tryFind (fun x -> x.Name = r), rest with
                    | Some role, [] when not role.Moded -> equations.Add (role, None, l.Number, rhsCol, rhs)
                    | Some role, [ mode ] when role.Moded -> equations.Add (role, Some mode, l.Number, rhsCol, rhs)
                    | Some role, _ when role.Moded ->
                        errors.Add (at Codes.Syntax l.Number (l.Indent + 1) lhs.Length (sprintf "%s needs a mode name: `%s MODE = …`" role.Name role.Name))
                    | Some role, _ ->
                        errors.Add (at Codes.Syntax l.Number (l.Indent + 1) lhs.Length (sprintf "%s takes no mode: `%s = …`" role.Name role.Name))
                    | None, _ ->
                        let d = at Codes.UnknownRole l.Number (l.Indent + 1) r.Length (sprintf "%s is not an equation of %s models (they are: %s)" r (Variables.settingName setting) (String.Join (", ", settingRoles |> List.map (fun x -> x.Name))))
                        errors.Add (match Suggest.nearest r (settingRoles |> List.map (fun x -> x.Name)) with n :: _ -> Diagnostic.withHint (sprintf "did you mean %s?" n) d | [] -> d)
                | [] -> errors.Add (at Codes.Syntax l.Number (l.Indent + 1) 1 "an equation needs a name before `=`")
        // Constants are overridden by the experiment, then read as symbols and replaced by numbers.
        let constValue n = match overrides.TryFind n with Some x -> x | None -> fst consts.[n]
        let symbols =
            Seq.append (vars |> Map.toSeq) (consts.Keys |> Seq.map (fun n -> n, ({ Name = n; Shape = Shape.Scalar }: Symbol))) |> Map.ofSeq
        let parsed = Collections.Generic.Dictionary<string * string option, Expr> ()
        for (role, mode, line, col, rhs) in equations do
            let key = role.Name, mode
            if parsed.ContainsKey key then
                errors.Add (at Codes.Duplicate line col (rhs.Trim().Length) (sprintf "%s is defined twice" (match mode with Some m -> role.Name + " " + m | None -> role.Name)))
            else
            match ExprText.parse symbols rhs with
            | Result.Error ds ->
                // Positions inside the expression → positions in the file.
                for d in ds do
                    errors.Add (
                        match d.Range with
                        | Some r -> { d with File = file; Range = Some (SourceRange.make file (line, col - 1 + r.Start.Col - (rhs.Length - rhs.TrimStart().Length)) (line, col - 1 + r.End.Col - (rhs.Length - rhs.TrimStart().Length))) }
                        | None -> { d with File = file })
            | Result.Ok e ->
                let e = e |> Expr.substitute (fun s -> if consts.ContainsKey s.Name then Some (Num (constValue s.Name)) else None)
                match Typing.check e with
                | Result.Ok shape when shape = role.Shape || shape = Shape.Scalar && role.Shape <> Shape.Scalar -> parsed.[key] <- e
                | Result.Ok shape ->
                    errors.Add (at Codes.ShapeMismatch line col (rhs.Trim().Length) (sprintf "%s must be %s, this is %s" role.Name (describe role.Shape) (describe shape)))
                | Result.Error m -> errors.Add (at Codes.ShapeMismatch line col (rhs.Trim().Length) ("shape mismatch: " + m))
        let headerLine = (content |> Array.head).Number
        let missing what hint =
            errors.Add (at Codes.MissingRole headerLine 1 5 (sprintf "model %s has no %s equation" name what) |> Diagnostic.withHint hint)
        for role in settingRoles |> List.filter (fun r -> not r.Moded) do
            if not (parsed.ContainsKey (role.Name, None)) && not (equations |> Seq.exists (fun (r, _, _, _, _) -> r.Name = role.Name)) then
                missing role.Name (sprintf "add `%s = …` (%s)" role.Name role.Doc)
        let modes which = parsed.Keys |> Seq.choose (fun (r, m) -> if r = which then m else None) |> Set.ofSeq
        if setting = Setting.Feedforward && errors.Count = 0 then
            let fb, syn = modes "feedback", modes "synthetic"
            if not (fb.Contains "bp") then
                missing "feedback bp" "the backprop pass `feedback bp = (W' @ e_post) * dsigma` is the reference of the alignment angles"
            for m in Set.union fb syn do
                if not (fb.Contains m) then missing (sprintf "feedback %s" m) (sprintf "synthetic %s needs its feedback pass: add `feedback %s = …`" m m)
                if not (syn.Contains m) then missing (sprintf "synthetic %s" m) (sprintf "feedback %s needs the first layer's error too: add `synthetic %s = …`" m m)
        if errors.Count > 0 then Result.Error (errors |> Seq.sortBy Diagnostic.key |> List.ofSeq), List.ofSeq warnings
        else
        let get r = parsed.[(r, None)]
        match setting with
        | Setting.Feedforward ->
            let dsigma = FeedforwardModel.activationDerivative (get "hidden")
            // B_out is the runtime's B of a DFA network (pre × out); dsigma is σ'(z_pre) from `hidden`.
            let finish e =
                e
                |> Expr.substitute (fun s ->
                    match s.Name with
                    | "dsigma" -> Some dsigma
                    | "B_out" -> Some (Expr.sym "B" (Shape.Matrix ("pre", "out")))
                    | _ -> None)
                |> Simplify.simplify
            let moded r = modes r |> Seq.map (fun m -> m, finish parsed.[(r, Some m)]) |> Map.ofSeq
            let model =
                { Name = name
                  PreActivation = finish (get "preactivation")
                  Hidden = finish (get "hidden")
                  Output = finish (get "output")
                  Loss = finish (get "loss")
                  OutputError = finish (get "error")
                  Feedback = moded "feedback"
                  Synthetic = moded "synthetic" }
            // The output error should be ∂loss/∂z_post: compared at random points along random directions,
            // with one-hot targets (softmax − target is the gradient only when the target sums to 1).
            let rng = Random 17
            let dims = Map [ "post", 5; "pre", 4; "out", 5 ]
            let value (s: Symbol) =
                match s.Shape with
                | Shape.Vector d when s.Name = "target" -> let k = rng.Next dims.[d] in Value.Vector (Array.init dims.[d] (fun i -> if i = k then 1.0 else 0.0)) // a one-hot label
                | Shape.Scalar -> Value.Scalar (rng.NextDouble ())
                | Shape.Vector d -> Value.Vector (Array.init dims.[d] (fun _ -> rng.NextDouble () * 2.0 - 1.0))
                | Shape.Matrix (r, c) -> Value.Matrix (Array2D.init dims.[r] dims.[c] (fun _ _ -> rng.NextDouble () * 2.0 - 1.0))
            let zPost : Symbol = { Name = "z_post"; Shape = post }
            let worst =
                [ 1 .. 5 ]
                |> List.map (fun _ ->
                    let point = Expr.symbols model.Loss @ Expr.symbols model.OutputError |> List.distinct |> List.map (fun s -> s, value s) |> Map.ofList
                    let point = if point.ContainsKey zPost then point else point.Add (zPost, value zPost)
                    let dir = value zPost |> Value.toArray
                    let at (t: float) =
                        Eval.eval (fun s -> if s = zPost then Value.Vector (Array.map2 (fun a b -> a + t * b) (Value.toArray point.[s]) dir) else point.[s]) model.Loss
                        |> Value.toArray |> Array.head
                    let h = 1e-5
                    let fd = (at h - at -h) / (2.0 * h)
                    let e = Eval.eval (fun s -> point.[s]) model.OutputError |> Value.toArray
                    let analytic = Array.fold2 (fun acc a b -> acc + a * b) 0.0 e dir
                    abs (fd - analytic) / max 1.0 (abs fd))
                |> List.max
            if worst > 1e-6 then
                let line = equations |> Seq.find (fun (r, _, _, _, _) -> r.Name = "error") |> fun (_, _, l, c, rhs) -> l, c, rhs
                let l, c, rhs = line
                warnings.Add (at Codes.ErrorNotGradient l c (rhs.Trim().Length) (sprintf "error is not ∂loss/∂z_post (relative difference %.2g at random points): the output layer will not follow the loss's gradient" worst)
                              |> Diagnostic.withHint "for softmax and cross-entropy the error is softmax(z_post) - target")
            Result.Ok (FeedforwardNet model), List.ofSeq warnings
        | Setting.Recurrent ->
            let s e = Simplify.simplify e
            Result.Ok (RecurrentNet
                { Name = name
                  Rate = s (get "rate")
                  Dynamics = s (get "dynamics")
                  Average = s (get "average")
                  Readout = get "readout"
                  RewardRate = s (get "reward")
                  Baseline = s (get "baseline") }), List.ofSeq warnings

    /// The models that ship with RuleDsl (models/*.model, embedded in this assembly so they work
    /// wherever the library runs).
    [<CompiledName "ShippedText">]
    let shippedText (name: string) : string =
        match Std.tryRead (Std.prefix + name + ".model") with
        | None -> invalidArg "name" (sprintf "no shipped model %s" name)
        | Some text -> text

    let private shipped name overrides =
        match parse ("models/" + name + ".model") (shippedText name) overrides with
        | Result.Ok m, _ -> m
        | Result.Error ds, _ -> failwithf "the shipped model %s does not load: %s" name (ds |> List.map (fun d -> d.Message) |> String.concat "; ")

    /// The shipped feedforward network (models/mlp.model) with softplus sharpness β.
    [<CompiledName "Feedforward">]
    let feedforward (beta: float) : FeedforwardModel =
        match shipped "mlp" (Map [ "beta", beta ]) with
        | FeedforwardNet m -> m
        | RecurrentNet _ -> failwith "models/mlp.model is not a feedforward model"

    /// The shipped rate RNN (models/rnn.model) with its time step, time constant and averaging rates.
    [<CompiledName "Recurrent">]
    let recurrent (dt: float) (tau: float) (alphaX: float) (alphaR: float) : RecurrentModel =
        match shipped "rnn" (Map [ "dt", dt; "tau", tau; "alpha_x", alphaX; "alpha_r", alphaR ]) with
        | RecurrentNet m -> m
        | FeedforwardNet _ -> failwith "models/rnn.model is not a recurrent model"

    /// A model's equations by name ("hidden", "feedback fa", …), in the order of the record.
    [<CompiledName "Equations">]
    let equations (m: LoadedModel) : (string * Expr) list =
        match m with
        | FeedforwardNet f ->
            [ "preactivation", f.PreActivation; "hidden", f.Hidden; "output", f.Output; "loss", f.Loss; "error", f.OutputError ]
            @ (f.Feedback |> Map.toList |> List.map (fun (k, e) -> "feedback " + k, e))
            @ (f.Synthetic |> Map.toList |> List.map (fun (k, e) -> "synthetic " + k, e))
        | RecurrentNet r ->
            [ "rate", r.Rate; "dynamics", r.Dynamics; "average", r.Average; "readout", r.Readout; "reward", r.RewardRate; "baseline", r.Baseline ]

    let private nameOf (m: LoadedModel) = match m with FeedforwardNet f -> f.Name | RecurrentNet r -> r.Name

    /// Every equation's forward differential (the tangent the engine propagates through it) checked
    /// against central differences at random points, like a rule's.
    [<CompiledName "Verify">]
    let verify (file: string) (m: LoadedModel) : CheckRow list =
        let setting = match m with FeedforwardNet _ -> Setting.Feedforward | RecurrentNet _ -> Setting.Recurrent
        equations m
        |> List.collect (fun (name, e) ->
            let rule = { RuleOf.create (nameOf m + ": " + name) setting [] e with File = file }
            Verify.verifyRule rule
            |> List.map (fun r -> { r with Target = r.Target.Replace ("ΔW", name); At = { File = file; Line = 0; Column = 0 } }))
