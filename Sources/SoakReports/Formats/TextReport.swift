import Foundation
import SoakCore

/// The few lines a person reads first: on the terminal at the end of a run and in JUnit's system-out.
public enum TextReport {
    /// `rpmsg-soak smoke on sim: FAILED (link_failed: no echo for 3s ...)`
    public static func verdictLine(_ s: RunSummary) -> String {
        var why = s.endReason
        if let d = s.endDetail { why = why == s.verdict.rawValue ? d : "\(why): \(d)" }
        // A run that completed and failed failed its criteria: say which, not "completed".
        if s.verdict == .failed && s.endReason == "completed" {
            let failed = s.criteria.filter { !$0.passed }.map(\.name)
            if !failed.isEmpty { why = "criteria: " + failed.joined(separator: ", ") }
        }
        return "rpmsg-soak \(s.profile) on \(s.board): \(s.verdict.rawValue.uppercased()) (\(why))"
    }

    /// `the tester used 3.1% of one CPU (...)`, when the timeline has the tester's own cost.
    public static func testerCostLine(_ s: RunSummary) -> String? {
        s.testerCost.map(ReportSentences.testerCost)
    }

    public static func render(_ s: RunSummary) -> String {
        var lines: [String] = []
        lines.append(verdictLine(s))
        let t = s.totals
        lines.append(String(format: "  %.1f s, %llu sent, %llu echoed (%.0f/s), lost %llu, corrupted %llu, duplicated %llu, out of order %llu, unanswered %llu",
                            s.durationSeconds, t.sent, t.echoed, s.messagesPerSecond, t.lost, t.corrupted, t.duplicated, t.outOfOrder, t.unanswered))
        if let l = s.latencyMicros {
            lines.append("  round trip: p50 \(CriteriaCheck.formatMicros(l.p50)), p99 \(CriteriaCheck.formatMicros(l.p99)), max \(CriteriaCheck.formatMicros(l.max))"
                         + (s.network.map { "; " + ReportSentences.network($0) } ?? ""))
        }
        if let g = s.scheduleLagMicros {
            lines.append("  send lag behind schedule: p50 \(CriteriaCheck.formatMicros(g.p50)), p99 \(CriteriaCheck.formatMicros(g.p99)), max \(CriteriaCheck.formatMicros(g.max))"
                         + (ReportSentences.scheduleLagCaveat(s).map { "; " + $0 } ?? ""))
        }
        if let c = s.testerCost { lines.append("  " + ReportSentences.testerCost(c)) }
        if t.strayBytes > 0 {
            // A timeline of an earlier version has no attribution.
            lines.append("  \(t.strayBytes) stray bytes outside any frame" + (t.strayRuns > 0 ? ": \(t.strayAttribution)" : ""))
        }
        for f in s.linkFailures {
            lines.append("  \(f.kind.rawValue) at \(String(format: "%.3f", f.atSeconds)) s: \(f.diagnosis ?? f.reason)")
        }
        let r = s.reliability
        if r.failures > 0 || r.recoveryAttempts > 0 {
            lines.append("  " + ReportSentences.reliability(r, style: .terminal))
        }
        if !s.findingCounts.isEmpty {
            lines.append("  findings: " + ReportSentences.tally(s.findingCounts))
            // Each class explained once (the decoded -62, what to do), not per finding.
            for m in ReportSentences.findingMeanings(s) {
                lines.append("    \(m.findingClass): \(m.meaning)" + (m.next.map { "; next: \($0)" } ?? ""))
            }
        }
        for c in s.criteria where !c.passed && (s.verdict == .failed || s.verdict == .passed) {
            lines.append("  FAILED \(c.name): \(c.message)")
        }
        for w in s.warnings { lines.append("  warning: \(w)") }
        return lines.joined(separator: "\n")
    }
}
