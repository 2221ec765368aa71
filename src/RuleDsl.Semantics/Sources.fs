namespace RuleDsl.Semantics

open System.IO
open RuleDsl.Syntax

/// A file an experiment's run reads besides the experiment itself, with its text as read.
type ExperimentSource =
    { /// The path as it was read (what a message shows the user).
      Path: string
      Text: string
      /// A model or rule shipped inside ruledsl (Path names it, no file on disk): the default model, a std/ file.
      Shipped: bool }

/// The files an experiment depends on: its rule files with everything they include, and its model.
/// A run records them so that a resumed run can tell whether they still say the same.
module Sources =
    /// The .model file an experiment names, as it is found (relative to the experiment file, or to
    /// the working directory); None for the shipped model of its setting.
    [<CompiledName "ModelPath">]
    let modelPath (fs: FileSystem) (spec: ExperimentSpec) : string option =
        if spec.ModelFile = "" then None
        else
            let dir = Path.GetDirectoryName spec.File |> string
            [ Path.Combine (dir, spec.ModelFile); spec.ModelFile ]
            |> List.map Loader.normalize
            |> List.tryFind (fun p -> (Std.read fs p).IsSome)
            |> Option.defaultValue spec.ModelFile
            |> Some

    /// The shipped model's name (models/NAME.model) for a setting.
    let shippedModel (setting: Setting) = match setting with Setting.Recurrent -> "rnn" | Setting.Feedforward -> "mlp"

    /// The rule files (as the checked rules name them: Rule.File) and every file they include, in
    /// load order, then the model (the shipped one as models/NAME.model, Shipped). Files that
    /// cannot be read are left out: loading the experiment has reported them already.
    [<CompiledName "OfExperiment">]
    let ofExperiment (fs: FileSystem) (spec: ExperimentSpec) (ruleFiles: string seq) : ExperimentSource list =
        let program = Loader.create ()
        for f in Seq.distinct ruleFiles do Loader.load fs program f |> ignore
        let read k = Std.read fs k |> Option.map (fun t -> { Path = k; Text = t; Shipped = Std.isShipped fs k })
        let rules = program.Order |> Seq.choose read |> List.ofSeq
        let model =
            match modelPath fs spec with
            | Some p -> read p |> Option.toList
            | None ->
                let name = shippedModel spec.Setting
                [ { Path = sprintf "models/%s.model" name; Text = ModelFile.shippedText name; Shipped = true } ]
        rules @ model
