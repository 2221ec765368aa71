namespace RuleDsl.Semantics

open System
open System.IO
open System.Collections.Generic
open RuleDsl.Syntax

/// Where source files come from: the disk, or memory (tests, notebooks).
type FileSystem =
    { Read: string -> string option
      /// File names (not paths) in a directory, for "did you mean" on a missing include.
      List: string -> string list }

module FileSystem =
    /// Files relative to the current directory (or absolute).
    let disk : FileSystem =
        { Read = fun p -> if File.Exists p then Some (File.ReadAllText p) else None
          List =
            fun d ->
                let d = if d = "" then "." else d
                if Directory.Exists d then Directory.GetFiles d |> Array.choose (fun f -> Option.ofObj (Path.GetFileName f)) |> List.ofArray else [] }

    /// Paths resolved against a root directory (tests run from their bin folder).
    let rooted (root: string) : FileSystem =
        let full (p: string) = if Path.IsPathRooted p then p else Path.Combine (root, p)
        { Read = fun p -> disk.Read (full p)
          List = fun d -> disk.List (full d) }

    /// Files held in memory, keyed by normalised path.
    let ofMap (files: Map<string, string>) : FileSystem =
        { Read = fun p -> files.TryFind p
          List =
            fun d ->
                files
                |> Map.toList
                |> List.map fst
                |> List.filter (fun p -> (match p.LastIndexOf '/' with -1 -> "" | i -> p.Substring (0, i)) = d)
                |> List.map (fun p -> p.Substring (p.LastIndexOf '/' + 1)) }

/// The standard library: the shipped rules (rules/*.rule) and models (models/*.model), embedded in this
/// assembly and named `std/NAME` (`include "std/terms.rule"`, `rule = std/fa.rule fa`,
/// `model = std/mlp.model`), so they are found from any folder. A file on disk of the same path wins.
module Std =
    let prefix = "std/"

    let private asm = Reflection.Assembly.GetExecutingAssembly ()

    /// The library's files, `std/NAME` each, sorted.
    let names : string list =
        asm.GetManifestResourceNames () |> Array.filter (fun n -> n.StartsWith prefix) |> Array.sort |> List.ofArray

    /// A library file's text by its `std/NAME` path.
    let tryRead (path: string) : string option =
        if not (path.StartsWith prefix) then None
        else
            match asm.GetManifestResourceStream path with
            | null -> None
            | stream ->
                use reader = new StreamReader (stream)
                Some (reader.ReadToEnd ())

    /// A file as the language reads it: from the file system, else (a `std/` path) from the library.
    let read (fs: FileSystem) (path: string) : string option =
        match fs.Read path with
        | Some t -> Some t
        | None -> tryRead path

    /// True when `read` takes this path from the library (no file of that path on disk).
    let isShipped (fs: FileSystem) (path: string) = (fs.Read path).IsNone && (tryRead path).IsSome

/// A parsed file and the files it includes (by normalised path, in order).
type LoadedFile =
    { Source: Ast.SourceFile
      Includes: string list }

/// Every file reachable from the files asked for, each parsed once.
type Program =
    { Files: Dictionary<string, LoadedFile>
      /// Load order, for stable sorting of diagnostics.
      Order: List<string>
      Diagnostics: List<Diagnostic> }

    /// Source line n (1-based) of a file, for rendering diagnostics.
    member this.LineOf (file: string) (n: int) : string option =
        match this.Files.TryGetValue file with
        | true, f when n >= 1 && n <= f.Source.Lines.Length -> Some f.Source.Lines.[n - 1]
        | _ -> None

