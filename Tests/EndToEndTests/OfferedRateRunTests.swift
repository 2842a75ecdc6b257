import Foundation
import TestSupport
import Testing

/// The load asked for is part of the verdict, end to end on the built-in simulated board: its M7
/// prints a UART line per message at 115200 baud, so 128-byte messages cannot go at 200/s.
@Suite struct OfferedRateRunTests {
    @Test func aRateTheBoardCannotCarryIsWarnedAboutAndFailsTheRun() async throws {
        let dir = Harness.tempDir()
        try """
            name: too-fast
            report_interval: 1s
            phases:
              - {name: fast, duration: 3s, rate: 200, size: 128}
            criteria: {latency_p99: 5s}
            """.write(toFile: "\(dir)/p.yaml", atomically: true, encoding: .utf8)
        let check = try await Harness.run(["check", "\(dir)/p.yaml"])
        #expect(check.status == 0)
        #expect(check.stdout.contains("warning: phase fast: 200/s cannot be reached on the simulated board"), "\(check.stdout)")

        let r = try await Harness.run(["run", "\(dir)/p.yaml", "--out", "\(dir)/out"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let criteria = try #require(summary["criteria"] as? [[String: Any]])
        let rate = try #require(criteria.first { $0["name"] as? String == "min_rate_ratio" })
        #expect(rate["passed"] as? Bool == false)
        #expect((rate["message"] as? String ?? "").contains("fast "), "\(rate)")
        let junit = try String(contentsOfFile: "\(try #require(r.runFolder))/junit.xml", encoding: .utf8)
        #expect(junit.contains("name=\"fast.rate\""))
        #expect(junit.contains("type=\"min_rate_ratio\""))
        #expect(r.stdout.contains("FAILED (criteria: min_rate_ratio)"), "\(r.stdout)")
    }
}
