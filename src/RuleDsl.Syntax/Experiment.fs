namespace RuleDsl.Syntax

open System
open System.Globalization

/// An experiment, as written in a `.experiment` file: every setting with its value (the default
/// where the file is silent). The settings, their types, defaults and meaning are the table
/// `Experiment.schema`; `ruledsl settings` prints it.
type ExperimentSpec =
    { Name: string
      File: string
      Setting: Setting
      /// rule file (relative to the experiment file) and the rule's name in it
      RuleFile: string
      RuleName: string
      /// The .model file ("" = the shipped model of the setting).
      ModelFile: string
      /// feedforward: one rule name per layer of weights, layer 1 first (Table 1 of Shervani-Tabar &
      /// Rosenbaum: `rule = FILE fa, ehebb, ehebb, ehebb, ehebb`); empty when one rule serves every layer
      LayerRules: string list
      // feedforward
      Layers: int list
      Feedback: string
      Beta: float
      Data: string
      Classes: int
      Train: int
      Query: int
      // recurrent
      /// The tasks it meta-trains on: one, or several that share each meta-step's batch evenly.
      Tasks: string list
      Units: int
      Horizon: int
      LearnAfter: int
      /// recurrent: x̄ restarts at each trial's initial state, or carries over (Miconi's)
      Average: AverageStart
      /// recurrent: z from the rates that drive the Euler step, or after it (Miconi's)
      Readout: ReadoutTime
      /// recurrent: the three units clamped at x = 1, 1, −1 (Miconi's bias units)
      BiasUnits: int list
      Gamma: float
      Tau: float
      Dt: float
      /// recurrent: a network has learned a task at the first trial that ends a window of
      /// `CriterionWindow` trials with at least this fraction correct (trials to criterion)
      Criterion: float
      CriterionWindow: int
      // meta-learning
      Episodes: int
      Trials: int
      Seed: int
      LearningRate: float
      Penalty: PenaltyKind
      Lambda: float
      PenaltyStep: PenaltyStep
      Clip: float
      Estimator: GradientEstimator
      Projections: int
      Sigma: float
      Batch: int
      OnDivergence: DivergencePolicy
      /// Consecutive diverged episodes with θ unchanged after which a trial stops (0: never).
      MaxDiverged: int
      Backend: Backend
      Precision: Precision
      Output: string }

