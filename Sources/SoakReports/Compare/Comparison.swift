import Foundation
import SoakCore

/// A run judged against a baseline run: per phase (matched by name) and overall, each metric with
/// both values, the change, the limit and the verdict. A pure function of two summaries and a gate.
public struct Comparison: Codable, Sendable {
    public var schema = "rpmsg-soak/compare/1"
    public var baseline: Side
    public var current: Side
    public var gate: GateConfig
    /// `passed` (no regression) or `regressed`.
    public var verdict: String
    public var regressions: Int
    public var checks: [Check]
    /// Finding classes the current run has and the baseline has not, with their counts.
    public var newFindings: [String: UInt64]
    /// Phases of one run only: shown, not judged.
    public var phasesOnlyInBaseline: [String]
    public var phasesOnlyInCurrent: [String]
    public var notes: [String]

    public var regressed: Bool { regressions > 0 }
    public var exitCode: Int32 { regressed ? 1 : 0 }

    /// One run as compared: where it came from and what it was.
    public struct Side: Codable, Sendable {
        public var path: String
        public var profile: String
        public var board: String
        public var seed: UInt64
        public var startedAt: String
        public var durationSeconds: Double
        public var verdict: String
    }

    public struct Check: Codable, Sendable {
        /// Stable: `gate.latency_p99` overall, `gate.phase.<phase>.latency_p99` for a phase.
        public var name: String
        /// `overall`, or the phase's name.
        public var scope: String
        public var metric: String
        public var unit: String
        public var baseline: Double?
        public var current: Double?
        /// (current - baseline) / baseline in percent; nil when the baseline is 0 or missing.
        public var changePercent: Double?
        /// The limit as configured and, where it is a number, what it means here.
        public var limit: String
        /// One-sided p-value of the exact test (failure rates only).
        public var pValue: Double?
        public var verdict: Verdict
        public var message: String
    }

    public enum Verdict: String, Codable, Sendable {
        case ok
        case regression
        /// Worse, but the gate only warns (new findings with `warn`).
        case warning
        /// Cannot be judged: a value is missing in one run.
        case skipped
        /// Shown, not judged (the gate has the metric off, or it is a figure for reading).
        case info
    }
}

extension Comparison {
    public static func build(baseline b: RunSummary, baselinePath: String, current c: RunSummary, currentPath: String,
                             gate: GateConfig) -> Comparison {
        var checks: [Check] = []
        var notes: [String] = []
        if b.profile != c.profile {
            notes.append("the runs are of different profiles (\(b.profile), \(c.profile)): phases are matched by name")
        }
        for (s, which) in [(b, "baseline"), (c, "current")] where s.verdict != .passed {
            notes.append("the \(which) run did not pass its own criteria (\(s.verdict.rawValue))")
        }

        // Overall.
        checks += latencyChecks(prefix: "gate", scope: "overall", b.latencyMicros, c.latencyMicros, gate: gate)
        checks.append(throughputCheck(prefix: "gate", scope: "overall", b.messagesPerSecond, c.messagesPerSecond, gate: gate))
        checks += reliabilityChecks(b, c, gate: gate)

        // New finding classes.
        // Info findings (a tty installed, a firmware banner) are news, not defects: a class whose
        // every listed finding is info is not judged.
        var onlyInfo: [String: Bool] = [:]
        for f in c.findings { onlyInfo[f.finding.findingClass] = (onlyInfo[f.finding.findingClass] ?? true) && f.finding.severity == .info }
        let newClasses = c.findingCounts.filter { $0.value > 0 && (b.findingCounts[$0.key] ?? 0) == 0 && onlyInfo[$0.key] != true }
        let listed = newClasses.keys.sorted().map { "\($0) x\(newClasses[$0]!)" }.joined(separator: ", ")
        let findingsVerdict: Verdict = newClasses.isEmpty ? (gate.newFindings == .off ? .info : .ok)
            : gate.newFindings == .fail ? .regression : gate.newFindings == .warn ? .warning : .info
        checks.append(Check(name: "gate.new_findings", scope: "overall", metric: "new_findings", unit: "classes",
                            baseline: Double(b.findingCounts.filter { $0.value > 0 }.count),
                            current: Double(c.findingCounts.filter { $0.value > 0 }.count), changePercent: nil,
                            limit: "new_findings: \(gate.newFindings.rawValue)", pValue: nil, verdict: findingsVerdict,
                            message: newClasses.isEmpty ? "no finding class the baseline did not have"
                                : "finding classes absent from the baseline: \(listed)"))

        // Phases, matched by name (a repeated name is matched in order of appearance).
        let bPhases = phaseFigures(b), cPhases = phaseFigures(c)
        var bByName: [String: [PhaseFigures]] = Dictionary(grouping: bPhases, by: \.name)
        var onlyCurrent: [String] = []
        for cp in cPhases {
            guard var list = bByName[cp.name], !list.isEmpty else {
                onlyCurrent.append(cp.name)
                continue
            }
            let bp = list.removeFirst()
            bByName[cp.name] = list
            let prefix = "gate.phase.\(cp.name)"
            checks += latencyChecks(prefix: prefix, scope: cp.name, bp.latency, cp.latency, gate: gate)
            checks.append(throughputCheck(prefix: prefix, scope: cp.name, bp.messagesPerSecond, cp.messagesPerSecond, gate: gate))
        }
        var unmatchedBaseline: [String] = []
        for p in bPhases where (bByName[p.name]?.count ?? 0) > 0 && !unmatchedBaseline.contains(p.name) {
            unmatchedBaseline.append(p.name)
        }
        if !unmatchedBaseline.isEmpty { notes.append("phases only in the baseline (not judged): \(unmatchedBaseline.joined(separator: ", "))") }
        if !onlyCurrent.isEmpty { notes.append("phases only in the current run (not judged): \(onlyCurrent.joined(separator: ", "))") }

        let regressions = checks.filter { $0.verdict == .regression }.count
        return Comparison(baseline: side(b, baselinePath), current: side(c, currentPath), gate: gate,
                          verdict: regressions > 0 ? "regressed" : "passed", regressions: regressions, checks: checks,
                          newFindings: newClasses, phasesOnlyInBaseline: unmatchedBaseline, phasesOnlyInCurrent: onlyCurrent,
                          notes: notes)
    }

