import Foundation
import SoakCore

/// The figures of a run while it goes on, folded from its timeline events one at a time: what
/// the console's lines, the terminal's status line and the `--metrics` file show. A pure
/// function of the events seen so far (plus, at the very end, the verdict of the reports).
public struct LiveFigures {
    /// Where the run stands.
    public enum State: String, CaseIterable, Sendable {
        /// Started: the board is being switched on, the link opened.
        case starting
        case running
        /// A link failure was declared; the recovery ladder is at work (or the run is ending).
        case recovering
        /// The run went through its phases (its verdict is in `verdict` once the reports are written).
        case completed
        /// A link failure ended the run.
        case failed
        case interrupted
        /// The hardware could not be reached: not the firmware's fault.
        case error
    }

    public private(set) var profile = ""
    public private(set) var board = ""
    /// Wall time of the run's start, seconds since 1970.
    public private(set) var startTime: Double?
    /// Seconds since the run started: the time of the newest event.
    public private(set) var elapsed: Double = 0
    /// The sum of the profile's phase durations.
    public private(set) var plannedSeconds: Double = 0
    public private(set) var phase: String?
    public private(set) var phaseIndex: Int?
    /// The messages per second the current phase asks for (`rate`, or a burst's count over its
    /// period); nil for `rate: max` and before the first phase.
    public var askedRate: Double? {
        guard let i = phaseIndex, askedRates.indices.contains(i) else { return nil }
        return askedRates[i]
    }
    public private(set) var state: State = .starting
    /// Set once the reports are written (`finish`).
    public private(set) var verdict: Verdict?
    /// The run's counters, as of the newest interval snapshot.
    public private(set) var totals = Counters()
    /// The run's totals when the current phase began.
    public private(set) var phaseStart = Counters()
    public private(set) var outstanding = 0
    /// Echoes per second in the newest interval that was not a sliver: the runner closes an
    /// interval at each phase boundary, and a snapshot of a few milliseconds says nothing of the
    /// rate (the status line and the metrics file show this one).
    public private(set) var rate: Double = 0
    /// Round trip of the newest interval (not a sliver, as `rate`) and of the whole run,
    /// microseconds; nil before an echo.
    public private(set) var interval: Latency?
    public private(set) var run: Latency?
    /// The newest snapshot's own rate and round trip, sliver or not (each console line says its own).
    public private(set) var snapshotRate: Double = 0
    public private(set) var snapshotLatency: Latency?
    /// The network's own round trip in the newest interval (a board over ssh), microseconds.
    public private(set) var networkMax: UInt64?
    /// Link failures by kind (`hang`, `link_lost`, `finding`).
    public private(set) var failures: [LinkFailure.Kind: UInt64] = [:]
    /// Recovery steps tried, by step and outcome.
    public private(set) var recoveries: [RecoveryPolicy.Step: [RecoveryRecord.Outcome: UInt64]] = [:]
    /// Findings by class.
    public private(set) var findings: [String: UInt64] = [:]
    /// Seconds the link was up: the run time less the time from each failure to the link's return.
    public var linkUpSeconds: Double { elapsed - downSeconds - (downSince.map { elapsed - $0 } ?? 0) }

    private var recoverable = false
    private var askedRates: [Double?] = []
    private var reportInterval: Double = 0
    private var downSeconds: Double = 0
    private var downSince: Double?
    private var lastIntervalT: Double = 0
    private var lastFull: Double?
    private var lastEchoed: UInt64 = 0
    /// Every round trip so far, as the snapshots' buckets (not a histogram: see `LatencyCounts`).
    private var runLatency = LatencyCounts()

    public struct Latency: Equatable, Sendable {
        public var p50: UInt64
        public var p99: UInt64
        public var max: UInt64

        /// nil when nothing was counted.
        init?(_ counts: LatencyCounts) {
            guard !counts.isEmpty else { return nil }
            self.init(p50: counts.value(atPercentile: 50), p99: counts.value(atPercentile: 99), max: counts.max)
        }

        init(p50: UInt64, p99: UInt64, max: UInt64) {
            self.p50 = p50
            self.p99 = p99
            self.max = max
        }
    }

    public init() {}

    /// The figures after every event of `events`, in order.
    public init(events: [Event]) {
        for e in events { add(e) }
    }