module Experiment =
    type private Kind =
        | Int of min: int
        | Float
        | Word of allowed: string list
        | Text
        | Ints

    type private Field =
        { Key: string
          Kind: Kind
          Default: string option
          Doc: string }

    let private f key kind def doc = { Key = key; Kind = kind; Default = def; Doc = doc }

    let private fields =
        [ f "setting" (Word (Choice.words<Setting> ())) (Some "feedforward") "which research setting the experiment runs"
          f "rule" Text None "the rule file and the rule in it: `rules/bio.rule bio` (the name may be left out when the file has one rule); feedforward: one rule per layer of weights, layer 1 first: `rules/table1.rule fa, ehebb, ehebb, ehebb, ehebb` (θ is the union of their parameters by name)"
          f "model" Text (Some "(shipped)") "the network: a .model file and the model in it, `../models/mlp.model` (default: models/mlp.model or models/rnn.model, shipped with RuleDsl)"
          f "layers" Ints (Some "784 170 130 100 70 5") "feedforward: layer sizes, input first (Shervani-Tabar & Rosenbaum 4.1)"
          f "feedback" Text (Some "fa") "feedforward: the feedback pass, one the model defines (the shipped model: fa = feedback alignment, bp = backprop, dfa = direct feedback alignment)"
          f "beta" Float (Some "10") "feedforward: softplus sharpness β"
          f "data" Text (Some "fashion-mnist") "feedforward: data set (fashion-mnist, fashion-mnist:train, fashion-mnist:subset, mnist, mnist:full, emnist:PATH, idx:IMAGES,LABELS)"
          f "classes" (Int 2) (Some "5") "feedforward: classes per episode M"
          f "train" (Int 1) (Some "50") "feedforward: training samples per class K (online, batch 1)"
          f "query" (Int 1) (Some "10") "feedforward: query samples per class Q"
          f "task" Text (Some "dnms") "recurrent: cognitive task (dnms, perceptual-decision, context-integration, go-nogo); several, `go-nogo dnms`, meta-train on all of them, each meta-step's batch split evenly between them"
          f "units" (Int 2) (Some "100") "recurrent: number of units N"
          f "horizon" (Int 1) (Some "100") "recurrent: learning trials per meta-step"
          f "learn_after" (Int 0) (Some "0") "recurrent: learning trials before the first weight change (Miconi: 100, while the reward baselines settle)"
          f "xbar" (Word (Choice.words<AverageStart> ())) (Some "reset") "recurrent: the running average x̄ at a trial's start: reset to the trial's initial state, or carried over from the end of the previous trial (Miconi's; 0 before the first)"
          f "readout" (Word (Choice.words<ReadoutTime> ())) (Some "before") "recurrent: when in a step the output z = w_out·r is read and scored: before the Euler step, from the rates r(t−1) that drive it, or after it, from r(t) = φ(x(t)) (Miconi's)"
          f "bias_units" Ints (Some "1 2 3") "recurrent: the three units clamped at x = 1, 1, −1 throughout (Miconi's bias units are 1 10 11); never the output unit 0"
          f "gamma" Float (Some "1") "recurrent: discount γ of J = Σ_h γ^h R^h"
          f "tau" Float (Some "0.03") "recurrent: membrane time constant τ (s)"
          f "dt" Float (Some "0.005") "recurrent: Euler step (s)"
          f "criterion" Float (Some "0.9") "recurrent: the fraction of a window of successive trials a network must answer correctly to have learned the task; its trials to criterion are the trials up to the first such window (run, learn, analyse)"
          f "criterion_window" (Int 1) (Some "100") "recurrent: the number of successive trials `criterion` is counted over"
          f "episodes" (Int 1) (Some "600") "meta-steps (episodes) per trial"
          f "trials" (Int 1) (Some "10") "independent meta-training runs (seeds), run in parallel"
          f "seed" (Int 0) (Some "1") "base seed; trial t uses seed + 1000·t"
          f "lr" Float (Some "0.001") "Adam's meta learning rate; 0 evaluates the rule's θ without changing it (meta-loss, accuracy and meta-gradient logged per episode)"
          f "penalty" (Word (Choice.words<PenaltyKind> ())) (Some "none") "regulariser on θ added to the meta-loss"
          f "lambda" Float (Some "0") "weight λ of the penalty"
          f "penalty_step" (Word (Choice.words<PenaltyStep> ())) (Some "gradient") "how the L1 penalty enters the meta-step: its subgradient λ·sign(θ) added to the meta-gradient (as the paper), or a proximal step after Adam's that sets a coefficient exactly to 0 when its meta-gradient is smaller than λ (soft-thresholding at Adam's per-θ step size)"
          f "clip" Float (Some "0") "largest meta-gradient norm: a larger one is scaled down to it before the penalty and Adam (0: no limit). One exploding episode's gradient (10⁹ and more, seen in the pool) otherwise fills Adam's second moment and freezes θ for hundreds of episodes"
          f "estimator" (Word (Choice.words<GradientEstimator> ())) (Some "exact") "meta-gradient: exact tangents (one per θ), random projections of them, or REINFORCE on a Gaussian search distribution over θ (no tangents)"
          f "projections" (Int 1) (Some "2") "random directions per meta-step (estimator = projections), antithetic pairs (estimator = reinforce)"
          f "sigma" Float (Some "0.01") "estimator = reinforce: standard deviation σ of the θ perturbations"
          f "batch" (Int 1) (Some "1") "inner runs (fresh networks) per meta-step, their gradients averaged: less noise for noisy objectives such as reward over learning trials"
          f "on_divergence" (Word (Choice.words<DivergencePolicy> ())) (Some "skip") "when an episode diverges: skip its meta-step; also halve the meta step (reduce); also scale θ by 0.9 toward zero and drop Adam's momentum (shrink: the rule's steps were too large, and a skipped episode gives no gradient that says so); or stop"
          f "max_diverged" (Int 0) (Some "20") "consecutive diverged episodes with θ unchanged after which a trial stops, with exit code 3 (0: never): under `skip` such a run would otherwise go on without learning anything"
          f "backend" (Word (Choice.words<Backend> ())) (Some "simd") "how equations run: SIMD-compiled kernels (Runtime/Kernels/Compiler) or the reference interpreter"
          f "precision" (Word (Choice.words<Precision> ())) (Some "float64") "the floating-point type of the network, its tangents and the kernels (backend = simd for float32); the objective and meta-gradient are summed in double. float32 agrees with float64 to about 1e-6 relative over a short run (J, weights, meta-gradient; docs/experiments.md, Precision)"
          f "output" Text None "results folder (relative to the working directory); default results/<name>" ]

    /// The settings an experiment file may give: (key, default, meaning).
    let schema : (string * string * string) list =
        fields |> List.map (fun x -> x.Key, defaultArg x.Default "(required)", x.Doc)

    let private diag (code: Code) (file: string) (line: int) (col: int) (len: int) (msg: string) =
        Diagnostic.at code (SourceRange.make file (line, col) (line, col + max 1 len)) msg

    /// Parses an experiment file's text. All errors of the file are reported together.
    let parse (file: string) (text: string) : Result<ExperimentSpec, Diagnostic list> =
        let lines = text.Replace("\r\n", "\n").Split '\n'
        let errors = ResizeArray<Diagnostic> ()
        let values = Collections.Generic.Dictionary<string, string * int * int> ()
        let mutable name = None
        for i in 0 .. lines.Length - 1 do
            let raw = lines.[i]
            let content = match raw.IndexOf '#' with -1 -> raw | k -> raw.Substring (0, k)
            let trimmed = content.Trim ()
            let ln = i + 1
            if trimmed <> "" then
                let col = content.Length - content.TrimStart().Length + 1
                if trimmed.StartsWith "experiment" && (trimmed.Length = 10 || Char.IsWhiteSpace trimmed.[10]) then
                    if name.IsSome then errors.Add (diag Codes.ExperimentStructure file ln col 10 "a file holds one experiment; this is a second `experiment` line")
                    let n = trimmed.Substring(10).Trim ()
                    if n = "" || not (n |> Seq.forall (fun c -> Char.IsLetterOrDigit c || c = '_' || c = '-')) then
                        errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "expected `experiment NAME`, a name of letters, digits, _ or -")
                    name <- Some n
                elif name.IsNone then
                    errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "settings go inside an `experiment NAME` block; start the file with `experiment NAME`")
                elif col = 1 then
                    errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "indent the settings of the experiment block")
                else
                    match trimmed.IndexOf '=' with
                    | -1 -> errors.Add ({ diag Codes.ExperimentStructure file ln col trimmed.Length "expected `key = value`" with Hint = Some "e.g.  episodes = 600" })
                    | k ->
                        let key = trimmed.Substring(0, k).Trim ()
                        let value = trimmed.Substring(k + 1).Trim ()
                        let vcol = col + k + 1 + (trimmed.Substring(k + 1).Length - trimmed.Substring(k + 1).TrimStart().Length)
                        match fields |> List.tryFind (fun x -> x.Key = key) with
                        | None ->
                            let d = diag Codes.UnknownSetting file ln col key.Length (sprintf "unknown setting `%s`" key)
                            match Suggest.nearest key (fields |> List.map (fun x -> x.Key)) with
                            | best :: _ -> errors.Add { d with Hint = Some (sprintf "did you mean `%s`?" best) }
                            | [] -> errors.Add { d with Hint = Some ("settings are: " + String.Join (", ", fields |> List.map (fun x -> x.Key))) }
                        | Some _ when values.ContainsKey key ->
                            let (_, l0, _) = values.[key]
                            errors.Add (diag Codes.ExperimentStructure file ln col key.Length (sprintf "`%s` is set twice (first on line %d)" key l0))
                        | Some _ when value = "" -> errors.Add (diag Codes.BadSetting file ln col key.Length (sprintf "`%s` has no value" key))
                        | Some _ -> values.[key] <- (value, ln, vcol)
        if name.IsNone && errors.Count = 0 then
            errors.Add (Diagnostic.inFile Codes.ExperimentStructure file "the file has no `experiment NAME` block")
        // Types and ranges of the values given.
        let get (key: string) =
            let fld = fields |> List.find (fun x -> x.Key = key)
            match values.TryGetValue key with
            | true, (v, ln, col) -> Some (v, ln, col), fld
            | _ -> (fld.Default |> Option.map (fun d -> d, 0, 0)), fld
        let bad ln col (v: string) msg =
            if ln = 0 then errors.Add (Diagnostic.inFile Codes.BadSetting file msg) else errors.Add (diag Codes.BadSetting file ln col v.Length msg)
        let asInt key =
            match get key with
            | Some (v, ln, col), { Kind = Int min } ->
                match Int32.TryParse (v, NumberStyles.Integer, CultureInfo.InvariantCulture) with
                | true, n when n >= min -> n
                | true, _ -> bad ln col v (sprintf "`%s` must be at least %d" key min); min
                | _ -> bad ln col v (sprintf "`%s` must be a whole number, not `%s`" key v); min
            | _ -> 0
        let asFloat key =
            match get key with
            | Some (v, ln, col), _ ->
                match Double.TryParse (v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x when Double.IsFinite x -> x
                | _ -> bad ln col v (sprintf "`%s` must be a number, not `%s`" key v); 0.0
            | _ -> 0.0
        // A word is parsed here, once, into its union's case; a word that is none of them is an error
        // at its place (and the first case stands in for it, since the spec is not returned).
        let asWord key (cases: 'T list) : 'T =
            match get key with
            | Some (v, ln, col), { Kind = Word allowed } ->
                match cases |> List.tryFind (fun c -> string c = v) with
                | Some c -> c
                | None ->
                    let d = diag Codes.BadSetting file ln col v.Length (sprintf "`%s` must be one of %s, not `%s`" key (String.Join (", ", allowed)) v)
                    errors.Add (match Suggest.nearest v allowed with best :: _ -> { d with Hint = Some (sprintf "did you mean `%s`?" best) } | [] -> d)
                    cases.Head
            | _ -> cases.Head
        let asText key = match get key with Some (v, _, _), _ -> v | None, _ -> ""
        let layers =
            match get "layers" with
            | Some (v, ln, col), _ ->
                let parts = v.Split ([| ' '; ','; '\t' |], StringSplitOptions.RemoveEmptyEntries)
                let ns = parts |> Array.map (fun p -> match Int32.TryParse p with | true, n when n > 0 -> Some n | _ -> None)
                if ns.Length < 2 || ns |> Array.exists Option.isNone then
                    bad ln col v "`layers` must be two or more positive sizes, input first: `784 170 130 100 70 5`"
                    []
                else ns |> Array.choose id |> List.ofArray
            | None, _ -> []
        let biasUnits =
            match get "bias_units" with
            | Some (v, ln, col), _ ->
                let parts = v.Split ([| ' '; ','; '\t' |], StringSplitOptions.RemoveEmptyEntries)
                let ns = parts |> Array.map (fun p -> match Int32.TryParse p with | true, n when n > 0 -> Some n | _ -> None)
                if ns.Length <> 3 || ns |> Array.exists Option.isNone || (ns |> Array.distinct).Length <> 3 then
                    bad ln col v "`bias_units` must be three different unit numbers ≥ 1 (unit 0 is the output): `1 10 11`"
                    []
                else ns |> Array.choose id |> List.ofArray
            | None, _ -> []
        let setting = asWord "setting" (Choice.cases<Setting> ())
        let ruleFile, ruleName, layerRules =
            match get "rule" with
            | Some (v, _, _), _ ->
                let (_, ln, col) = values.["rule"]
                match v.Split ([| ' '; '\t' |], 2, StringSplitOptions.RemoveEmptyEntries) with
                | [| path |] -> path, "", []
                | [| path; names |] ->
                    // `FILE NAME` or `FILE NAME1, NAME2, …`: one rule for every layer, or one per layer.
                    let parts = names.Split ',' |> Array.map (fun x -> x.Trim ())
                    let isName (x: string) =
                        x <> "" && (Char.IsLetter x.[0] || x.[0] = '_') && x |> Seq.forall (fun c -> Char.IsLetterOrDigit c || c = '_')
                    if not (Array.forall isName parts) then
                        bad ln col v "expected `rule = FILE [NAME]` or `rule = FILE NAME1, NAME2, …` (one rule per layer of weights)"
                        path, "", []
                    elif parts.Length = 1 then path, parts.[0], []
                    else path, parts.[0], List.ofArray parts
                | _ -> bad ln col v "expected `rule = FILE [NAME]`"; v, "", []
            | None, _ ->
                if name.IsSome then errors.Add (Diagnostic.inFile Codes.MissingSetting file "the experiment names no rule: add `rule = rules/FILE.rule NAME`")
                "", "", []
        // Per-layer rules: exactly one per layer of weights, and only where there are layers.
        if not layerRules.IsEmpty then
            let (v, ln, col) = values.["rule"]
            let ruleCol = col + v.IndexOf layerRules.Head
            let span = v.Length - v.IndexOf layerRules.Head
            if setting = Setting.Recurrent then
                errors.Add (diag Codes.BadSetting file ln ruleCol span "one rule per layer is a feedforward setting; a recurrent experiment names one rule")
            elif not layers.IsEmpty && layerRules.Length <> layers.Length - 1 then
                let d = diag Codes.BadSetting file ln ruleCol span (sprintf "`rule` names %d rules but the network has %d layers of weights (layers = %s)" layerRules.Length (layers.Length - 1) (String.Join (" ", layers)))
                errors.Add { d with Hint = Some (sprintf "name one rule for every layer, or exactly %d, layer 1 first" (layers.Length - 1)) }
        let spec =
            { Name = defaultArg name ""
              File = file
              Setting = setting
              RuleFile = ruleFile
              RuleName = ruleName
              ModelFile = (match asText "model" with "(shipped)" -> "" | m -> m)
              LayerRules = layerRules
              Layers = layers
              Feedback = asText "feedback"
              Beta = asFloat "beta"
              Data = asText "data"
              Classes = asInt "classes"
              Train = asInt "train"
              Query = asInt "query"
              Tasks = (asText "task").Split ([| ' '; ','; '\t' |], StringSplitOptions.RemoveEmptyEntries) |> List.ofArray
              Units = asInt "units"
              Horizon = asInt "horizon"
              LearnAfter = asInt "learn_after"
              Average = asWord "xbar" (Choice.cases<AverageStart> ())
              Readout = asWord "readout" (Choice.cases<ReadoutTime> ())
              BiasUnits = biasUnits
              Gamma = asFloat "gamma"
              Tau = asFloat "tau"
              Dt = asFloat "dt"
              Criterion = asFloat "criterion"
              CriterionWindow = asInt "criterion_window"
              Episodes = asInt "episodes"
              Trials = asInt "trials"
              Seed = asInt "seed"
              LearningRate = asFloat "lr"
              Penalty = asWord "penalty" (Choice.cases<PenaltyKind> ())
              Lambda = asFloat "lambda"
              PenaltyStep = asWord "penalty_step" (Choice.cases<PenaltyStep> ())
              Clip = asFloat "clip"
              Estimator = asWord "estimator" (Choice.cases<GradientEstimator> ())
              Projections = asInt "projections"
              Sigma = asFloat "sigma"
              Batch = asInt "batch"
              OnDivergence = asWord "on_divergence" (Choice.cases<DivergencePolicy> ())
              MaxDiverged = asInt "max_diverged"
              Backend = asWord "backend" (Choice.cases<Backend> ())
              Precision = asWord "precision" (Choice.cases<Precision> ())
              Output = (match asText "output" with "" -> "results/" + defaultArg name "run" | o -> o) }
        // Settings that only make sense together.
        match values.TryGetValue "penalty_step" with
        | true, (v, ln, col) when spec.PenaltyStep = PenaltyStep.Proximal && spec.Penalty <> PenaltyKind.L1 ->
            bad ln col v (sprintf "`penalty_step = proximal` is the L1 penalty's step, but `penalty = %O`; set `penalty = l1` (and `lambda`) or remove this line" spec.Penalty)
        | _ -> ()
        match values.TryGetValue "precision" with
        | true, (v, ln, col) when spec.Precision = Precision.Float32 && spec.Backend = Backend.Interpreter ->
            bad ln col v "`precision = float32` runs compiled kernels; the interpreter computes in double only. Use `backend = simd` or `precision = float64`"
        | _ -> ()
        match values.TryGetValue "lr" with
        | true, (v, ln, col) when spec.LearningRate < 0.0 -> bad ln col v "`lr` must be positive, or 0 to evaluate θ without meta-learning"
        | _ -> ()
        match values.TryGetValue "criterion" with
        | true, (v, ln, col) when not (spec.Criterion > 0.0 && spec.Criterion <= 1.0) -> bad ln col v "`criterion` must be a fraction of the window's trials, above 0 and at most 1: `0.9`"
        | _ -> ()
        match values.TryGetValue "clip" with
        | true, (v, ln, col) when spec.Clip < 0.0 -> bad ln col v "`clip` must be 0 (no limit) or a positive gradient norm"
        | _ -> ()
        // The clamped units must be units of the network (and leave the output unit free).
        if spec.Setting = Setting.Recurrent && spec.BiasUnits |> List.exists (fun u -> u >= spec.Units) then
            let msg = sprintf "the bias units %s are not all units of a network of `units = %d`" (String.Join (" ", spec.BiasUnits)) spec.Units
            match values.TryGetValue "bias_units", values.TryGetValue "units" with
            | (true, (v, ln, col)), _ | _, (true, (v, ln, col)) -> bad ln col v msg
            | _ -> bad 0 0 "" msg
        // Several tasks split each meta-step's networks evenly: named once each, and a batch that divides.
        match values.TryGetValue "task" with
        | true, (v, ln, col) ->
            let tasks = spec.Tasks
            match tasks |> List.countBy id |> List.tryFind (fun (_, n) -> n > 1) with
            | Some (twice, _) -> bad ln col v (sprintf "`task` names %s twice; name each task once" twice)
            | None when tasks.Length > 1 && spec.Batch % tasks.Length <> 0 ->
                let msg = sprintf "%d tasks split each meta-step's networks evenly, so `batch` must be a multiple of %d, not %d" tasks.Length tasks.Length spec.Batch
                match values.TryGetValue "batch" with
                | true, (b, bln, bcol) -> bad bln bcol b msg
                | _ -> bad ln col v (msg + "; add `batch = " + string tasks.Length + "` or more")
            | None -> ()
        | _ -> ()
        if errors.Count = 0 then Ok spec
        else Error (errors |> Seq.sortBy Diagnostic.key |> List.ofSeq)

    /// True when `longer` is `run` with more episodes and nothing else changed (comments aside):
    /// such a run may be continued to the new length in its own folder.
    let extends (run: ExperimentSpec) (longer: ExperimentSpec) =
        longer.Episodes > run.Episodes && { run with Episodes = longer.Episodes } = longer

    /// Every setting of a spec as (key, value) in the schema's order and words, for saying how two
    /// experiments differ. The experiment's name is not a setting.
    let values (spec: ExperimentSpec) : (string * string) list =
        let num (x: float) = x.ToString ("R", CultureInfo.InvariantCulture)
        let rule = spec.RuleFile + " " + (if spec.LayerRules.IsEmpty then spec.RuleName else String.Join (", ", spec.LayerRules))
        [ "setting", string spec.Setting; "rule", rule.Trim (); "model", spec.ModelFile
          "layers", String.Join (" ", spec.Layers); "feedback", spec.Feedback; "beta", num spec.Beta; "data", spec.Data
          "classes", string spec.Classes; "train", string spec.Train; "query", string spec.Query
          "task", String.Join (" ", spec.Tasks); "units", string spec.Units; "horizon", string spec.Horizon
          "learn_after", string spec.LearnAfter; "xbar", string spec.Average; "readout", string spec.Readout
          "bias_units", String.Join (" ", spec.BiasUnits); "gamma", num spec.Gamma; "tau", num spec.Tau; "dt", num spec.Dt
          "criterion", num spec.Criterion; "criterion_window", string spec.CriterionWindow
          "episodes", string spec.Episodes; "trials", string spec.Trials; "seed", string spec.Seed; "lr", num spec.LearningRate
          "penalty", string spec.Penalty; "lambda", num spec.Lambda; "penalty_step", string spec.PenaltyStep; "clip", num spec.Clip
          "estimator", string spec.Estimator; "projections", string spec.Projections; "sigma", num spec.Sigma; "batch", string spec.Batch
          "on_divergence", string spec.OnDivergence; "max_diverged", string spec.MaxDiverged; "backend", string spec.Backend
          "precision", string spec.Precision; "output", spec.Output ]

    /// Where a setting's value is written in an experiment's text; None when the file leaves it to
    /// its default. For errors found after parsing (by the model, the rule file), which have a place too.
    let locate (file: string) (text: string) (key: string) : SourceRange option =
        text.Replace("\r\n", "\n").Split '\n'
        |> Array.indexed
        |> Array.tryPick (fun (i, raw) ->
            let content = match raw.IndexOf '#' with -1 -> raw | k -> raw.Substring (0, k)
            match content.IndexOf '=' with
            | eq when eq > 0 && content.Substring(0, eq).Trim () = key ->
                let rest = content.Substring (eq + 1)
                let col = eq + 2 + (rest.Length - rest.TrimStart().Length)
                Some (SourceRange.make file (i + 1, col) (i + 1, col + max 1 (rest.Trim ()).Length))
            | _ -> None)

    /// The source lines of a text, for rendering diagnostics.
    let lineOf (text: string) =
        let lines = text.Replace("\r\n", "\n").Split '\n'
        fun (_: string) (n: int) -> if n >= 1 && n <= lines.Length then Some lines.[n - 1] else None

    /// Each `key = value` line of a text: key, value (trimmed, comment removed), line, column of the value.
    let private written (text: string) =
        text.Replace("\r\n", "\n").Split '\n'
        |> Array.mapi (fun i raw ->
            let content = match raw.IndexOf '#' with -1 -> raw | k -> raw.Substring (0, k)
            match content.IndexOf '=' with
            | k when k > 0 ->
                let value = content.Substring (k + 1)
                Some (content.Substring(0, k).Trim (), value.Trim (), i + 1, k + 2 + (value.Length - value.TrimStart().Length))
            | _ -> None)
        |> Array.choose id

    /// Where a setting's value is written: (line, column, length), or None when the file does not
    /// give it (it has its default). Lets the runtime point at the line whose value it cannot use.
    [<CompiledName "SettingAt">]
    let settingAt (text: string) (key: string) : (int * int * int) option =
        written text |> Array.tryPick (fun (k, v, ln, col) -> if k = key then Some (ln, col, max 1 v.Length) else None)

    /// An error in a setting's value found after parsing (a data set that cannot be read, a task that
    /// does not exist), at the line that gives it — the file alone when the setting has its default —
    /// rendered with that line and a caret like every other input error.
    [<CompiledName "SettingError">]
    let settingError (file: string) (text: string) (key: string) (message: string) (hint: string) : Diagnostic =
        let d =
            match settingAt text key with
            | Some (ln, col, len) -> diag Codes.BadSetting file ln col len message
            | None -> Diagnostic.inFile Codes.BadSetting file message
        if String.IsNullOrEmpty hint then d else Diagnostic.withHint hint d

    /// The same, rendered with that line and a caret.
    [<CompiledName "RenderSettingError">]
    let renderSettingError (file: string) (text: string) (key: string) (message: string) (hint: string) : string =
        Diagnostic.render (lineOf text) (settingError file text key message hint)

    /// The settings whose written values differ between two texts of an experiment, as
    /// "key: value (line n) then, value (line m) now" ("(default)" where a text does not give it),
    /// for the message that refuses to continue a run of another experiment.
    [<CompiledName "ChangedSettings">]
    let changedSettings (oldText: string) (newText: string) : string list =
        let value (text: string) key = written text |> Array.tryPick (fun (k, v, ln, _) -> if k = key then Some (v, ln) else None)
        let show = function Some (v, ln) -> sprintf "%s (line %d)" v ln | None -> "(default)"
        fields
        |> List.choose (fun f ->
            let a, b = value oldText f.Key, value newText f.Key
            if Option.map fst a = Option.map fst b then None
            else Some (sprintf "%s: %s then, %s now" f.Key (show a) (show b)))
