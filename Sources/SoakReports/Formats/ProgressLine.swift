import Foundation
import SoakCore

/// One line per interval, link failure and recovery while a run goes on: the sign of life of an
/// overnight soak on a terminal or in a CI log. A pure function of the events, with the little
/// state it needs between them (the previous interval, for the rate).
public struct ProgressLine {
    private var lastEchoed: UInt64 = 0
    private var lastT: Double = 0
    private var failures = 0
    private var recoveries = 0
    /// The run's totals when the current phase began: the lines count the phase's own.
    private var phaseStart = Counters()
    /// The finding classes explained on the console so far: each once.
    private var explained = Set<String>()
    private var lastTotals = Counters()

    public init() {}

    /// A resumed run: its counts so far (the phase's own are counted from here) at run time `t`.
    public init(resumedAt t: Double, totals: Counters) {
        lastT = t
        lastEchoed = totals.echoed
        lastTotals = totals
        phaseStart = totals
    }

    /// The line for `event`, or nil when it is not worth one.
    public mutating func line(for event: Event) -> String? {
        let stamp = "[\(Self.clock(event.t))]"
        switch event.type {
        case .phaseStart:
            phaseStart = lastTotals
            return "\(stamp) phase \(event.phase?.name ?? "?")"
        case .interval:
            guard let s = event.interval else { return nil }
            let t = s.totals
            let dt = event.t - lastT
            let rate = dt > 0 ? Double(t.echoed &- lastEchoed) / dt : 0
            lastEchoed = t.echoed
            lastT = event.t
            lastTotals = t
            let p = t.delta(since: phaseStart)
            var h = EchoVerifier.makeHistogram()
            h.add(sparse: s.latencyMicros)
            let p99 = h.totalCount > 0 ? CriteriaCheck.formatMicros(h.valueAtPercentile(99)) : "-"
            // The phase's own counts (the run's are in the reports): a phase line reads alone.
            var text = "\(stamp) \(s.phase): sent \(p.sent), echoed \(p.echoed) in this phase (\(Int(rate.rounded()))/s), p99 \(p99)"
            if let net = s.networkRoundTripMicros {
                // Over ssh the p99 includes the network: its own round trip beside it.
                var n = EchoVerifier.makeHistogram()
                n.add(sparse: net)
                text += " (network \(CriteriaCheck.formatMicros(n.max)))"
            }
            let bad = [("lost", p.lost), ("corrupted", p.corrupted), ("duplicated", p.duplicated), ("out of order", p.outOfOrder), ("stray bytes", p.strayBytes)]
                .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
            if !bad.isEmpty { text += ", " + bad.joined(separator: ", ") }
            if failures > 0 { text += ", link failures \(failures) (\(recoveries) recovered)" }
            return text
        case .hang, .linkLost:
            failures += 1
            let f = event.failure
            return "\(stamp) LINK FAILED (\(f?.kind.rawValue ?? "?")): \(f?.evidence?.diagnosis ?? f?.reason ?? event.message ?? "")"
        case .recovery:
            guard let r = event.recovery else { return nil }
            if r.succeeded { recoveries += 1 }
            return "\(stamp) recovery: \(event.message ?? r.step.rawValue)"
        case .finding:
            // The first finding of a class that has a next step (the kick timeout, an assert)
            // is explained once, the decoded -62 with it; the rest are in the reports.
            guard let f = event.finding, let next = ReportSentences.nextStep(f.findingClass),
                  explained.insert(f.findingClass).inserted else { return nil }
            return "\(stamp) \(f.findingClass): \(f.explanation); next: \(next)"
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

/// Passes every event on to `next` (the timeline) and prints its progress line.
public final class ProgressSink: EventSink {
    private let next: EventSink
    private var progress = ProgressLine()
    private let write: (String) -> Void

    public init(next: EventSink, resumedAt: (t: Double, totals: Counters)? = nil, write: @escaping (String) -> Void) {
        self.next = next
        self.write = write
        if let r = resumedAt { progress = ProgressLine(resumedAt: r.t, totals: r.totals) }
    }

    public func emit(_ event: Event) {
        next.emit(event)
        if let line = progress.line(for: event) { write(line) }
    }
}
