import Foundation
import SoakCore

/// The recovery steps tried after one link failure, up to the next.
struct RecoveryOutcome {
    var attempts: [(t: Double, record: RecoveryRecord)] = []

    /// One outcome per link failure, in timeline order (the order of `RunSummary.linkFailures`).
    static func perFailure(_ events: [Event]) -> [RecoveryOutcome] {
        var out: [RecoveryOutcome] = []
        for e in events {
            if (e.type == .hang || e.type == .linkLost), e.failure != nil {
                out.append(RecoveryOutcome())
            } else if e.type == .recovery, let r = e.recovery, !out.isEmpty {
                out[out.count - 1].attempts.append((e.t, r))
            }
        }
        return out
    }

    /// One short cell (report.md): the step that brought the link back and when, the steps
    /// tried before it in brackets, without their details (report.html has those).
    func brief(failureAt: Double) -> String {
        guard !attempts.isEmpty else { return "not recovered: the run ended" }
        let before = attempts.prefix { !$0.record.succeeded }
            .map { "\($0.record.step.rawValue) \($0.record.outcome == .skipped ? "not applicable" : "did not help")" }
        let tried = before.isEmpty ? "" : " (" + before.joined(separator: ", ") + ")"
        if let ok = attempts.first(where: { $0.record.succeeded }) {
            return "back by \(ok.record.step.rawValue) after \(TimeText.duration(ok.t - failureAt))" + tried
        }
        return "not recovered" + tried
    }

    func describe(failureAt: Double) -> String {
        guard !attempts.isEmpty else { return "not recovered: the run ended" }
        var parts = attempts.filter { !$0.record.succeeded }.map {
            "\($0.record.step.rawValue) \($0.record.outcome == .skipped ? "skipped" : "did not help") (\($0.record.detail))"
        }
        if let ok = attempts.first(where: { $0.record.succeeded }) {
            parts.append("back by \(ok.record.step.rawValue) after \(TimeText.duration(ok.t - failureAt))")
        } else {
            parts.append("not recovered")
        }
        return parts.joined(separator: "; ")
    }
}
