import Foundation
import SoakCore

/// One run of a fleet: where its folder is and the summary rebuilt from its timeline.
public struct FleetInput: Sendable {
    public var folder: String
    public var summary: RunSummary

    public init(folder: String, summary: RunSummary) {
        self.folder = folder
        self.summary = summary
    }

    /// The folder's own name (`recovery-20250615T021500`), whatever path led to it.
    public var folderName: String { URL(fileURLWithPath: folder).resolvingSymlinksInPath().lastPathComponent }
}

/// Many boards' runs of one profile (or, with `--mixed`, of several) as one result: the verdict
/// of the fleet, every run's numbers, and the reliability pooled over the boards, which is what a
/// farm is for: with a shared MTBF, N boards for a night give the interval of N nights.
public struct FleetSummary: Codable, Sendable {
    public var schema = "rpmsg-soak/fleet/1"
    /// passed: every run passed; failed: at least one run failed (its criteria or its link);
    /// error: no run failed, but at least one gave no verdict (error, incomplete, interrupted).
    public var verdict: Verdict
    public var verdictReason: String
    public var runCount: Int
    /// The distinct board names, sorted.
    public var boards: [String]
    /// The runs are of more than one profile (`--mixed`): each group pools its own.
    public var mixedProfiles: Bool
    public var durationSeconds: Double
    public var totals: Counters
    /// One group per profile, by name; without `--mixed` exactly one.
    public var groups: [FleetGroup]
    /// Every finding class seen on any board, most frequent first, with the boards that saw it.
    public var findings: [FleetFinding]
}

public struct FleetGroup: Codable, Sendable {
    public var profile: String
    public var runs: [FleetRun]
    public var durationSeconds: Double
    public var totals: Counters
    /// Pooled over the group's runs: total uptime over total failures, the exact 95% interval of
    /// that (each run's last, failure-free cycle is censored inside its uptime already), failures
    /// per million messages sent by all of them; the time and messages to failure of every
    /// cycle of every run, run after run; recoveries summed.
    public var reliability: ReliabilitySummary
}

/// One run's line in the fleet: what the per-board table shows.
public struct FleetRun: Codable, Sendable {
    /// Unique in the fleet and stable: the board name, plus the run folder's name when the board
    /// ran more than once. The JUnit suite of the run has this name.
    public var name: String
    public var folder: String
    public var board: String
    public var boardPath: String
    public var profile: String
    public var profilePath: String
    public var seed: UInt64
    public var host: String
    public var startedAt: String
    public var verdict: Verdict
    public var endReason: String
    public var endDetail: String?
    public var durationSeconds: Double
    public var totals: Counters
    public var linkFailures: Int
    public var failedCriteria: [String]
    public var reliability: ReliabilitySummary
}

public struct FleetFinding: Codable, Sendable {
    public var findingClass: String
    public var count: UInt64
    public var boards: [String]
}

