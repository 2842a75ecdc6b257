/// Pass criteria applied to what a run counted. Pure: the same timeline gives the same verdict.
public struct CriterionResult: Codable, Sendable, Equatable {
    public var name: String
    public var limit: String
    public var observed: String
    public var passed: Bool
    public var message: String
    /// Set when the run ended before the criterion could mean anything (nothing was sent: the
    /// hardware could not be reached); then `passed` is false and the reports say "not evaluated".
    public var notEvaluated: Bool? = nil

    public init(name: String, limit: String, observed: String, passed: Bool, message: String) {
        self.name = name; self.limit = limit; self.observed = observed; self.passed = passed; self.message = message
    }

    /// The result column of a criteria table: pass, FAIL, or not evaluated.
    public var result: String { notEvaluated == true ? "not evaluated" : passed ? "pass" : "FAIL" }
}

public enum Verdict: String, Codable, Sendable {
    case passed, failed
    /// The hardware could not be reached or the tester itself failed.
    case error
    case interrupted
    /// The timeline ends without a run_end: the tester crashed or was killed.
    case incomplete

    /// The process exit status DESIGN.md gives each verdict.
    public var exitCode: Int32 {
        switch self {
        case .passed: return 0
        case .failed, .incomplete: return 1
        case .error: return 3
        case .interrupted: return 130
        }
    }
}

public enum CriteriaCheck {
    public static func evaluate(_ c: PassCriteria, totals: Counters, hangs: UInt64, linkLosses: UInt64,
                                latency: LatencyCounts) -> [CriterionResult] {
        var out: [CriterionResult] = []
        func count(_ name: String, _ limit: UInt64?, _ observed: UInt64, _ what: String) {
            guard let limit else { return }
            let ok = observed <= limit
            out.append(CriterionResult(name: name, limit: "<= \(limit)", observed: "\(observed)", passed: ok,
                                       message: ok ? "\(observed) \(what)" : "\(observed) \(what), at most \(limit) allowed"))
        }
        count("lost", c.maxLost, totals.lost, "messages lost")
        count("corrupted", c.maxCorrupted, totals.corrupted, "messages corrupted")
        count("duplicated", c.maxDuplicated, totals.duplicated, "messages duplicated")
        count("out_of_order", c.maxOutOfOrder, totals.outOfOrder, "messages out of order")
        if let limit = c.maxStrayBytes {
            let observed = totals.strayBytes
            let ok = observed <= limit
            let what = observed == 0 ? "0 stray bytes outside any frame"
                : "\(observed) stray bytes outside any frame: \(totals.strayAttribution)"
            out.append(CriterionResult(name: "stray_bytes", limit: "<= \(limit)", observed: "\(observed)", passed: ok,
                                       message: ok ? what : "\(what), at most \(limit) allowed"))
        }
        count("hangs", c.maxHangs, hangs, "link hangs (no echo within hang_timeout, or a fatal finding such as the kick timeout that ends the link at once)")
        count("link_lost", c.maxHangs, linkLosses, "link hang-ups (the tty went away)")
        func latencyLimit(_ name: String, _ limit: SoakDuration?, _ micros: UInt64, _ what: String) {
            guard let limit else { return }
            let limitMicros = limit.nanoseconds / 1000
            let ok = latency.isEmpty || micros <= limitMicros
            let obs = latency.isEmpty ? "no echoes" : formatMicros(micros)
            out.append(CriterionResult(name: name, limit: "<= \(limit)", observed: obs, passed: ok,
                                       message: ok ? "\(what) \(obs)" : "\(what) \(obs), above the limit of \(limit)"))
        }
        latencyLimit("latency_p99", c.maxLatencyP99, latency.isEmpty ? 0 : latency.value(atPercentile: 99), "round-trip p99")
        latencyLimit("latency_max", c.maxLatency, latency.isEmpty ? 0 : latency.max, "round-trip max")
        if let minEchoed = c.minEchoed {
            let ok = totals.echoed >= minEchoed
            out.append(CriterionResult(name: "min_echoed", limit: ">= \(minEchoed)", observed: "\(totals.echoed)", passed: ok,
                                       message: ok ? "\(totals.echoed) messages echoed" : "only \(totals.echoed) messages echoed, at least \(minEchoed) needed"))
        }
        return out
    }

    public static func formatMicros(_ us: UInt64) -> String {
        if us >= 1_000_000 { return String(format3(Double(us) / 1e6)) + " s" }
        if us >= 1000 { return String(format3(Double(us) / 1e3)) + " ms" }
        return "\(us) us"
    }

    static func format3(_ v: Double) -> String {
        let r = (v * 1000).rounded() / 1000
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
