import Foundation
import SoakCore

/// Folds a timeline into its `RunSummary` one event at a time, so that a finished run, `rpmsg-soak
/// report` after a crash and every format read the same numbers, and so that no event need be
/// kept once added (issue 14): an interval snapshot leaves its counts and latencies in the
/// histograms; what the builder keeps (phases, failures, the first 500 findings, recoveries,
/// warnings) is few per run.
///
///     var builder = SummaryBuilder()
///     for e in timeline { builder.add(e) }
///     let summary = try builder.summary(warnings: readerWarnings)
public struct SummaryBuilder {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The whole timeline at once.
    public static func build(events: [Event], warnings: [String] = []) throws(Failure) -> RunSummary {
        var builder = SummaryBuilder()
        for e in events { builder.add(e) }
        return try builder.summary(warnings: warnings)
    }

    /// The run_start the timeline begins with; nil when it begins otherwise (`summary` throws then).
    private var info: RunInfo?
    private var started = false
    private var startWall = ""
    // The snapshots' buckets merged, not histograms: a few kB each instead of 188 kB.
    private var total = LatencyCounts()
    private var lag = LatencyCounts()
    private var network = LatencyCounts()
    private var phases: [PhaseSummary] = []
    private var phaseLatency = LatencyCounts()
    private var phaseStartTotals = Counters()
    private var lastTotals = Counters()
    private var failures: [FailureRecord] = []
    private var findingList: [FindingRecord] = []
    private var findingCounts: [String: UInt64] = [:]
    private var failingFindings: [String: UInt64] = [:]
    private var recoveryList: [RecoveryRecord] = []
    private var recoveredBy: [String: UInt64] = [:]
    private var cycleStart: Double?
    private var sentAtCycleStart: UInt64 = 0
    private var ttf: [Double] = []
    private var mtf: [UInt64] = []
    private var uptime = 0.0
    private var anomalies: [String: UInt64] = [:]
    private var end: RunEnd?
    private var lastT = 0.0
    private var lastWall = ""
    /// The timeline's warnings and its resumes', said after the reader's own.
    private var eventWarnings: [String] = []
    private var boardSeen: [BoardSeen.Key: String] = [:]
    private var notKept: [SourceLine.Source: (count: UInt64, notes: Int, from: Double, to: Double)] = [:]
    /// Seconds between the parts of a resumed run, when nothing soaked.
    private var gaps = 0.0
    /// When the link was down (a failure until its recovery) or the run stopped (a resume
    /// gap): a phase's rate leaves these out.
    private var downs: [(from: Double, to: Double)] = []
    private var downSince: Double?
    private var phaseIndexes: [Int] = []

    public init() {}

    private mutating func closePhase() {
        guard !phases.isEmpty else { return }
        phases[phases.count - 1].totals = lastTotals.delta(since: phaseStartTotals)
        phases[phases.count - 1].latencyMicros = Self.latencySummary(phaseLatency)
    }

