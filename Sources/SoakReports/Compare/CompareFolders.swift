import Foundation
import SoakCore

/// One side of a comparison as read from disk.
public struct CompareInput: Sendable {
    public var path: String
    public var summary: RunSummary
    /// The `gate:` block of the profile the run was made with (from its timeline), if it had one.
    public var gate: GateConfig?
}

/// A comparison input that cannot be read; the message names the path.
public struct CompareError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads the runs `compare` compares and writes what it finds.
public enum CompareFolders {
    /// `path` is a run folder (its summary rebuilt from `events.jsonl`, as `report` does), a
    /// folder holding only a `summary.json`, or a `summary.json` file.
    public static func read(_ path: String) throws(CompareError) -> CompareInput {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw CompareError("\(path): no such file or folder") }
        if isDir.boolValue {
            if fm.fileExists(atPath: "\(path)/\(RunFolder.timelineName)") {
                do {
                    let (summary, run) = try RunFolder.read(directory: path)
                    return CompareInput(path: path, summary: summary, gate: run?.profile.gate)
                } catch let e as TimelineReader.Failure {
                    throw CompareError("\(e)")
                } catch {
                    throw CompareError("\(path)/\(RunFolder.timelineName): \(ErrorText.describe(error))")
                }
            }
            if fm.fileExists(atPath: "\(path)/summary.json") {
                return CompareInput(path: path, summary: try readSummary("\(path)/summary.json"), gate: nil)
            }
            throw CompareError("\(path): not a run folder (it holds neither \(RunFolder.timelineName) nor summary.json)")
        }
        return CompareInput(path: path, summary: try readSummary(path), gate: nil)
    }

    /// A `summary.json` as a run writes it.
    public static func readSummary(_ path: String) throws(CompareError) -> RunSummary {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CompareError("\(path): cannot be read")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var summary: RunSummary
        do { summary = try decoder.decode(RunSummary.self, from: data) } catch {
            throw CompareError("\(path): not an rpmsg-soak summary.json (\(ErrorText.describe(error)))")
        }
        // The key strategy rewrites dictionary keys too (mailbox_kick_timeout would come back as
        // mailboxKickTimeout): the finding classes are taken as written.
        if let raw = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let counts = raw["finding_counts"] as? [String: Any] {
            summary.findingCounts = counts.compactMapValues { ($0 as? NSNumber)?.uint64Value }
        }
        return summary
    }

    /// Writes `compare.json` and `compare.md` into `directory` (created if needed), and, when
    /// `junit`, `junit.xml` with the gate's cases.
    public static func writeReports(_ c: Comparison, directory: String, junit: Bool) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(c).write(to: URL(fileURLWithPath: "\(directory)/compare.json"), options: .atomic)
        try Data(CompareMarkdown.render(c).utf8).write(to: URL(fileURLWithPath: "\(directory)/compare.md"), options: .atomic)
        if junit {
            try Data(GateJUnit.render(c).utf8).write(to: URL(fileURLWithPath: "\(directory)/junit.xml"), options: .atomic)
        }
    }
}
