import Foundation
import SoakCore

/// `report.md`: the run for a CI page (a GitHub job summary, a GitLab or Jenkins description, a
/// merge request comment): the verdict, the criteria as a table, the totals, a table per phase,
/// every link failure with its diagnosis and the step that brought it back (from the timeline's
/// recovery events), the night's statistics, the findings.
public enum MarkdownReport {
    /// `events`: the timeline `s` was built from, whole in memory (none: a summary alone).
    public static func render(_ s: RunSummary, events: [Event] = []) -> String {
        render(s, timeline: events.isEmpty ? nil : TimelineDigest(events: events))
    }

    /// `timeline`: the digest of the timeline `s` was built from (the recovery column); nil for
    /// a summary alone.
    public static func render(_ s: RunSummary, timeline: TimelineDigest?) -> String {
        var md: [String] = []
        let mark = s.verdict == .passed ? "✅" : "❌"
        md.append("## \(mark) \(cell(TextReport.verdictLine(s)))")
        md.append("")
        md.append("Profile `\(code(s.profile))` (\(code(s.profilePath))) on board `\(code(s.board))` (\(code(s.boardPath))), seed \(s.seed), "
                  + "\(String(format: "%.1f", s.durationSeconds)) s from \(s.startedAt) on \(cell(s.host)), \(cell(s.tool)).")
        md.append("")
        let t = s.totals
        md.append("| sent | echoed | msg/s | lost | corrupted | duplicated | out of order | unanswered | p50 | p99 | max |")
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        let l = s.latencyMicros
        let us = { (v: UInt64?) in v.map(CriteriaCheck.formatMicros) ?? "-" }
        md.append("| \(t.sent) | \(t.echoed) | \(String(format: "%.0f", s.messagesPerSecond)) | \(t.lost) | \(t.corrupted) | \(t.duplicated) | "
                  + "\(t.outOfOrder) | \(t.unanswered) | \(us(l?.p50)) | \(us(l?.p99)) | \(us(l?.max)) |")
        if let n = s.network { md += ["", "Latency " + cell(ReportSentences.network(n)) + "."] }
        md += phases(s)
        if let c = s.testerCost { md += ["", "Tester's own cost: " + cell(ReportSentences.testerCost(c)) + "."] }
        if !s.criteria.isEmpty {
            md.append("")
            md.append("| criterion | limit | observed | result |")
            md.append("| --- | ---: | ---: | --- |")
            for c in s.criteria {
                let result = c.notEvaluated == true ? "not evaluated" : c.passed ? "pass" : "**FAIL**: \(cell(c.message))"
                md.append("| \(cell(c.name)) | \(cell(c.limit)) | \(cell(c.observed)) | \(result) |")
            }
        }
        let r = s.reliability
        if !s.linkFailures.isEmpty {
            md.append("")
            md.append(ReportSentences.reliability(r, style: .markdown) + ".")
            md.append("")
            md.append("| # | at | kind | diagnosis | recovery |")
            md.append("| ---: | ---: | --- | --- | --- |")
            let shown = s.linkFailures.prefix(100)
            let recoveries = RecoveryOutcome.perFailure(timeline?.landmarks ?? [])
            for (i, f) in shown.enumerated() {
                // Without the timeline (a summary alone) the recovery is not known: said so, not guessed.
                let recovery = timeline == nil ? "-" : i < recoveries.count ? recoveries[i].brief(failureAt: f.atSeconds) : "not recovered"
                md.append("| \(i + 1) | \(String(format: "%.3f", f.atSeconds)) s | \(f.kind.rawValue) | \(cell(f.diagnosis ?? f.reason)) | \(cell(recovery)) |")
            }
            if s.linkFailures.count > shown.count { md += ["", "… and \(s.linkFailures.count - shown.count) more in `summary.json`."] }
        }
        if !s.findingCounts.isEmpty {
            md.append("")
            md.append("Findings: " + s.findingCounts.keys.sorted().map { "`\(code($0))` ×\(s.findingCounts[$0] ?? 0)" }.joined(separator: ", ") + ".")
            md.append("")
            for m in ReportSentences.findingMeanings(s) {
                md.append("- `\(code(m.findingClass))`: \(cell(m.meaning))" + (m.next.map { ". Next: \(cell($0))" } ?? ""))
            }
        }
        if !s.warnings.isEmpty {
            md.append("")
            for w in s.warnings { md.append("- warning: \(cell(w))") }
        }
        md.append("")
        return md.joined(separator: "\n")
    }

    /// One row per phase: how long it ran, its own counts, the echo rate it achieved and its latency.
    static func phases(_ s: RunSummary) -> [String] {
        guard !s.phases.isEmpty else { return [] }
        var md = ["", "| phase | start | duration | sent | echoed | lost | corrupted | echoed/s | p50 | p99 | max |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        let us = { (v: UInt64?) in v.map(CriteriaCheck.formatMicros) ?? "-" }
        for (i, p) in s.phases.enumerated() {
            // A phase lasts until the next begins; the last until the run ended (early, when it was cut short).
            let seconds = s.phaseSeconds(i)
            let t = p.totals
            let rate = seconds > 0 ? String(format: "%.1f", Double(t.echoed) / seconds) : "-"
            let l = p.latencyMicros
            md.append("| \(cell(p.name)) | \(TimeText.runTime(p.startSeconds)) | \(TimeText.duration(seconds)) | \(t.sent) | \(t.echoed) | \(t.lost) | "
                      + "\(t.corrupted) | \(rate) | \(us(l?.p50)) | \(us(l?.p99)) | \(us(l?.max)) |")
        }
        return md
    }

    /// Text for a table cell or a line, one line, Markdown's characters escaped. `<` and `&` are
    /// escaped only where they would start a tag or an entity, so `<= 0` stays readable in a
    /// terminal; control characters become U+FFFD.
    static func cell(_ text: String) -> String {
        var out = ""
        let chars = Array(text.unicodeScalars)
        for (i, u) in chars.enumerated() {
            let next = i + 1 < chars.count ? chars[i + 1] : nil
            let startsName = next.map { ($0.properties.isAlphabetic) || "/!?#".unicodeScalars.contains($0) } ?? false
            switch u {
            case "<" where startsName: out += "&lt;"
            case "&" where startsName: out += "&amp;"
            case "|", "\\", "*", "_", "`", "[", "]": out += "\\" + String(u)
            case "\n", "\t": out += " "
            default:
                if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { out += "\u{FFFD}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// Text inside backticks: a backtick cannot be escaped there, so it is replaced.
    static func code(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "\n", with: " ")
    }
}
