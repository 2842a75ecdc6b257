import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// Judging a run against a baseline: tolerances, the exact test's verdicts, phases by name.
@Suite struct ComparisonTests {
    static func latency(p50: UInt64, p99: UInt64, max: UInt64) -> LatencySummary {
        LatencySummary(count: 1000, min: p50 / 2, p50: p50, p90: p99, p99: p99, p999: max, max: max, mean: Double(p50))
    }

    /// A run of `phases` (name, start, messages sent, latency), `seconds` long, with `failures`
    /// link failures in `uptime` and `findings`.
    static func run(phases: [(String, Double, UInt64, LatencySummary?)], seconds: Double = 100, failures: Int = 0,
                    uptime: Double = 100, errors: UInt64 = 0, findings: [String: UInt64] = [:],
                    overall: LatencySummary? = latency(p50: 300, p99: 800, max: 2000)) -> RunSummary {
        var totals = Counters()
        totals.sent = phases.reduce(0) { $0 + $1.2 }
        totals.echoed = totals.sent - errors
        totals.lost = errors
        let reliability = ReliabilitySummary(failures: failures, uptimeSeconds: uptime, timeToFailureSeconds: [], messagesToFailure: [],
                                             censoredLastCycleSeconds: nil, mtbfSeconds: failures > 0 ? uptime / Double(failures) : nil,
                                             mtbfLower95: 0, mtbfUpper95: nil,
                                             failuresPerMillionMessages: Double(failures) / Double(max(1, totals.sent)) * 1e6,
                                             recoveries: failures, recoveryAttempts: failures, recoveredBy: [:])
        return RunSummary(profile: "gate", profilePath: "gate.yaml", board: "sim", boardPath: "sim.yaml", seed: 1, host: "h", tool: "t",
                          startedAt: "2026-12-01T00:00:00Z", endedAt: "2026-12-01T00:01:40Z", durationSeconds: seconds, verdict: .passed,
                          endReason: "completed", endDetail: nil, totals: totals, messagesPerSecond: Double(totals.sent) / seconds,
                          latencyMicros: overall, scheduleLagMicros: nil, linkFailures: [], findings: [], findingCounts: findings,
                          reliability: reliability, criteria: [], phases: phases.map {
                              PhaseSummary(name: $0.0, startSeconds: $0.1, totals: { var c = Counters(); c.sent = $0; return c }($0.2), latencyMicros: $0.3)
                          }, anomalies: [:], warnings: [])
    }

    static let l = latency(p50: 300, p99: 800, max: 2000)

    static func compare(_ b: RunSummary, _ c: RunSummary, _ gate: GateConfig = .default) -> Comparison {
        Comparison.build(baseline: b, baselinePath: "base", current: c, currentPath: "cur", gate: gate)
    }

    static func check(_ c: Comparison, _ name: String) throws -> Comparison.Check {
        try #require(c.checks.first { $0.name == name }, "no \(name) in \(c.checks.map(\.name))")
    }

    @Test func theSameRunPassesWithEveryCaseNamed() throws {
        let r = Self.run(phases: [("steady", 0, 5000, Self.l), ("max", 50, 20000, Self.l)])
        let c = Self.compare(r, r)
        #expect(!c.regressed && c.exitCode == 0)
        let names = GateJUnit.cases(c).map(\.name)
        for n in ["gate.latency_p99", "gate.latency_max", "gate.messages_per_second", "gate.failure_rate", "gate.message_errors",
                  "gate.new_findings", "gate.phase.steady.latency_p99", "gate.phase.max.messages_per_second"] {
            #expect(names.contains(n), "\(names)")
        }
        // p50 is off by default: shown, not a case.
        #expect(!names.contains("gate.latency_p50"))
        #expect(try Self.check(c, "gate.latency_p50").verdict == .info)
    }

    @Test func latencyFailsOnlyBeyondTheToleranceAndTheFloor() throws {
        let b = Self.run(phases: [("p", 0, 1000, Self.latency(p50: 300, p99: 1000, max: 2000))])
        // +25% p99 with the default +20% and a 100 us floor: a regression.
        let worse = Self.run(phases: [("p", 0, 1000, Self.latency(p50: 300, p99: 1250, max: 2000))])
        var c = Self.compare(b, worse)
        #expect(try Self.check(c, "gate.phase.p.latency_p99").verdict == .regression)
        #expect(try Self.check(c, "gate.phase.p.latency_p99").limit.contains("+20%"))
        #expect(try Self.check(c, "gate.phase.p.latency_max").verdict == .ok)
        #expect(c.regressed)
        // The same with a 300 us floor: within noise.
        var gate = GateConfig.default
        gate.latencyFloorMicros = 300
        c = Self.compare(b, worse, gate)
        #expect(try Self.check(c, "gate.phase.p.latency_p99").verdict == .ok)
        // +15%: within the tolerance.
        let slight = Self.run(phases: [("p", 0, 1000, Self.latency(p50: 300, p99: 1150, max: 2000))])
        #expect(try Self.check(Self.compare(b, slight), "gate.phase.p.latency_p99").verdict == .ok)
        // Off: never judged.
        gate = .default
        gate.latencyP99 = nil
        #expect(try Self.check(Self.compare(b, worse, gate), "gate.phase.p.latency_p99").verdict == .info)
        // Missing latency: skipped, not passed.
        let none = Self.run(phases: [("p", 0, 1000, nil)])
        let skipped = try Self.check(Self.compare(b, none), "gate.phase.p.latency_p99")
        #expect(skipped.verdict == .skipped)
        #expect(GateJUnit.cases(Self.compare(b, none)).first { $0.name == "gate.phase.p.latency_p99" }?.body.hasPrefix("<skipped") == true)
    }

