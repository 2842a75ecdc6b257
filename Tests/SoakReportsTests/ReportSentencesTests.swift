import Foundation
import Testing
@testable import SoakReports

/// The reliability sentence in the corners the golden runs do not reach: no upper MTBF bound,
/// durations past a minute, no recovery. The expected texts are what the three formats wrote
/// before they shared one builder.
@Suite("ReportSentences")
struct ReportSentencesTests {
    static func reliability(failures: Int, uptime: Double, mtbf: Double?, lower: Double, upper: Double?,
                            recoveries: Int, attempts: Int, by: [String: UInt64]) -> ReliabilitySummary {
        ReliabilitySummary(failures: failures, uptimeSeconds: uptime, timeToFailureSeconds: [], messagesToFailure: [],
                           censoredLastCycleSeconds: nil, mtbfSeconds: mtbf, mtbfLower95: lower, mtbfUpper95: upper,
                           failuresPerMillionMessages: 12.345, recoveries: recoveries, recoveryAttempts: attempts, recoveredBy: by)
    }

    @Test("one failure: the MTBF has no upper bound, and each format says so its own way")
    func unboundedInterval() {
        let r = Self.reliability(failures: 1, uptime: 245, mtbf: 245, lower: 65.4, upper: nil, recoveries: 0, attempts: 2, by: [:])
        #expect(ReportSentences.reliability(r, style: .terminal)
                == "1 link failure(s) in 245.0 s of uptime, MTBF 245.0 s (95%: at least 65.4 s), 0 recovered, 2 step(s) did not help or were skipped (events.jsonl, report.html)")
        #expect(ReportSentences.reliability(r, style: .markdown)
                == "**1 link failure(s)** in 245.0 s of uptime, MTBF 245.0 s (95%: 65.4 to unbounded), 12.35 per million messages; 0 recovered")
        #expect(ReportSentences.reliability(r, style: .html)
                == "1 link failure(s) in 4 min 05 s of uptime, MTBF 4 min 05 s (95%: 1 min 05 s to unbounded), 0 recovered, 2 recovery step(s) did not help")
    }

    @Test("recovered failures: counts per step in name order, no MTBF before the first failure cycle ends")
    func recovered() {
        let r = Self.reliability(failures: 3, uptime: 12.25, mtbf: nil, lower: 0, upper: nil, recoveries: 3, attempts: 3,
                                 by: ["reopen": 1, "power-cycle": 2])
        #expect(ReportSentences.reliability(r, style: .terminal) == "3 link failure(s) in 12.2 s of uptime, 3 recovered (power-cycle x2, reopen x1)")
        #expect(ReportSentences.reliability(r, style: .markdown)
                == "**3 link failure(s)** in 12.2 s of uptime, 12.35 per million messages; 3 recovered (power-cycle ×2, reopen ×1)")
        #expect(ReportSentences.reliability(r, style: .html) == "3 link failure(s) in 12.2 s of uptime, 3 recovered (power-cycle x2, reopen x1)")
    }
}