public struct FleetError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension FleetSummary {
    /// The fleet of `runs` (in the order given). Runs of more than one profile are refused
    /// unless `mixed`: their MTBFs are not of one thing.
    public static func build(_ runs: [FleetInput], mixed: Bool = false) throws(FleetError) -> FleetSummary {
        guard !runs.isEmpty else { throw FleetError("no run folders") }
        let names = suiteNames(runs)
        var byProfile: [String: [Int]] = [:]
        for (i, r) in runs.enumerated() { byProfile[r.summary.profile, default: []].append(i) }
        let profiles = byProfile.keys.sorted()
        if profiles.count > 1 && !mixed {
            let list = profiles.map { p in
                let n = byProfile[p]?.count ?? 0
                return "\(p) (\(n) run\(n == 1 ? "" : "s"))"
            }.joined(separator: ", ")
            throw FleetError("runs of different profiles: \(list); give --mixed to report them grouped by profile")
        }
        let rows = runs.enumerated().map { i, r in row(r, name: names[i]) }
        let groups = profiles.map { p in group(p, (byProfile[p] ?? []).map { rows[$0] }) }

        var findings: [String: (count: UInt64, boards: Set<String>)] = [:]
        for r in runs {
            for (c, n) in r.summary.findingCounts {
                findings[c, default: (0, [])].count += n
                findings[c, default: (0, [])].boards.insert(r.summary.board)
            }
        }
        let (verdict, reason) = judge(rows)
        return FleetSummary(
            verdict: verdict, verdictReason: reason, runCount: runs.count,
            boards: Array(Set(runs.map(\.summary.board))).sorted(), mixedProfiles: profiles.count > 1,
            durationSeconds: rows.reduce(0) { $0 + $1.durationSeconds }, totals: rows.reduce(Counters()) { $0 + $1.totals },
            groups: groups,
            findings: findings.map { FleetFinding(findingClass: $0.key, count: $0.value.count, boards: $0.value.boards.sorted()) }
                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.findingClass < $1.findingClass })
    }

    /// The name of each run in the fleet (and of its JUnit suite): the board name, or
    /// `board (folder)` when the board ran more than once; unique, and the same for the same runs.
    public static func suiteNames(_ runs: [FleetInput]) -> [String] {
        var perBoard: [String: Int] = [:]
        for r in runs { perBoard[r.summary.board, default: 0] += 1 }
        var taken: Set<String> = []
        return runs.map { r in
            let base = (perBoard[r.summary.board] ?? 0) > 1 ? "\(r.summary.board) (\(r.folderName))" : r.summary.board
            var name = base
            var n = 1
            while taken.contains(name) {
                n += 1
                name = "\(base) #\(n)"
            }
            taken.insert(name)
            return name
        }
    }

    /// Pooled reliability: the sums of uptime and failures, the interval of the sums.
    public static func pool(_ parts: [ReliabilitySummary], messagesSent: UInt64) -> ReliabilitySummary {
        let uptime = parts.reduce(0.0) { $0 + $1.uptimeSeconds }
        let failures = parts.reduce(0) { $0 + $1.failures }
        let interval = Reliability.mtbfInterval(uptime: uptime, failures: failures)
        var recoveredBy: [String: UInt64] = [:]
        for p in parts { recoveredBy.merge(p.recoveredBy, uniquingKeysWith: +) }
        return ReliabilitySummary(
            failures: failures, uptimeSeconds: uptime,
            timeToFailureSeconds: parts.flatMap(\.timeToFailureSeconds), messagesToFailure: parts.flatMap(\.messagesToFailure),
            censoredLastCycleSeconds: nil,
            mtbfSeconds: failures > 0 ? uptime / Double(failures) : nil, mtbfLower95: interval.lower, mtbfUpper95: interval.upper,
            failuresPerMillionMessages: messagesSent > 0 ? Double(failures) / Double(messagesSent) * 1e6 : 0,
            recoveries: parts.reduce(0) { $0 + $1.recoveries }, recoveryAttempts: parts.reduce(0) { $0 + $1.recoveryAttempts },
            recoveredBy: recoveredBy)
    }

    static func row(_ r: FleetInput, name: String) -> FleetRun {
        let s = r.summary
        return FleetRun(name: name, folder: r.folder, board: s.board, boardPath: s.boardPath, profile: s.profile,
                        profilePath: s.profilePath, seed: s.seed, host: s.host, startedAt: s.startedAt, verdict: s.verdict,
                        endReason: s.endReason, endDetail: s.endDetail, durationSeconds: s.durationSeconds, totals: s.totals,
                        linkFailures: s.linkFailures.count, failedCriteria: s.criteria.filter { !$0.passed }.map(\.name),
                        reliability: s.reliability)
    }

    static func group(_ profile: String, _ rows: [FleetRun]) -> FleetGroup {
        let totals = rows.reduce(Counters()) { $0 + $1.totals }
        return FleetGroup(profile: profile, runs: rows, durationSeconds: rows.reduce(0) { $0 + $1.durationSeconds },
                          totals: totals, reliability: pool(rows.map(\.reliability), messagesSent: totals.sent))
    }

    /// A failed run fails the fleet (the firmware was caught failing: that outweighs a board that
    /// could not be reached). Otherwise a run without a verdict (error, incomplete, interrupted)
    /// makes it an error: the fleet's answer is not complete. Only all passed is a pass.
    static func judge(_ rows: [FleetRun]) -> (Verdict, String) {
        let failed = rows.filter { $0.verdict == .failed }
        let unfinished = rows.filter { $0.verdict != .failed && $0.verdict != .passed }
        let n = rows.count
        let unfinishedText = unfinished.map { "\($0.name) \($0.verdict.rawValue)" }.joined(separator: ", ")
        if !failed.isEmpty {
            var why = "\(failed.count) of \(n) run(s) failed: " + failed.map(\.name).joined(separator: ", ")
            if !unfinished.isEmpty { why += "; \(unfinished.count) without a verdict: \(unfinishedText)" }
            return (.failed, why)
        }
        if !unfinished.isEmpty {
            return (.error, "\(unfinished.count) of \(n) run(s) without a verdict: \(unfinishedText)")
        }
        return (.passed, n == 1 ? "the run passed" : "all \(n) runs passed")
    }
}
