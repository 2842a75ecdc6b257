import Foundation
import Glibc
import SoakCore

/// A run's folder: `events.jsonl` in, `summary.json`, `junit.xml`, `report.txt`, `report.md` and `report.html`
/// out. The reports are a pure function of the timeline, so `rpmsg-soak report DIR` rebuilds them
/// after a crash exactly as a finished run writes them.
public enum RunFolder {
    public static let timelineName = "events.jsonl"

    /// The summary of the run in `directory`, built from its timeline, and the timeline.
    public static func read(directory: String) throws -> (summary: RunSummary, events: [Event]) {
        let (events, warnings) = try TimelineReader.read(path: "\(directory)/\(timelineName)")
        return (try SummaryBuilder.build(events: events, warnings: warnings), events)
    }

    /// A timeline cut off mid-line (the tester was killed while writing) loses that torn line
    /// before more is appended to it (`run --resume`); true when there was one.
    public static func dropTornLastLine(path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), let last = data.last, last != 0x0A else { return false }
        let keep = (data.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        return truncate(path, off_t(keep)) == 0
    }

    public static func writeReports(directory: String) throws -> RunSummary {
        let (summary, events) = try read(directory: directory)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: "\(directory)/summary.json"), options: .atomic)
        try Data(JUnitReport.render(summary).utf8).write(to: URL(fileURLWithPath: "\(directory)/junit.xml"), options: .atomic)
        try Data((TextReport.render(summary) + "\n").utf8).write(to: URL(fileURLWithPath: "\(directory)/report.txt"), options: .atomic)
        try Data(MarkdownReport.render(summary, events: events).utf8).write(to: URL(fileURLWithPath: "\(directory)/report.md"), options: .atomic)
        try Data(HtmlReport.render(summary, events: events).utf8).write(to: URL(fileURLWithPath: "\(directory)/report.html"), options: .atomic)
        return summary
    }
}