    /// Folds the next event of the timeline in.
    public mutating func add(_ e: Event) {
        if !started {
            started = true
            info = e.type == .runStart ? e.run : nil
            startWall = e.wall
        }
        lastT = e.t
        lastWall = e.wall
        lastT = e.t
        lastWall = e.wall
        switch e.type {
        case .phaseStart:
            if cycleStart == nil { cycleStart = e.t }
            closePhase()
            phaseStartTotals = lastTotals
            phaseLatency = LatencyCounts()
            phases.append(PhaseSummary(name: e.phase?.name ?? "?", startSeconds: e.t, totals: Counters(), latencyMicros: nil))
            phaseIndexes.append(e.phase?.index ?? phases.count - 1)
        case .interval:
            if let s = e.interval {
                lastTotals = s.totals
                let latency = LatencyCounts(sparse: s.latencyMicros)
                total.add(latency)
                phaseLatency.add(latency)
                if let l = s.scheduleLagMicros { lag.add(sparse: l) }
                if let n = s.networkRoundTripMicros { network.add(sparse: n) }
            }
        case .anomaly:
            if let a = e.anomaly { anomalies[a.kind.rawValue, default: 0] += 1 }
        case .hang, .linkLost:
            if downSince == nil { downSince = e.t }
            if let f = e.failure {
                if let c = cycleStart {
                    ttf.append(e.t - c)
                    mtf.append(f.messagesSinceStart - min(sentAtCycleStart, f.messagesSinceStart))
                    uptime += e.t - c
                    cycleStart = nil
                    sentAtCycleStart = f.messagesSinceStart
                }
                failures.append(FailureRecord(kind: f.kind, atSeconds: e.t, wall: e.wall, reason: f.reason,
                                              messagesBefore: f.messagesSinceStart, diagnosis: f.evidence?.diagnosis,
                                              evidence: f.evidence))
            }
        case .warning:
            if let m = e.message { eventWarnings.append(m) }
        case .runEnd:
            end = e.end
            if let t = e.end?.totals { lastTotals = t }
        case .finding:
            if let f = e.finding {
                findingCounts[f.findingClass, default: 0] += 1
                // A `recover` finding ended the link: it is counted as a link failure, not here.
                if f.action == .fail || (f.action == .record && f.severity == .fatal) {
                    failingFindings[f.findingClass, default: 0] += 1
                }
                if findingList.count < 500 {
                    findingList.append(FindingRecord(atSeconds: e.t, wall: e.wall, finding: f))
                }
            }
        case .recovery:
            if let r = e.recovery {
                recoveryList.append(r)
                if r.succeeded {
                    recoveredBy[r.step.rawValue, default: 0] += 1
                    cycleStart = e.t
                    if let d = downSince { downs.append((d, e.t)) }
                    downSince = nil
                }
            }
        case .source:
            if let seen = e.seen, boardSeen[seen.key] == nil { boardSeen[seen.key] = seen.value }
        case .resumed:
            if let r = e.resumed {
                // The part before the gap ended without a failure: its cycle is uptime so far.
                if let c = cycleStart { uptime += max(0, r.stoppedAtSeconds - c) }
                downs.append((downSince ?? r.stoppedAtSeconds, e.t))
                downSince = nil
                cycleStart = e.t
                gaps += r.gapSeconds
                end = nil
                let stopped = String(format: "%.1f s", r.stoppedAtSeconds)
                var text = "resumed (run --resume) after a gap of " + String(format: "%.1f s", r.gapSeconds) + ": "
                switch r.stop {
                case .crashed:
                    text += "the tester stopped (killed, crashed or lost power) after its last event at \(stopped); "
                        + "what it did after its last snapshot at " + String(format: "%.1f s", r.countsAtSeconds) + " is not counted"
                case .interrupted:
                    text += "the tester was interrupted by a signal at \(stopped), its counts complete"
                }
                eventWarnings.append(text)
            }
        case .linesNotKept:
            if let n = e.notKept {
                let was = notKept[n.source] ?? (0, 0, n.fromSeconds, n.toSeconds)
                notKept[n.source] = (was.count + n.count, was.notes + 1, min(was.from, n.fromSeconds), max(was.to, n.toSeconds))
            }
        case .runStart, .linkOpen, .power, .action, .place, .drained:
            break
        }
    }

    /// The summary of the events added so far; `warnings` (the reader's: a torn last line) come
    /// first among its warnings.
    public func summary(warnings: [String] = []) throws(Failure) -> RunSummary {
        var done = self
        return try done.finish(readerWarnings: warnings)
    }

