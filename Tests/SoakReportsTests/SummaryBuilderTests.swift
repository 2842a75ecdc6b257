import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("SummaryBuilder")
struct SummaryBuilderTests {
    @Test("a completed run within its criteria: totals, phases, merged latency, passed")
    func passed() throws {
        let s = try SummaryBuilder.build(events: Fixture.run())
        #expect(s.verdict == .passed)
        #expect(s.verdict.exitCode == 0)
        #expect(s.endReason == "completed")
        #expect(s.profile == "smoke")
        #expect(s.profilePath == "profiles/smoke.yaml")
        #expect(s.board == "sim")
        #expect(s.seed == 42)
        #expect(s.host == "bench-host")
        #expect(s.totals == Fixture.finalTotals)
        #expect(s.durationSeconds == 20)
        #expect(s.messagesPerSecond == 150)
        #expect(s.anomalies == ["out_of_order": 1])
        #expect(s.warnings.isEmpty)
        #expect(s.linkFailures.isEmpty)
        #expect(s.criteria.allSatisfy { $0.passed })
        #expect(s.criteria.contains { $0.name == "latency_p99" })

        let l = try #require(s.latencyMicros)
        #expect(l.count == 3_000)
        #expect(l.min == 400)
        #expect(l.p50 == 500)
        #expect(l.max >= 8_990 && l.max <= 9_010)

        #expect(s.phases.map(\.name) == ["warmup", "steady"])
        #expect(s.phases[0].totals.sent == 1_000)
        #expect(s.phases[1].totals.sent == 2_000)
        #expect(s.phases[1].totals.outOfOrder == 1)
        #expect(s.phases[0].latencyMicros?.count == 1_000)
        #expect(s.phases[1].latencyMicros?.count == 2_000)
        #expect(s.phases[1].startSeconds == 10)
    }

    @Test("one lost message: failed, the lost criterion names it")
    func failed() throws {
        let totals = Fixture.counters(sent: 3_000, echoed: 2_999, lost: 1)
        var events = Fixture.run(end: Fixture.runEnd(20, .completed, totals: totals))
        events.insert(Fixture.anomaly(15, .lost, seq: 2_000), at: 5)
        let s = try SummaryBuilder.build(events: events)
        #expect(s.verdict == .failed)
        #expect(s.verdict.exitCode == 1)
        #expect(s.totals.lost == 1)
        #expect(s.anomalies["lost"] == 1)
        let failed = s.criteria.filter { !$0.passed }
        #expect(failed.map(\.name) == ["lost"])
        #expect(failed.first?.message.contains("1 messages lost") == true)
        #expect(TextReport.render(s).contains("FAILED lost"))
    }

    @Test("a latency above the p99 limit fails the run")
    func latencyFails() throws {
        var events = Fixture.run()
        events[5] = Fixture.interval(20, phase: "steady", totals: Fixture.finalTotals, latency: [(500, 1_500), (30_000, 500)])
        let s = try SummaryBuilder.build(events: events)
        #expect(s.verdict == .failed)
        #expect(s.criteria.filter { !$0.passed }.map(\.name) == ["latency_p99"])
    }

    @Test("no run_end: incomplete, exit code 1, a warning, counts as of the last snapshot")
    func incomplete() throws {
        let s = try SummaryBuilder.build(events: Fixture.run(end: nil), warnings: ["events.jsonl:8: last line is incomplete"])
        #expect(s.verdict == .incomplete)
        #expect(s.verdict.exitCode == 1)
        #expect(s.endReason == "crashed")
        #expect(s.totals == Fixture.finalTotals)
        #expect(s.durationSeconds == 20)
        #expect(s.warnings.count == 2)
        #expect(s.warnings.first == "events.jsonl:8: last line is incomplete")
        #expect(s.warnings.last?.contains("without run_end") == true)
        #expect(s.latencyMicros?.count == 3_000)
    }

    @Test("run_end link_failed: failed even when every count is fine")
    func linkFailed() throws {
        let s = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .linkFailed, totals: Fixture.finalTotals,
                                                                                  detail: "/dev/ttyRPMSG30: hang-up")))
        #expect(s.criteria.allSatisfy { $0.passed })
        #expect(s.verdict == .failed)
        #expect(s.endReason == "link_failed")
        #expect(s.endDetail == "/dev/ttyRPMSG30: hang-up")
    }

    @Test("run_end interrupted and infrastructure map to their verdicts")
    func otherEnds() throws {
        let interrupted = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .interrupted, totals: Fixture.finalTotals)))
        #expect(interrupted.verdict == .interrupted)
        #expect(interrupted.verdict.exitCode == 130)
        let infra = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .infrastructure, totals: Fixture.finalTotals)))
        #expect(infra.verdict == .error)
        #expect(infra.verdict.exitCode == 3)
    }

    @Test("a hang on the timeline is listed as a failure and fails the hangs criterion")
    func hang() throws {
        var events = Fixture.run(end: Fixture.runEnd(20, .linkFailed, totals: Fixture.finalTotals))
        var hang = Fixture.event(18, .hang, "no echo for 5s")
        hang.failure = LinkFailure(kind: .hang, reason: "no echo for 5s while 3 message(s) were in flight", outstanding: 3,
                                   lostBeforeFailure: 0, lastSeqSent: 2_999, sinceLastEcho: 5, messagesSinceStart: 3_000)
        events.insert(hang, at: 6)
        let s = try SummaryBuilder.build(events: events)
        #expect(s.verdict == .failed)
        #expect(s.linkFailures.count == 1)
        #expect(s.linkFailures.first?.atSeconds == 18)
        #expect(s.linkFailures.first?.messagesBefore == 3_000)
        #expect(s.criteria.filter { !$0.passed }.map(\.name) == ["hangs"])
    }

    @Test("a timeline that does not begin with run_start is refused")
    func noRunStart() {
        #expect(throws: SummaryBuilder.Failure.self) {
            try SummaryBuilder.build(events: Array(Fixture.run().dropFirst()))
        }
    }
}
