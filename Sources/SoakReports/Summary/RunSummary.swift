import Foundation
import SoakCore

/// Everything the reports say about one run, derived from its timeline alone.
public struct RunSummary: Codable, Sendable {
    public var schema = "rpmsg-soak/summary/1"
    public var profile: String
    public var profilePath: String
    public var board: String
    public var boardPath: String
    public var seed: UInt64
    public var host: String
    public var tool: String
    public var startedAt: String
    public var endedAt: String
    public var durationSeconds: Double
    public var verdict: Verdict
    /// Why the run ended: completed, link_failed, interrupted, infrastructure, or crashed.
    public var endReason: String
    public var endDetail: String?
    public var totals: Counters
    public var messagesPerSecond: Double
    public var latencyMicros: LatencySummary?
    /// How late scheduled sends left their timetable (fixed rates and bursts only).
    public var scheduleLagMicros: LatencySummary?
    /// Hangs and hang-ups of the link, in order. Failed criteria are under `criteria`.
    public var linkFailures: [FailureRecord]
    /// What the rules found on the UART and in the kernel log (the first 500), and how often each class.
    public var findings: [FindingRecord]
    public var findingCounts: [String: UInt64]
    /// Time to failure across the night: each cycle from link up to failure.
    public var reliability: ReliabilitySummary
    public var criteria: [CriterionResult]
    public var phases: [PhaseSummary]
    public var anomalies: [String: UInt64]
    public var warnings: [String]
    /// The network between the tester and the board, when there was one (a board reached over
    /// ssh from a lab host): every latency figure of the run includes it.
    public var network: NetworkSummary? = nil
    /// Lines a flood kept out of uart.log and kernel.log, per source (`uart`, `kernel`); each
    /// was checked against every rule and could not match one. Absent when none.
    public var linesNotKept: [String: UInt64]? = nil
    /// What the tester itself cost (CPU, context switches, peak RSS), from the run_end event;
    /// absent for timelines without it.
    public var testerCost: TesterCost? = nil

    // Not in summary.json (its schema is unchanged): what the JUnit cases need from the
    // run_start event, so that every run of a profile has the same cases.
    /// The profile's phase names, in order, reached or not.
    public var plannedPhases: [String] = []
    /// The rate each phase of the profile asks for, by name (phases at `rate: max` have none).
    public var plannedRates: [String: Double] = [:]
    /// The profile's pass limits (the criteria above are their results over the whole run).
    public var passCriteria: PassCriteria? = nil
    /// The firmware's banner line and the kernel's release, when the timeline has them.
    public var firmwareBanner: String? = nil
    public var kernelVersion: String? = nil

    enum CodingKeys: String, CodingKey {
        case schema, profile, profilePath, board, boardPath, seed, host, tool, startedAt, endedAt, durationSeconds
        case verdict, endReason, endDetail, totals, messagesPerSecond, latencyMicros, scheduleLagMicros, linkFailures
        case findings, findingCounts, reliability, criteria, phases, anomalies, warnings, network, linesNotKept, testerCost
    }
}

/// The tester's own cost over the run: `SelfStats` and the share of one CPU it makes.
public struct TesterCost: Codable, Sendable {
    public var userSeconds: Double
    public var systemSeconds: Double
    /// (user + system) / the run's seconds: 0.031 is 3.1% of one CPU.
    public var cpuShare: Double
    public var overSeconds: Double
    public var voluntaryContextSwitches: UInt64
    public var involuntaryContextSwitches: UInt64
    public var peakRssBytes: UInt64
    public var childrenUserSeconds: Double?
    public var childrenSystemSeconds: Double?

    public init(_ s: SelfStats, seconds: Double) {
        userSeconds = s.userSeconds; systemSeconds = s.systemSeconds; overSeconds = seconds
        cpuShare = seconds > 0 ? (s.userSeconds + s.systemSeconds) / seconds : 0
        voluntaryContextSwitches = s.voluntaryContextSwitches; involuntaryContextSwitches = s.involuntaryContextSwitches
        peakRssBytes = s.peakRssBytes
        childrenUserSeconds = s.childrenUserSeconds; childrenSystemSeconds = s.childrenSystemSeconds
    }
}

/// The path every echo crossed besides RPMsg, and its own round trip.
public struct NetworkSummary: Codable, Sendable {
    /// How the board was reached: `ssh to root@imx8mp-01`.
    public var path: String
    /// The idle round trip of that path (one byte echoed by `cat` on the board through the same
    /// connection, once a second), over the whole run; nil when none was measured.
    public var roundTripMicros: LatencySummary?
}

public struct LatencySummary: Codable, Sendable {
    public var count: UInt64
    public var min: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var mean: Double
}

public struct FailureRecord: Codable, Sendable {
    public var kind: LinkFailure.Kind
    public var atSeconds: Double
    public var wall: String
    public var reason: String
    public var messagesBefore: UInt64
    /// One line: what the kernel and the M7 said around the failure, against the traffic.
    public var diagnosis: String?
    public var evidence: Evidence?
}

public struct FindingRecord: Codable, Sendable {
    public var atSeconds: Double
    public var wall: String
    public var finding: Finding
}

public struct PhaseSummary: Codable, Sendable {
    public var name: String
    public var startSeconds: Double
    public var totals: Counters
    public var latencyMicros: LatencySummary?
    /// Messages per second the phase asked for (its rate, or its bursts' count per period; absent
    /// at `rate: max`) and sent, over the time it soaked (recoveries and resume gaps left out).
    public var askedRate: Double? = nil
    public var achievedRate: Double? = nil
    public var soakedSeconds: Double? = nil
}

extension RunSummary {
    /// How long phase `i` soaked: recoveries and resume gaps left out when the summary knows them
    /// (`soakedSeconds`), else from its start to the next phase's (or the run's end).
    public func phaseSeconds(_ i: Int) -> Double {
        if let s = phases[i].soakedSeconds { return s }
        let end = i + 1 < phases.count ? phases[i + 1].startSeconds : durationSeconds
        return Swift.max(0, end - phases[i].startSeconds)
    }
}

public struct ReliabilitySummary: Codable, Sendable {
    public var failures: Int
    /// Time the link was up, summed over cycles (recovery time excluded).
    public var uptimeSeconds: Double
    public var timeToFailureSeconds: [Double]
    public var messagesToFailure: [UInt64]
    /// The last cycle ended without a failure: it counts as censored, not as a failure.
    public var censoredLastCycleSeconds: Double?
    public var mtbfSeconds: Double?
    /// Exact 95% interval for an exponential MTBF (chi-square, last cycle censored). With no
    /// failure only the lower bound exists.
    public var mtbfLower95: Double
    public var mtbfUpper95: Double?
    public var failuresPerMillionMessages: Double
    public var recoveries: Int
    public var recoveryAttempts: Int
    /// Which recovery step brought the link back, how often.
    public var recoveredBy: [String: UInt64]
}
