import Foundation
import Glibc
import SoakCore

/// A run's folder: `events.jsonl` in, `summary.json`, `junit.xml`, `report.txt`, `report.md` and `report.html`
/// out. The reports are a pure function of the timeline, so `rpmsg-soak report DIR` rebuilds them
/// after a crash exactly as a finished run writes them.
public enum RunFolder {
    public static let timelineName = "events.jsonl"

    /// The summary of the run in `directory`, built from its timeline read line by line, and the
    /// run_start's run (its profile: `compare` takes the gate from it).
    public static func read(directory: String) throws -> (summary: RunSummary, run: RunInfo?) {
        try TimelineFold.summary(of: .file(path: "\(directory)/\(timelineName)"))
    }

    /// A timeline cut off mid-line (the tester was killed while writing) loses that torn line
    /// before more is appended to it (`run --resume`); true when there was one. The file is
    /// read backwards from the end, a chunk at a time, to the last newline: the torn line, not
    /// the whole timeline (a resumed 12-hour run's is about 19 MB; issue 14).
    public static func dropTornLastLine(path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var end = info.st_size
        while end > 0 {
            let from = max(0, end - off_t(chunk.count))
            let want = Int(end - from)
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, from) }
            guard n == want else { return false }
            // The file ends with a newline: nothing torn.
            if end == info.st_size, chunk[n - 1] == 0x0A { return false }
            if let newline = chunk[0..<n].lastIndex(of: 0x0A) { return truncate(path, from + off_t(newline) + 1) == 0 }
            end = from
        }
        // One torn line and nothing before it.
        return info.st_size > 0 && truncate(path, 0) == 0
    }

    /// Some report files could not be written: one line per file ("cannot write PATH: No space
    /// left on device"). The summary was built; the files not named were written.
    public struct FilesNotWritten: Error, CustomStringConvertible {
        public var summary: RunSummary
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// Builds the summary from the timeline file and writes every report. With `lost` (the
    /// timeline file could not be written to its end) the events kept in memory complete the
    /// file's; the timeline file is then rewritten whole if the disk takes it now, and a warning
    /// in every report says what was lost. Throws `FilesNotWritten` after trying every file.
    ///
    /// The timeline file is read line by line (twice: the charts' points need their count), so
    /// the memory this takes does not grow with the run's length; only with `lost` are its events
    /// held, bounded by what `KeptEvents` kept.
    public static func writeReports(directory: String, lost: TimelineWriter.Loss? = nil) throws -> RunSummary {
        let path = "\(directory)/\(timelineName)"
        var source = TimelineSource.file(path: path)
        if let lost {
            let (written, warnings) = try TimelineReader.read(path: path)
            source = .events(complete(written, with: lost, directory: directory), warnings: warnings)
        }
        let (summary, timeline) = try TimelineFold.reports(of: source)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var problems: [String] = []
        func write(_ name: String, _ data: () throws -> Data) {
            let path = "\(directory)/\(name)"
            do {
                try data().write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                problems.append(ErrorText.cannot("write", path, error))
            }
        }
        write("summary.json") { try encoder.encode(summary) }
        write("junit.xml") { Data(JUnitReport.render(summary).utf8) }
        write("report.txt") { Data((TextReport.render(summary) + "\n").utf8) }
        write("report.md") { Data(MarkdownReport.render(summary, timeline: timeline).utf8) }
        write("report.html") { Data(HtmlReport.render(summary, timeline: timeline).utf8) }
        if !problems.isEmpty { throw FilesNotWritten(summary: summary, problems: problems) }
        return summary
    }

    /// The file's events and those kept in memory, with a warning before the run's end saying
    /// what was lost; written back as the timeline file when the disk takes it.
    static func complete(_ written: [Event], with lost: TimelineWriter.Loss, directory: String) -> [Event] {
        var events = written + lost.kept
        let path = "\(directory)/\(timelineName)"
        var text = "\(lost.notWritten) events could not be written to \(timelineName): \(lost.failure.reason) (from \(String(format: "%.1f", lost.failure.atSeconds)) s on); the reports were built from the copy kept in memory"
        var kept: [String] = []
        if lost.dropped > 0 { kept.append("\(lost.dropped) findings or anomalies beyond the memory's bounds were dropped (their counts are missing)") }
        if lost.merged > 0 { kept.append("\(lost.merged) interval snapshots were merged into their neighbours (totals and latencies exact, the charts coarser)") }
        if !kept.isEmpty { text += ": " + kept.joined(separator: "; ") }
        let at = events.lastIndex(where: { $0.type == .runEnd }) ?? events.count
        let near = at < events.count ? events[at] : (events.last ?? lost.kept[0])
        func note(_ message: String) -> Event { Event(t: near.t, wall: near.wall, type: .warning, message: message) }

        var whole = events
        whole.insert(note(text + "; \(timelineName) was completed from memory at the end"), at: at)
        if rewrite(path: path, events: whole) { return whole }
        events.insert(note(text + "; \(timelineName) itself still ends at \(String(format: "%.1f", lost.failure.atSeconds)) s (`rpmsg-soak report` on this folder will lack the rest)"), at: at)
        return events
    }

    /// Writes the timeline whole to a temporary file and renames it over `path`; false if the
    /// disk does not take it (nothing is changed then).
    static func rewrite(path: String, events: [Event]) -> Bool {
        let encoder = EventLine.makeEncoder()
        var data = Data()
        for e in events {
            guard let line = try? EventLine.encode(e, with: encoder) else { return false }
            data.append(line)
            data.append(0x0A)
        }
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            return true
        } catch {
            return false
        }
    }
}

extension RunFolder {
    /// The profile name as a folder name: letters, digits, `-`, `_` and `.` kept, anything else
    /// (a `/`, a space, a NUL, a letter outside ASCII) replaced by `_`; no `..`, no leading dot or
    /// dash, at most 100 characters, never empty ("run").
    public static func safeName(_ name: String) -> String {
        var out = ""
        for u in name.unicodeScalars {
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "-" || u == "_" || u == "."
            let c: Character = ok ? Character(u) : "_"
            // Runs of replacements, and any "..", become one "_".
            if c == "_" && out.hasSuffix("_") { continue }
            if c == "." && out.hasSuffix(".") { out.removeLast(); if !out.hasSuffix("_") { out.append("_") }; continue }
            out.append(c)
        }
        while let f = out.first, f == "." || f == "-" || f == "_" { out.removeFirst() }
        while let l = out.last, l == "." || l == "_" { out.removeLast() }
        if out.count > 100 { out = String(out.prefix(100)) }
        return out.isEmpty ? "run" : out
    }
}