    static func side(_ s: RunSummary, _ path: String) -> Side {
        Side(path: path, profile: s.profile, board: s.board, seed: s.seed, startedAt: s.startedAt,
             durationSeconds: s.durationSeconds, verdict: s.verdict.rawValue)
    }

    /// A phase's figures: its latency and its messages per second over its own duration (up to
    /// the next phase's start; the last phase up to the end of the run, its drain included).
    struct PhaseFigures {
        var name: String
        var latency: LatencySummary?
        var messagesPerSecond: Double?
    }

    static func phaseFigures(_ s: RunSummary) -> [PhaseFigures] {
        s.phases.enumerated().map { i, p in
            let seconds = s.phaseSeconds(i)
            return PhaseFigures(name: p.name, latency: p.latencyMicros,
                                messagesPerSecond: seconds > 0 ? Double(p.totals.sent) / seconds : nil)
        }
    }

    static func change(_ b: Double?, _ c: Double?) -> Double? {
        guard let b, let c, b != 0 else { return nil }
        return (c - b) / b * 100
    }

    static func latencyChecks(prefix: String, scope: String, _ b: LatencySummary?, _ c: LatencySummary?, gate: GateConfig) -> [Check] {
        let metrics: [(String, Double?, KeyPath<LatencySummary, UInt64>)] = [
            ("latency_p50", gate.latencyP50, \.p50), ("latency_p99", gate.latencyP99, \.p99), ("latency_max", gate.latencyMax, \.max),
        ]
        return metrics.map { metric, tolerance, key in
            let bv = b.map { Double($0[keyPath: key]) }, cv = c.map { Double($0[keyPath: key]) }
            var check = Check(name: "\(prefix).\(metric)", scope: scope, metric: metric, unit: "us", baseline: bv, current: cv,
                              changePercent: change(bv, cv), limit: "off", pValue: nil, verdict: .info, message: "")
            guard let tolerance else {
                check.message = "\(metric) not judged (gate \(metric): off)"
                return check
            }
            let allowed = (bv ?? 0) * (1 + tolerance / 100)
            check.limit = "+\(num(tolerance))%"
            guard let bv, let cv else {
                check.verdict = .skipped
                check.message = "\(metric): no latency measured in the \(bv == nil ? "baseline" : "current") run"
                return check
            }
            let floor = Double(gate.latencyFloorMicros)
            check.limit = "+\(num(tolerance))% (<= \(num(max(allowed, bv + floor))) us)"
            let worse = cv > allowed && cv - bv > floor
            check.verdict = worse ? .regression : .ok
            check.message = "\(scope) \(metric): baseline \(num(bv)) us, current \(num(cv)) us (\(signed(check.changePercent))), "
                + "limit +\(num(tolerance))% and more than \(gate.latencyFloorMicros) us"
            return check
        }
    }

    static func throughputCheck(prefix: String, scope: String, _ bv: Double?, _ cv: Double?, gate: GateConfig) -> Check {
        var check = Check(name: "\(prefix).messages_per_second", scope: scope, metric: "messages_per_second", unit: "msg/s",
                          baseline: bv, current: cv, changePercent: change(bv, cv), limit: "off", pValue: nil, verdict: .info, message: "")
        guard let tolerance = gate.messagesPerSecond else {
            check.message = "messages_per_second not judged (gate messages_per_second: off)"
            return check
        }
        check.limit = "-\(num(tolerance))%"
        guard let bv, let cv, bv > 0 else {
            check.verdict = .skipped
            check.message = "\(scope) messages_per_second: no traffic in the baseline"
            return check
        }
        let allowed = bv * (1 - tolerance / 100)
        check.limit = "-\(num(tolerance))% (>= \(num(allowed)) msg/s)"
        check.verdict = cv < allowed ? .regression : .ok
        check.message = "\(scope) messages_per_second: baseline \(num(bv)), current \(num(cv)) (\(signed(check.changePercent))), limit -\(num(tolerance))%"
        return check
    }

