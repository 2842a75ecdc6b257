import Foundation
import SoakCore

/// Finds the run folders of a fleet on disk, reads them, and writes the fleet's reports.
public enum FleetFolders {
    /// The run folders named by `arguments`, each once. An argument is a run folder (it holds
    /// `events.jsonl`), a folder whose subfolders are run folders (`reports/`), or a glob the shell
    /// did not expand. A symlink to a folder already taken (`reports/latest`) is skipped: a run
    /// is never counted twice. Real folders come before symlinks, so a run keeps its own name.
    public static func find(_ arguments: [String]) throws(FleetError) -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        var taken: Set<String> = []
        var empty: [String] = []

        func take(_ path: String) {
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
            if taken.insert(real).inserted { found.append(path) }
        }

        for argument in arguments {
            var paths = [argument]
            if !fm.fileExists(atPath: argument), argument.contains(where: { "*?[".contains($0) }) {
                paths = expand(argument)
                if paths.isEmpty { throw FleetError("\(argument): no file or folder matches") }
            }
            for path in paths {
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw FleetError("\(path): no such file or folder") }
                guard isDir.boolValue else { throw FleetError("\(path): not a folder (give a run folder, or a folder of run folders)") }
                if isRunFolder(path) {
                    take(path)
                    continue
                }
                let children = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
                    .map { "\(path.hasSuffix("/") ? String(path.dropLast()) : path)/\($0)" }
                    .filter(isRunFolder)
                let links = children.filter(isSymlink)
                let runs = children.filter { !isSymlink($0) } + links
                if runs.isEmpty { empty.append(path) }
                runs.forEach(take)
            }
        }
        if found.isEmpty {
            throw FleetError("no run folders found in \(empty.joined(separator: ", ")) (a run folder holds \(RunFolder.timelineName), as `rpmsg-soak run` writes it)")
        }
        return found
    }

    /// Each folder's summary, rebuilt from its timeline as `rpmsg-soak report` would.
    public static func read(_ folders: [String]) throws(FleetError) -> [FleetInput] {
        var inputs: [FleetInput] = []
        for folder in folders {
            do {
                inputs.append(FleetInput(folder: folder, summary: try RunFolder.read(directory: folder).summary))
            } catch let e as TimelineReader.Failure {
                throw FleetError("\(e)")
            } catch {
                throw FleetError("\(folder)/\(RunFolder.timelineName): \(ErrorText.describe(error))")
            }
        }
        return inputs
    }

    /// Writes `summary.json`, `junit.xml`, `report.md` and `report.html` of the fleet into `directory`.
    public static func writeReports(_ runs: [FleetInput], mixed: Bool, directory: String) throws -> FleetSummary {
        let fleet = try FleetSummary.build(runs, mixed: mixed)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(fleet).write(to: URL(fileURLWithPath: "\(directory)/summary.json"), options: .atomic)
        try Data(FleetJUnit.render(runs).utf8).write(to: URL(fileURLWithPath: "\(directory)/junit.xml"), options: .atomic)
        try Data(FleetMarkdown.render(fleet).utf8).write(to: URL(fileURLWithPath: "\(directory)/report.md"), options: .atomic)
        try Data(FleetHtml.render(fleet).utf8).write(to: URL(fileURLWithPath: "\(directory)/report.html"), options: .atomic)
        return fleet
    }

    static func isRunFolder(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(path)/\(RunFolder.timelineName)")
    }

    static func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
    }

    /// The shell's expansion of `pattern`, sorted; empty when nothing matches.
    static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
