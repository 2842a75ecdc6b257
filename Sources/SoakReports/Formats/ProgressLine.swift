import Foundation
import SoakCore

/// One line per interval, link failure and recovery while a run goes on: the sign of life of an
/// overnight soak on a terminal or in a CI log. A pure function of the events: the figures come
/// from `LiveFigures`, the same that the status line and the `--metrics` file show.
public struct ProgressLine {
    /// The run's figures so far (the status line and `--metrics` show the same).
    public private(set) var figures = LiveFigures()
    /// The finding classes explained on the console so far: each once.
    private var explained = Set<String>()

    public init() {}

    /// The line for `event`, or nil when it is not worth one.
    public mutating func line(for event: Event) -> String? {
        figures.add(event)
        let f = figures
        let stamp = "[\(Self.clock(event.t))]"
        switch event.type {
        case .phaseStart:
            return "\(stamp) phase \(event.phase?.name ?? "?")"
        case .interval:
            guard let s = event.interval else { return nil }
            let p = f.phaseTotals
            let p99 = f.snapshotLatency.map { CriteriaCheck.formatMicros($0.p99) } ?? "-"
            // The phase's own counts (the run's are in the reports): a phase line reads alone.
            var text = "\(stamp) \(s.phase): sent \(p.sent), echoed \(p.echoed) in this phase (\(Int(f.rate.rounded()))/s), p99 \(p99)"
            // Over ssh the p99 includes the network: its own round trip beside it.
            if let net = f.networkMax { text += " (network \(CriteriaCheck.formatMicros(net)))" }
            let bad = [("lost", p.lost), ("corrupted", p.corrupted), ("duplicated", p.duplicated), ("out of order", p.outOfOrder), ("stray bytes", p.strayBytes)]
                .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
            if !bad.isEmpty { text += ", " + bad.joined(separator: ", ") }
            if f.failureCount > 0 { text += ", link failures \(f.failureCount) (\(f.recovered) recovered)" }
            return text
        case .hang, .linkLost:
            let failure = event.failure
            return "\(stamp) LINK FAILED (\(failure?.kind.rawValue ?? "?")): \(failure?.evidence?.diagnosis ?? failure?.reason ?? event.message ?? "")"
        case .recovery:
            guard let r = event.recovery else { return nil }
            return "\(stamp) recovery: \(event.message ?? r.step.rawValue)"
        case .finding:
            // The first finding of a class that has a next step (the kick timeout, an assert)
            // is explained once, the decoded -62 with it; the rest are in the reports.
            guard let finding = event.finding, let next = ReportSentences.nextStep(finding.findingClass),
                  explained.insert(finding.findingClass).inserted else { return nil }
            return "\(stamp) \(finding.findingClass): \(finding.explanation); next: \(next)"
        case .drained:
            return "\(stamp) \(event.message ?? "drained bytes waiting at open")"
        case .runEnd:
            return "\(stamp) run ended: \(event.end?.reason.rawValue ?? "?")\(event.end?.detail.map { " (\($0))" } ?? "")"
        default:
            return nil
        }
    }

    /// `1:02:03` for a run time in seconds.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