    static func reliabilityChecks(_ b: RunSummary, _ c: RunSummary, gate: GateConfig) -> [Check] {
        var checks: [Check] = []
        let br = b.reliability, cr = c.reliability
        checks.append(Check(name: "gate.mtbf", scope: "overall", metric: "mtbf", unit: "s", baseline: br.mtbfSeconds,
                            current: cr.mtbfSeconds, changePercent: change(br.mtbfSeconds, cr.mtbfSeconds), limit: "see failure_rate",
                            pValue: nil, verdict: .info,
                            message: "MTBF \(br.mtbfSeconds.map { "\(num($0)) s" } ?? "none (no failure)") -> \(cr.mtbfSeconds.map { "\(num($0)) s" } ?? "none (no failure)")"))
        checks.append(Check(name: "gate.failures_per_million", scope: "overall", metric: "failures_per_million", unit: "per 1e6 msg",
                            baseline: br.failuresPerMillionMessages, current: cr.failuresPerMillionMessages,
                            changePercent: change(br.failuresPerMillionMessages, cr.failuresPerMillionMessages), limit: "see failure_rate",
                            pValue: nil, verdict: .info, message: "link failures per million messages"))

        // Link failures per hour of uptime.
        let perHour = { (f: Int, up: Double) -> Double? in up > 0 ? Double(f) / up * 3600 : nil }
        checks.append(rateCheck(name: "gate.failure_rate", metric: "failure_rate", unit: "failures/h",
                                baseline: (UInt64(max(0, br.failures)), br.uptimeSeconds, perHour(br.failures, br.uptimeSeconds)),
                                current: (UInt64(max(0, cr.failures)), cr.uptimeSeconds, perHour(cr.failures, cr.uptimeSeconds)),
                                exposure: "s of uptime", alpha: gate.failureRateAlpha))

        // Lost, corrupted, duplicated and out-of-order messages per million sent.
        func errors(_ t: Counters) -> UInt64 { t.lost + t.corrupted + t.duplicated + t.outOfOrder }
        let perMillion = { (n: UInt64, sent: UInt64) -> Double? in sent > 0 ? Double(n) / Double(sent) * 1e6 : nil }
        checks.append(rateCheck(name: "gate.message_errors", metric: "message_errors", unit: "per 1e6 msg",
                                baseline: (errors(b.totals), Double(b.totals.sent), perMillion(errors(b.totals), b.totals.sent)),
                                current: (errors(c.totals), Double(c.totals.sent), perMillion(errors(c.totals), c.totals.sent)),
                                exposure: "messages", alpha: gate.messageErrorsAlpha))
        return checks
    }

    static func rateCheck(name: String, metric: String, unit: String, baseline: (count: UInt64, exposure: Double, rate: Double?),
                          current: (count: UInt64, exposure: Double, rate: Double?), exposure: String, alpha: Double?) -> Check {
        var check = Check(name: name, scope: "overall", metric: metric, unit: unit, baseline: baseline.rate, current: current.rate,
                          changePercent: change(baseline.rate, current.rate), limit: "off", pValue: nil, verdict: .info, message: "")
        let counts = "baseline \(baseline.count) in \(num(baseline.exposure)) \(exposure), current \(current.count) in \(num(current.exposure)) \(exposure)"
        guard let alpha else {
            check.message = "\(metric) not judged (gate \(metric): off): \(counts)"
            return check
        }
        check.limit = "p<\(num(alpha))"
        guard baseline.exposure > 0, current.exposure > 0 else {
            check.verdict = .skipped
            check.message = "\(metric): no exposure to compare (\(counts))"
            return check
        }
        let p = RateComparison.pValue(current: current.count, currentExposure: current.exposure,
                                      baseline: baseline.count, baselineExposure: baseline.exposure)
        check.pValue = p
        let higher = Double(current.count) / current.exposure > Double(baseline.count) / baseline.exposure
        check.verdict = p < alpha ? .regression : .ok
        check.message = "\(metric): \(counts); one-sided exact test p = \(pText(p)) "
            + (p < alpha ? "< \(num(alpha)): the rate is higher" : higher ? ">= \(num(alpha)): higher, but within chance" : ">= \(num(alpha))")
        return check
    }

    /// Figures as a person reads them: whole numbers plain, others to 3 significant digits.
    public static func num(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        if abs(v) >= 100 { return String(format: "%.1f", v) }
        return String(format: "%.3g", v)
    }

    static func signed(_ pct: Double?) -> String {
        guard let pct else { return "n/a" }
        return String(format: "%+.1f%%", pct)
    }

    static func pText(_ p: Double) -> String {
        p < 0.0001 ? String(format: "%.1e", p) : String(format: "%.4f", p)
    }
}