    @Test func throughputFailsBelowItsTolerance() throws {
        let b = Self.run(phases: [("max", 0, 10000, Self.l)])
        let slower = Self.run(phases: [("max", 0, 8500, Self.l)])
        let c = Self.compare(b, slower)
        let k = try Self.check(c, "gate.phase.max.messages_per_second")
        #expect(k.verdict == .regression && abs((k.changePercent ?? 0) + 15) < 1e-9)
        #expect(GateJUnit.cases(c).first { $0.name == "gate.messages_per_second" }?.body.contains("limit -10%") == true)
        #expect(try Self.check(Self.compare(b, Self.run(phases: [("max", 0, 9500, Self.l)])), "gate.phase.max.messages_per_second").verdict == .ok)
    }

    @Test func oneFailureAgainstNoneIsNotARegressionButManyAre() throws {
        let b = Self.run(phases: [("p", 0, 1000, Self.l)], failures: 0, uptime: 36000)
        let one = Self.compare(b, Self.run(phases: [("p", 0, 1000, Self.l)], failures: 1, uptime: 36000))
        let k = try Self.check(one, "gate.failure_rate")
        #expect(k.verdict == .ok && abs((k.pValue ?? 0) - 0.5) < 1e-12)
        let six = Self.compare(b, Self.run(phases: [("p", 0, 1000, Self.l)], failures: 6, uptime: 36000))
        let k6 = try Self.check(six, "gate.failure_rate")
        #expect(k6.verdict == .regression && abs((k6.pValue ?? 0) - 1.0 / 64) < 1e-12)
        #expect(k6.message.contains("p = 0.0156"), "\(k6.message)")
        // Message errors by the same test over messages.
        let lossy = Self.compare(b, Self.run(phases: [("p", 0, 1000, Self.l)], errors: 8))
        #expect(try Self.check(lossy, "gate.message_errors").verdict == .regression)
    }

    @Test func newFindingClassesFailOrWarn() throws {
        let b = Self.run(phases: [("p", 0, 1000, Self.l)], findings: ["tx_buffer_timeout": 3])
        let c = Self.run(phases: [("p", 0, 1000, Self.l)], findings: ["tx_buffer_timeout": 9, "mailbox_kick_timeout": 1])
        var cmp = Self.compare(b, c)
        #expect(cmp.newFindings == ["mailbox_kick_timeout": 1])
        #expect(try Self.check(cmp, "gate.new_findings").verdict == .regression)
        var gate = GateConfig.default
        gate.newFindings = .warn
        cmp = Self.compare(b, c, gate)
        #expect(try Self.check(cmp, "gate.new_findings").verdict == .warning && !cmp.regressed)
        // A class the baseline had more often is not new.
        #expect(try Self.check(Self.compare(c, b), "gate.new_findings").verdict == .ok)
    }

    @Test func phasesAreMatchedByNameAndTheRestIsListed() throws {
        let b = Self.run(phases: [("steady", 0, 1000, Self.l), ("bursts", 10, 2000, Self.l), ("old", 20, 10, Self.l)], seconds: 30)
        // Reordered, one renamed: matched by name, not by position.
        let c = Self.run(phases: [("bursts", 0, 2000, Self.l), ("steady", 10, 1000, Self.l), ("new", 20, 10, Self.l)], seconds: 30)
        let cmp = Self.compare(b, c)
        #expect(try Self.check(cmp, "gate.phase.steady.messages_per_second").verdict == .ok)
        #expect(try Self.check(cmp, "gate.phase.bursts.messages_per_second").current == 200)
        #expect(cmp.phasesOnlyInBaseline == ["old"] && cmp.phasesOnlyInCurrent == ["new"])
        #expect(!cmp.checks.contains { $0.scope == "old" || $0.scope == "new" })
        // A phase lasts to the next one's start; the last to the end of the run.
        let figures = Comparison.phaseFigures(b)
        #expect(figures.map(\.messagesPerSecond) == [100, 200, 1])
    }

    @Test func theTableAndTheJUnitSaySo() throws {
        let b = Self.run(phases: [("p", 0, 1000, Self.latency(p50: 300, p99: 1000, max: 2000))])
        let c = Self.compare(b, Self.run(phases: [("p", 0, 1000, Self.latency(p50: 300, p99: 1500, max: 2000))]))
        let text = CompareText.render(c)
        #expect(text.hasPrefix("rpmsg-soak compare: REGRESSED (1 regression: gate.phase.p.latency_p99)"), "\(text)")
        #expect(text.contains("metric") && text.contains("p: latency_p99") && text.contains("REGRESSION"), "\(text)")
        let xml = GateJUnit.render(c)
        #expect(xml.contains("<testsuite name=\"rpmsg-soak.gate\""))
        #expect(xml.contains("name=\"gate.phase.p.latency_p99\" time=\"0.000\">\n      <failure type=\"regression\""))
        #expect(CompareMarkdown.render(c).contains("**REGRESSION**"))
    }
}