    /// Link failures of every kind.
    public var failureCount: UInt64 { failures.values.reduce(0, +) }
    /// Recovery steps that brought the link back.
    public var recovered: UInt64 { recoveries.values.reduce(0) { $0 + ($1[.succeeded] ?? 0) } }
    /// The current phase's own counts.
    public var phaseTotals: Counters { totals.delta(since: phaseStart) }
    /// Seconds left of the planned phases (0 once they are over).
    public var remaining: Double { max(0, plannedSeconds - elapsed) }

    public mutating func add(_ event: Event) {
        elapsed = max(elapsed, event.t)
        switch event.type {
        case .runStart:
            if let r = event.run {
                profile = r.profile.name
                board = r.board.name
                plannedSeconds = Double(r.profile.totalDuration.nanoseconds) / 1e9
                askedRates = r.profile.phases.map(OfferedLoad.askedRate)
                recoverable = r.profile.recovery != nil
                reportInterval = Double(r.profile.reportInterval.nanoseconds) / 1e9
            }
            startTime = Self.parseWall(event.wall).map { $0 - event.t }
        case .phaseStart:
            phaseStart = totals
            phase = event.phase?.name
            phaseIndex = event.phase?.index
            if state == .starting { state = .running }
        case .linkOpen:
            if state == .starting { state = .running }
        case .interval:
            guard let s = event.interval else { return }
            let dt = event.t - lastIntervalT
            snapshotRate = dt > 0 ? Double(s.totals.echoed &- lastEchoed) / dt : 0
            lastIntervalT = event.t
            lastEchoed = s.totals.echoed
            totals = s.totals
            outstanding = s.outstanding
            // The runner names the interval's phase; at a boundary it is the phase just ended.
            if phase == nil { phase = s.phase }
            let latency = LatencyCounts(sparse: s.latencyMicros)
            snapshotLatency = Latency(latency)
            // A quarter of the report interval at least; the first snapshot always counts.
            if dt * 4 >= reportInterval || lastFull == nil {
                rate = snapshotRate
                interval = snapshotLatency
                lastFull = event.t
            }
            runLatency.add(latency)
            if let l = Latency(runLatency) { run = l }
            networkMax = s.networkRoundTripMicros.map { LatencyCounts(sparse: $0).max }
        case .hang, .linkLost:
            let kind = event.failure?.kind ?? (event.type == .hang ? .hang : .linkLost)
            failures[kind, default: 0] += 1
            if downSince == nil { downSince = event.t }
            state = recoverable ? .recovering : .failed
        case .recovery:
            guard let r = event.recovery else { return }
            recoveries[r.step, default: [:]][r.outcome, default: 0] += 1
            if r.succeeded {
                if let d = downSince { downSeconds += event.t - d }
                downSince = nil
                state = .running
            }
        case .finding:
            if let f = event.finding { findings[f.findingClass, default: 0] += 1 }
        case .resumed:
            // `run --resume`: the gap is neither link time nor soak time, and no interval spans it.
            let gap = event.resumed?.gapSeconds ?? 0
            plannedSeconds += gap
            downSeconds += gap
            lastIntervalT = event.t
            state = .running
        case .runEnd:
            guard let end = event.end else { return }
            totals = end.totals
            if let d = downSince { downSeconds += event.t - d }
            downSince = nil
            switch end.reason {
            case .completed: state = .completed
            case .linkFailed: state = .failed
            case .interrupted: state = .interrupted
            case .infrastructure: state = .error
            }
        default:
            break
        }
    }

    /// The run's end as its reports judged it: verdict, final counters and latency, duration.
    public mutating func finish(_ summary: RunSummary) {
        verdict = summary.verdict
        totals = summary.totals
        elapsed = max(elapsed, summary.durationSeconds)
        if let l = summary.latencyMicros, l.count > 0 { run = Latency(p50: l.p50, p99: l.p99, max: l.max) }
        if profile.isEmpty { profile = summary.profile; board = summary.board }
        switch summary.verdict {
        case .passed: state = .completed
        case .failed: if state != .interrupted && state != .error { state = summary.endReason == "completed" ? .completed : .failed }
        case .error: state = .error
        case .interrupted: state = .interrupted
        case .incomplete: state = .failed
        }
    }

    /// `2026-12-01T20:44:23.123Z` as seconds since 1970.
    static func parseWall(_ text: String) -> Double? { WallTime.parse(text)?.timeIntervalSince1970 }
}