    private mutating func finish(readerWarnings: [String]) throws(Failure) -> RunSummary {
        guard let info else {
            throw Failure(description: "the timeline does not begin with a run_start event")
        }
        var warnings = readerWarnings + eventWarnings
        closePhase()
        let runEndsAt = end?.seconds ?? lastT
        if let d = downSince { downs.append((d, runEndsAt)) }
        if info.profile.criteria.minRateRatio != nil {
            // Profiles of earlier versions have no rate criterion: their summaries are unchanged.
            OfferedRates.fill(&phases, indexes: phaseIndexes, profile: info.profile, downs: downs, endSeconds: runEndsAt)
        }
        for source in [SourceLine.Source.uart, .kernel] {
            guard let n = notKept[source] else { continue }
            let (log, what) = source == .uart ? ("uart.log", "UART lines") : ("kernel.log", "kernel records")
            warnings.append("\(source.rawValue): \(n.count) \(what) not kept in \(log) during floods between "
                + String(format: "%.3f s and %.3f s", n.from, n.to) + " (\(n.notes) note\(n.notes == 1 ? "" : "s") on the timeline); "
                + "each was checked against every rule and could not match one")
        }

        // A fatal finding that ended the link (the kernel's kick failure) is a hang seen early.
        let hangs = UInt64(failures.filter { $0.kind == .hang || $0.kind == .finding }.count)
        let losses = UInt64(failures.filter { $0.kind == .linkLost }.count)
        var criteria = CriteriaCheck.evaluate(info.profile.criteria, totals: lastTotals, hangs: hangs,
                                              linkLosses: losses, latency: total)
        if case .ssh(let target) = info.board.link.location {
            // Measured on the lab host: the network is in every latency a criterion judged.
            for i in criteria.indices where criteria[i].name.hasPrefix("latency") {
                criteria[i].message += " (includes the network: ssh to \(target.destination))"
            }
        }
        if let ratio = info.profile.criteria.minRateRatio, ratio > 0 {
            criteria.append(OfferedRates.criterion(phases, ratio: ratio) { OfferedRates.why($0, profile: info.profile, board: info.board) })
        }
        let failing = failingFindings.values.reduce(0, +)
        criteria.append(CriterionResult(
            name: "findings", limit: "none that fail", observed: "\(failing)", passed: failing == 0,
            message: failing == 0 ? "no UART or kernel finding fails the run"
                : "\(failing) finding(s) fail the run: " + failingFindings.keys.sorted().map { "\($0) x\(failingFindings[$0] ?? 0)" }.joined(separator: ", ")))
        // An infrastructure error before any traffic: no criterion can pass or fail.
        if end?.reason == .infrastructure && lastTotals.sent == 0 {
            for i in criteria.indices {
                criteria[i].passed = false
                criteria[i].notEvaluated = true
                criteria[i].message = "not evaluated: nothing was sent (\(end?.detail ?? "the hardware could not be reached"))"
            }
        }
        let verdict: Verdict
        let reason: String
        switch end?.reason {
        case nil:
            verdict = .incomplete
            reason = "crashed"
            warnings.append("the timeline ends without run_end at \(String(format: "%.3f", lastT)) s: the run is incomplete (the tester stopped unexpectedly); counts are as of the last snapshot")
        case .infrastructure?:
            verdict = .error
            reason = RunEnd.Reason.infrastructure.rawValue
        case .interrupted?:
            verdict = .interrupted
            reason = RunEnd.Reason.interrupted.rawValue
        case .linkFailed?:
            // The run could not finish its phases: whatever the counts, it did not pass.
            verdict = .failed
            reason = RunEnd.Reason.linkFailed.rawValue
        case .completed?:
            verdict = criteria.allSatisfy(\.passed) ? .passed : .failed
            reason = RunEnd.Reason.completed.rawValue
        }
        let duration = end?.seconds ?? lastT
        var censored: Double?
        if let c = cycleStart {
            censored = max(0, duration - c)
            uptime += censored ?? 0
        }
        let interval = Reliability.mtbfInterval(uptime: uptime, failures: ttf.count)
        let reliability = ReliabilitySummary(
            failures: ttf.count, uptimeSeconds: uptime, timeToFailureSeconds: ttf, messagesToFailure: mtf,
            censoredLastCycleSeconds: censored,
            mtbfSeconds: ttf.isEmpty ? nil : uptime / Double(ttf.count), mtbfLower95: interval.lower, mtbfUpper95: interval.upper,
            failuresPerMillionMessages: lastTotals.sent > 0 ? Double(ttf.count) / Double(lastTotals.sent) * 1e6 : 0,
            recoveries: recoveryList.filter(\.succeeded).count, recoveryAttempts: recoveryList.count, recoveredBy: recoveredBy)
        var summary = RunSummary(
            profile: info.profile.name, profilePath: info.profilePath, board: info.board.name, boardPath: info.boardPath,
            seed: info.seed, host: info.host, tool: info.tool, startedAt: startWall, endedAt: lastWall,
            durationSeconds: duration, verdict: verdict, endReason: reason, endDetail: end?.detail,
            totals: lastTotals, messagesPerSecond: duration - gaps > 0 ? Double(lastTotals.echoed) / (duration - gaps) : 0,
            latencyMicros: Self.latencySummary(total), scheduleLagMicros: Self.latencySummary(lag), linkFailures: failures,
            findings: findingList, findingCounts: findingCounts, reliability: reliability, criteria: criteria, phases: phases,
            anomalies: anomalies, warnings: warnings)
        summary.plannedPhases = info.profile.phases.map(\.name)
        // A JUnit case per phase with a rate, for profiles with the criterion (older timelines
        // keep the cases they had).
        if info.profile.criteria.minRateRatio != nil {
            for p in info.profile.phases { if let r = OfferedLoad.askedRate(p), summary.plannedRates[p.name] == nil { summary.plannedRates[p.name] = r } }
        }
        summary.passCriteria = info.profile.criteria
        summary.firmwareBanner = boardSeen[.firmware]
        summary.kernelVersion = boardSeen[.kernel]
        if !notKept.isEmpty {
            summary.linesNotKept = Dictionary(uniqueKeysWithValues: notKept.map { ($0.key.rawValue, $0.value.count) })
        }
        if let stats = end?.selfStats { summary.testerCost = TesterCost(stats, seconds: end?.seconds ?? duration) }
        if case .ssh(let target) = info.board.link.location {
            summary.network = NetworkSummary(path: "ssh to \(target.destination)", roundTripMicros: Self.latencySummary(network))
        }
        return summary
    }

    static func latencySummary(_ l: LatencyCounts) -> LatencySummary? {
        guard !l.isEmpty else { return nil }
        return LatencySummary(count: l.total, min: l.min, p50: l.value(atPercentile: 50), p90: l.value(atPercentile: 90),
                              p99: l.value(atPercentile: 99), p999: l.value(atPercentile: 99.9), max: l.max, mean: l.mean)
    }
}
