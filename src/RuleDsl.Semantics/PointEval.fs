namespace RuleDsl.Semantics

open System
open System.IO
open System.Text
open System.Text.Json
open RuleDsl.Symbolic
open RuleDsl.Syntax

/// A JSON value with the position it was written at (for located errors).
type JsonNode =
    | JNumber of float * SourceRange
    | JArray of JsonNode list * SourceRange
    | JObject of (string * SourceRange * JsonNode) list * SourceRange
    | JOther of kind: string * SourceRange

/// `ruledsl eval`: a rule's update and its derivatives at a point given as JSON
/// (names → numbers, arrays, or arrays of rows).
module PointEval =
    let private rangeOfNode =
        function
        | JNumber (_, r)
        | JArray (_, r)
        | JObject (_, r)
        | JOther (_, r) -> r

    /// Read JSON keeping positions (System.Text.Json's reader gives byte offsets).
    let parseJson (file: string) (text: string) : Result<JsonNode, Diagnostic> =
        let bytes = Encoding.UTF8.GetBytes text
        let lineStarts =
            [| yield 0
               for i in 0 .. bytes.Length - 1 do
                   if bytes.[i] = byte '\n' then yield i + 1 |]
        let posOf (offset: int64) =
            let o = int offset
            let l = (match Array.BinarySearch (lineStarts, o) with i when i >= 0 -> i | i -> ~~~i - 1)
            let col = Encoding.UTF8.GetCharCount (bytes, lineStarts.[l], o - lineStarts.[l]) + 1
            l + 1, col
        let rangeAt (offset: int64) =
            let (l, c) = posOf offset
            SourceRange.make file (l, c) (l, c + 1)
        let options = JsonReaderOptions (CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)
        let mutable reader = Utf8JsonReader (ReadOnlySpan<byte> bytes, options)
        // An explicit stack: the reader is a ref struct and cannot be captured by closures.
        let stack = Collections.Generic.Stack<Choice<ResizeArray<JsonNode> * SourceRange, ResizeArray<string * SourceRange * JsonNode> * SourceRange>> ()
        let names = Collections.Generic.Stack<string * SourceRange> ()
        let mutable result = None
        let push (node: JsonNode) =
            if stack.Count = 0 then result <- Some node
            else
                match stack.Peek () with
                | Choice1Of2 (items, _) -> items.Add node
                | Choice2Of2 (props, _) ->
                    let (n, r) = names.Pop ()
                    props.Add ((n, r, node))
        try
            while reader.Read () do
                let r = rangeAt reader.TokenStartIndex
                match reader.TokenType with
                | JsonTokenType.StartArray -> stack.Push (Choice1Of2 (ResizeArray (), r))
                | JsonTokenType.StartObject -> stack.Push (Choice2Of2 (ResizeArray (), r))
                | JsonTokenType.EndArray ->
                    match stack.Pop () with
                    | Choice1Of2 (items, start) -> push (JArray (List.ofSeq items, start))
                    | _ -> ()
                | JsonTokenType.EndObject ->
                    match stack.Pop () with
                    | Choice2Of2 (props, start) -> push (JObject (List.ofSeq props, start))
                    | _ -> ()
                | JsonTokenType.PropertyName -> names.Push ((reader.GetString () |> Option.ofObj |> Option.defaultValue "", r))
                | JsonTokenType.Number -> push (JNumber (reader.GetDouble (), r))
                | JsonTokenType.String -> push (JOther ("a string", r))
                | JsonTokenType.True | JsonTokenType.False -> push (JOther ("a boolean", r))
                | JsonTokenType.Null -> push (JOther ("null", r))
                | _ -> ()
            match result with
            | Some n -> Ok n
            | None -> Error (Diagnostic.inFile Codes.PointJson file "the file holds no JSON value")
        with :? JsonException as ex ->
            let line = (if ex.LineNumber.HasValue then int ex.LineNumber.Value else 0) + 1
            let col = (if ex.BytePositionInLine.HasValue then int ex.BytePositionInLine.Value else 0) + 1
            let msg = ex.Message
            let msg = match msg.IndexOf " LineNumber:" with -1 -> msg | i -> msg.Substring (0, i)
            let msg = match msg.IndexOf " Path:" with -1 -> msg | i -> msg.Substring (0, i)
            Error (Diagnostic.at Codes.PointJson (SourceRange.make file (line, col) (line, col + 1)) ("invalid JSON: " + msg.TrimEnd ('.', ' ')))

    /// The values a rule needs at a point, read and size-checked. Parameters not given take their
    /// initial values; tangents not given are zero.
    type Point =
        { Values: Map<string, Value>
          Dims: Map<string, int>
          /// Whether any tangent δX was given (then the differentials are evaluated).
          HasTangents: bool }

    let private kindOf (shape: Shape) =
        match shape with
        | Shape.Scalar -> "a number"
        | Shape.Vector d -> sprintf "a %s vector (an array of numbers)" d
        | Shape.Matrix (r, c) -> sprintf "a %s×%s matrix (an array of rows)" r c

    /// Read a point for a rule. Ok carries the point and any warnings (names the rule does not read).
    /// Every symbol the evaluated expressions read gets a value or an error: the vectors of ones the
    /// simplifier writes (ones_<dim>) come from the known sizes, tangents may be spelled dX for δX.
    let readPoint (file: string) (text: string) (rule: Rule) : Result<Point * Diagnostic list, Diagnostic list> =
        match parseJson file text with
        | Error d -> Error [ d ]
        | Ok (JObject (props, _)) ->
            let diags = ResizeArray<Diagnostic> ()
            let tangentOf = Tangents.state rule
            let isOnes (s: Symbol) = (Expr.onesDim s).IsSome
            let needed = (rule.Inputs |> List.filter (isOnes >> not)) @ (rule.Traces |> List.map (fun t -> t.Symbol))
            let dimsOf (shape: Shape) =
                match shape with
                | Shape.Scalar -> []
                | Shape.Vector d -> [ d ]
                | Shape.Matrix (r, c) -> [ r; c ]
            let ruleDims =
                rule.Weight :: rule.Inputs @ (rule.Traces |> List.map (fun t -> t.Symbol)) |> List.collect (fun s -> dimsOf s.Shape) |> List.distinct
            let ones = ruleDims |> List.map Expr.ones
            let optional =
                (rule.Params |> List.map (fun p -> p.Symbol)) @ (tangentOf |> List.map Differentiate.tangentSymbol) @ ones
            let known = (needed @ optional) |> List.map (fun s -> s.Name, s) |> Map.ofList
            // JSON keys are often typed in ASCII: dR for δR (a name the rule reads itself wins).
            let ascii =
                tangentOf
                |> List.map (fun s -> "d" + s.Name, (Differentiate.tangentSymbol s).Name)
                |> List.filter (fun (a, _) -> not (known.ContainsKey a))
                |> Map.ofList
            let canonical (n: string) = match ascii.TryFind n with Some t -> t | None -> n
            let given = Collections.Generic.Dictionary<string, SourceRange * JsonNode> ()
            let spelled = Collections.Generic.Dictionary<string, string> ()
            for (n, r, v) in props do
                let c = canonical n
                match given.TryGetValue c with
                | true, (r0, _) ->
                    let first = if spelled.[c] = n then "" else " as " + spelled.[c]
                    diags.Add (Diagnostic.at Codes.PointDuplicate r (sprintf "%s is given twice (first%s at %d:%d)" n first r0.Start.Line r0.Start.Col))
                | _ ->
                    if known.ContainsKey c then
                        given.[c] <- (r, v)
                        spelled.[c] <- n
            let given = given |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
            // A name of the language the rule does not read is ignored (one point file may serve several
            // rules); any other name close to one the rule reads is a typo, whose value would be lost.
            let isVariable (n: string) =
                let bare = if n.StartsWith "δ" then n.Substring 1 elif n.StartsWith "d" then n.Substring 1 else n
                (Variables.tryFind n).IsSome || (Variables.tryFind bare).IsSome || n.StartsWith "ones_"
            for (n, r, _) in props do
                if not (known.ContainsKey (canonical n)) then
                    match Suggest.nearest n (Seq.append known.Keys ascii.Keys) with
                    | m :: _ when not (isVariable n) ->
                        let d = Diagnostic.at Codes.PointMisspelled r (sprintf "rule %s reads no %s" rule.Name n)
                        diags.Add (Diagnostic.withHint (sprintf "did you mean %s?" (canonical m)) d)
                    | _ -> diags.Add (Diagnostic.at Codes.PointUnknown r (sprintf "rule %s does not read %s; it is ignored" rule.Name n))
            // Sizes: the first vector or matrix that mentions a dimension fixes it.
            let dims = Collections.Generic.Dictionary<string, int * string> ()
            let fix (dim: string) (n: int) (who: string) (r: SourceRange) =
                match dims.TryGetValue dim with
                | true, (m, from) when m <> n ->
                    diags.Add (Diagnostic.at Codes.PointSize r (sprintf "%s has %d entries, but %s has %d (from %s)" who n dim m from))
                    false
                | true, _ -> true
                | _ ->
                    dims.[dim] <- (n, who)
                    true
            let toValue (s: Symbol) (r: SourceRange) (node: JsonNode) : Value option =
                let wrong () =
                    diags.Add (Diagnostic.at Codes.PointSize (rangeOfNode node) (sprintf "%s must be %s" s.Name (kindOf s.Shape)))
                    None
                let numbers (xs: JsonNode list) =
                    let vs = xs |> List.map (function JNumber (v, _) -> Some v | _ -> None)
                    if vs |> List.forall Option.isSome then Some (vs |> List.map Option.get |> Array.ofList) else None
                match s.Shape, node with
                | Shape.Scalar, JNumber (v, _) -> Some (Value.Scalar v)
                | (Shape.Vector _ | Shape.Matrix _), JArray ([], ar) ->
                    diags.Add (Diagnostic.at Codes.PointSize ar (sprintf "%s is empty; it must be %s" s.Name (kindOf s.Shape)))
                    None
                | Shape.Vector d, JArray (xs, ar) ->
                    match numbers xs with
                    | Some a -> if fix d a.Length s.Name ar then Some (Value.Vector a) else None
                    | None -> wrong ()
                | Shape.Matrix (rd, cd), JArray (rows, ar) ->
                    let rs = rows |> List.map (function JArray (xs, rr) -> numbers xs |> Option.map (fun a -> a, rr) | _ -> None)
                    if rs.IsEmpty || rs |> List.exists Option.isNone then wrong ()
                    else
                        let rs = rs |> List.map Option.get
                        let width = (fst rs.Head).Length
                        match rs |> List.indexed |> List.tryFind (fun (_, (a, _)) -> a.Length <> width) with
                        | Some (i, (a, rr)) ->
                            diags.Add (Diagnostic.at Codes.PointSize rr (sprintf "row %d of %s has %d entries, row 1 has %d" (i + 1) s.Name a.Length width))
                            None
                        | None ->
                            let okR = fix rd rs.Length (s.Name + " (rows)") ar
                            let okC = fix cd width (s.Name + " (columns)") ar
                            if okR && okC then Some (Value.Matrix (Array2D.init rs.Length width (fun i j -> (fst rs.[i]).[j]))) else None
                | _ -> wrong ()
            let values = Collections.Generic.Dictionary<string, Value> ()
            for s in needed do
                match given.TryFind s.Name with
                | Some (r, node) -> toValue s r node |> Option.iter (fun v -> values.[s.Name] <- v)
                | None ->
                    diags.Add (Diagnostic.inFile Codes.PointMissing file (sprintf "no value for %s, %s, which rule %s reads" s.Name (kindOf s.Shape) rule.Name))
            for p in rule.Params do
                match given.TryFind p.Symbol.Name with
                | Some (r, node) -> toValue p.Symbol r node |> Option.iter (fun v -> values.[p.Symbol.Name] <- v)
                | None -> values.[p.Symbol.Name] <- Value.Scalar p.Init
            // A vector of ones may be given (it then fixes its size, and must be ones).
            for s in ones do
                match given.TryFind s.Name with
                | Some (r, node) ->
                    match toValue s r node with
                    | Some v when Value.toArray v |> Array.forall (fun x -> x = 1.0) -> values.[s.Name] <- v
                    | Some _ -> diags.Add (Diagnostic.at Codes.PointSize (rangeOfNode node) (sprintf "%s must be a vector of ones (the runtime binds it so)" s.Name))
                    | None -> ()
                | None -> ()
            let hasTangents = tangentOf |> List.exists (fun s -> given.ContainsKey (Differentiate.tangentSymbol s).Name)
            let dimsMap = dims |> Seq.map (fun kv -> kv.Key, fst kv.Value) |> Map.ofSeq
            for s in ones do
                match values.ContainsKey s.Name, Expr.onesDim s |> Option.bind dimsMap.TryFind with
                | false, Some n -> values.[s.Name] <- Value.Vector (Array.create n 1.0)
                | _ -> ()
            if hasTangents then
                for s in tangentOf do
                    let t = Differentiate.tangentSymbol s
                    match given.TryFind t.Name with
                    | Some (r, node) -> toValue t r node |> Option.iter (fun v -> values.[t.Name] <- v)
                    | None ->
                        let zero =
                            match s.Shape with
                            | Shape.Scalar -> Some (Value.Scalar 0.0)
                            | Shape.Vector d -> dimsMap.TryFind d |> Option.map (fun n -> Value.Vector (Array.zeroCreate n))
                            | Shape.Matrix (r, c) ->
                                match dimsMap.TryFind r, dimsMap.TryFind c with
                                | Some n, Some m -> Some (Value.Matrix (Array2D.zeroCreate n m))
                                | _ -> None
                        match zero with
                        | Some z -> values.[t.Name] <- z
                        | None ->
                            diags.Add (Diagnostic.inFile Codes.PointMissing file (sprintf "no value for %s, and the size of its zero default is unknown" t.Name))
            if diags |> Seq.exists (fun d -> d.IsError) then Error (List.ofSeq diags)
            else
                // What evaluate reads, so that a symbol no one supplied is the user's error, named, not a crash.
                let derivation = Derive.derive rule
                let read =
                    (rule.Update :: (rule.Traces |> List.map (fun t -> t.Next)))
                    @ (derivation.Equations |> List.filter (fun e -> e.Wrt.IsSome || hasTangents) |> List.map (fun e -> e.Expr))
                    |> List.collect Expr.symbols
                    |> List.distinct
                for s in read do
                    if not (values.ContainsKey s.Name) then
                        let why = match Expr.onesDim s with Some d -> sprintf ", and the size of %s is unknown: give a %s vector" d d | None -> ""
                        diags.Add (Diagnostic.inFile Codes.PointMissing file (sprintf "no value for %s%s" s.Name why))
                let shapes = rule.Weight.Shape :: (rule.Traces |> List.map (fun t -> t.Symbol.Shape))
                for d in shapes |> List.collect dimsOf |> List.distinct do
                    if not (dimsMap.ContainsKey d) then
                        diags.Add (Diagnostic.inFile Codes.PointMissing file (sprintf "the size of %s is unknown: give a %s vector or a matrix with %s rows or columns" d d d))
                if diags |> Seq.exists (fun d -> d.IsError) then Error (List.ofSeq diags)
                else
                    let point = { Values = values |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq; Dims = dimsMap; HasTangents = hasTangents }
                    Ok (point, List.ofSeq diags)
        | Ok node -> Error [ Diagnostic.at Codes.PointJson (rangeOfNode node) "a point is a JSON object: { \"name\": value, ... }" ]

    let private writeValue (w: Utf8JsonWriter) (v: Value) =
        let num (x: float) =
            if Double.IsFinite x then x.ToString ("R", Globalization.CultureInfo.InvariantCulture)
            else "\"" + x.ToString (Globalization.CultureInfo.InvariantCulture) + "\""
        // Vectors and matrix rows on one line each: readable and still plain JSON.
        let row (xs: float seq) = "[" + String.Join (", ", xs |> Seq.map num) + "]"
        match v with
        | Value.Scalar x -> w.WriteRawValue (num x)
        | Value.Vector a -> w.WriteRawValue (row a)
        | Value.Matrix m ->
            w.WriteStartArray ()
            for i in 0 .. Array2D.length1 m - 1 do
                w.WriteRawValue (row (seq { for j in 0 .. Array2D.length2 m - 1 -> m.[i, j] }))
            w.WriteEndArray ()

    /// A derivative that simplified to the number 0 still has the shape of what it differentiates.
    let private withShape (dims: Map<string, int>) (shape: Shape) (v: Value) =
        match v, shape with
        | Value.Scalar x, Shape.Vector d -> Value.Vector (Array.create dims.[d] x)
        | Value.Scalar x, Shape.Matrix (r, c) -> Value.Matrix (Array2D.create dims.[r] dims.[c] x)
        | v, _ -> v

    /// Evaluate a rule at a point: ΔW, ∂ΔW/∂θ for every θ, δ(ΔW) when tangents are given, and the
    /// same for each trace's next value. Returns indented JSON.
    [<CompiledName "Evaluate">]
    let evaluate (rule: Rule) (point: Point) : string =
        let ev = Eval.evalNamed point.Values
        let derivation = Derive.derive rule
        use ms = new MemoryStream ()
        (
            use w = new Utf8JsonWriter (ms, JsonWriterOptions (Indented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
            let section (target: string) (expr: Expr) =
                let shape = Typing.shapeOf expr
                w.WritePropertyName "value"
                writeValue w (withShape point.Dims shape (ev expr))
                w.WriteStartObject "partials"
                for e in derivation.Equations do
                    if e.Target = target && e.Wrt.IsSome then
                        w.WritePropertyName e.Wrt.Value.Name
                        writeValue w (withShape point.Dims shape (ev e.Expr))
                w.WriteEndObject ()
                if point.HasTangents then
                    for e in derivation.Equations do
                        if e.Target = target && e.Wrt.IsNone then
                            w.WritePropertyName "differential"
                            writeValue w (withShape point.Dims shape (ev e.Expr))
            w.WriteStartObject ()
            w.WriteString ("rule", rule.Name)
            w.WriteString ("file", rule.File)
            w.WriteStartObject "dims"
            for KeyValue (d, n) in point.Dims do w.WriteNumber (d, n)
            w.WriteEndObject ()
            w.WriteStartObject "update"
            section "ΔW" rule.Update
            w.WriteEndObject ()
            if not rule.Traces.IsEmpty then
                w.WriteStartObject "traces"
                for t in rule.Traces do
                    w.WriteStartObject t.Symbol.Name
                    section (t.Symbol.Name + "_next") t.Next
                    w.WriteEndObject ()
                w.WriteEndObject ()
            w.WriteEndObject ()
        )
        Encoding.UTF8.GetString (ms.ToArray ())