module Loader =
    /// Forward slashes, "." and ".." resolved where possible; relative paths stay relative.
    let normalize (path: string) : string =
        let p = path.Replace ('\\', '/')
        let rooted = p.StartsWith "/"
        let parts = p.Split ('/', StringSplitOptions.RemoveEmptyEntries)
        let stack = List<string> ()
        for part in parts do
            match part with
            | "." -> ()
            | ".." when stack.Count > 0 && stack.[stack.Count - 1] <> ".." -> stack.RemoveAt (stack.Count - 1)
            | ".." when rooted -> ()
            | part -> stack.Add part
        (if rooted then "/" else "") + String.Join ("/", stack)

    let private dirOf (path: string) =
        match path.LastIndexOf '/' with
        | -1 -> ""
        | i -> path.Substring (0, i)

    let private isRooted (path: string) =
        path.StartsWith "/" || path.StartsWith "\\" || (path.Length >= 3 && path.[1] = ':' && (path.[2] = '/' || path.[2] = '\\'))

    let create () : Program = { Files = Dictionary (); Order = List (); Diagnostics = List () }

    /// Load a file and everything it includes into the program. Returns the file's key, or None
    /// when it cannot be read.
    let rec private loadFrom (fs: FileSystem) (program: Program) (stack: string list) (path: string) : string option =
        let key = normalize path
        if program.Files.ContainsKey key then Some key
        else
            match Std.read fs key with
            | None -> None
            | Some text ->
                let source, diags = Parser.parseFile key text
                program.Diagnostics.AddRange diags
                // Register before loading includes so that a cycle finds it.
                program.Files.[key] <- { Source = source; Includes = [] }
                program.Order.Add key
                let includes =
                    source.Items
                    |> List.choose (function
                        | Ast.TopStatement { Stmt = Ast.Include (rel, range) } ->
                            // An absolute include stands on its own; a relative one is relative to the including
                            // file, and a `std/` one that is not there is the standard library's.
                            let beside = normalize (if dirOf key = "" || isRooted rel then rel else dirOf key + "/" + rel)
                            let std = normalize rel
                            let fromStd = std.StartsWith Std.prefix && beside <> std && (Std.read fs beside).IsNone && (Std.tryRead std).IsSome
                            let target = if fromStd then std else beside
                            if target = key || List.contains target stack then
                                let chain = (List.rev (key :: stack) |> List.skipWhile (fun s -> s <> target)) @ [ target ]
                                program.Diagnostics.Add (
                                    Diagnostic.at Codes.IncludeCycle range (sprintf "cyclic include: %s" (String.Join (" → ", chain)))
                                )
                                None
                            else
                                match loadFrom fs program (key :: stack) target with
                                | Some k -> Some k
                                | None when std.StartsWith Std.prefix ->
                                    // Neither beside the including file nor in the library: name the library's files.
                                    let d = Diagnostic.at Codes.IncludeNotFound range (sprintf "cannot find included file %s (not at %s, not in ruledsl's standard library)" rel target)
                                    let near = Suggest.nearest std Std.names
                                    program.Diagnostics.Add (
                                        match near with
                                        | n :: _ -> Diagnostic.withHint (sprintf "did you mean include \"%s\"?" n) d
                                        | [] -> Diagnostic.withHint (sprintf "the standard library holds %s" (String.Join (", ", Std.names))) d
                                    )
                                    None
                                | None ->
                                    let d = Diagnostic.at Codes.IncludeNotFound range (sprintf "cannot find included file %s" target)
                                    let name = target.Substring (target.LastIndexOf '/' + 1)
                                    let near = Suggest.nearest name (fs.List (dirOf target))
                                    program.Diagnostics.Add (
                                        match near with
                                        | n :: _ -> Diagnostic.withHint (sprintf "did you mean include \"%s\"?" (let d = dirOf rel in if d = "" then n else d + "/" + n)) d
                                        | [] -> Diagnostic.withHint "include paths are relative to the including file, or std/NAME for the standard library" d
                                    )
                                    None
                        | _ -> None)
                program.Files.[key] <- { Source = source; Includes = includes }
                Some key

    /// Load a file the user named (a missing file is an error of its own).
    let load (fs: FileSystem) (program: Program) (path: string) : string option =
        match loadFrom fs program [] path with
        | Some k -> Some k
        | None ->
            program.Diagnostics.Add (Diagnostic.inFile Codes.FileNotFound (normalize path) "cannot read this file (it does not exist or is not readable)")
            None

    /// The files whose top-level definitions a file sees: its includes, transitively, each once,
    /// in include order, then the file itself.
    let visibleFiles (program: Program) (key: string) : string list =
        let seen = HashSet<string> ()
        let out = List<string> ()
        let rec go k =
            if seen.Add k then
                match program.Files.TryGetValue k with
                | true, f ->
                    for i in f.Includes do go i
                    out.Add k
                | _ -> ()
        go key
        List.ofSeq out
