import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// `run --resume`: where a run stopped, read from its timeline, and one report over both parts.
@Suite struct ResumeTests {
    /// A run killed 4 s into its second phase (10 s long): no run_end, the last snapshot at 13 s.
    static func killedRun() -> [Event] {
        var interval = Fixture.interval(13, phase: "steady", totals: Fixture.counters(sent: 1500, echoed: 1490), latency: [(100, 1490)])
        interval.interval?.outstanding = 10
        return [Fixture.runStart(), Fixture.phaseStart(0, 0, "warmup"),
                Fixture.interval(10, phase: "warmup", totals: Fixture.counters(sent: 1000, echoed: 1000), latency: [(100, 1000)]),
                Fixture.phaseStart(10, 1, "steady"), interval, Fixture.event(14, .source, "uart: opened /dev/ttyUSB2")]
    }

    @Test func aKilledRunResumesInItsPhaseWithItsCounts() throws {
        let point = try ResumePoint(events: Self.killedRun())
        #expect(point.stop == .crashed)
        #expect(point.phaseIndex == 1)
        #expect(point.soakedInPhase == 4)
        #expect(point.stoppedAt == 14)
        #expect(point.countsAt == 13)
        #expect(point.counters.sent == 1500)
        #expect(point.counters.unanswered == 10, "in flight at the last snapshot: never answered")
        #expect(point.info.profile.name == "smoke")
        // The gap is the wall clock's; a clock that went back gives none.
        let stopped = point.stoppedWall
        #expect(point.resumeAt(wallNow: stopped.addingTimeInterval(60)) == 74)
        #expect(point.resumeAt(wallNow: stopped.addingTimeInterval(-3600)) == 14)
    }

    @Test func anInterruptedRunResumesAFinishedOneDoesNot() throws {
        var events = Self.killedRun()
        events.append(Fixture.runEnd(14.5, .interrupted, totals: Fixture.counters(sent: 1550, echoed: 1550)))
        let point = try ResumePoint(events: events)
        #expect(point.stop == .interrupted)
        #expect(point.counters.sent == 1550)
        #expect(point.counters.unanswered == 0)
        #expect(throws: ResumePoint.Problem.finished("completed")) { try ResumePoint(events: Fixture.run()) }
        #expect(throws: ResumePoint.Problem.noRunStart) { try ResumePoint(events: Array(Fixture.run().dropFirst())) }
    }

    /// Resumed 60 s later with 6 s of the phase left: the timeline the resumed part writes.
    static func resumedRun() -> [Event] {
        var events = killedRun()
        var r = Fixture.event(74, .resumed, "resumed after a gap of 60.0 s")
        r.resumed = ResumeMark(stop: .crashed, stoppedAtSeconds: 14, gapSeconds: 60, countsAtSeconds: 13)
        events.append(r)
        events.append(Fixture.interval(80, phase: "steady", totals: Fixture.counters(sent: 2100, echoed: 2090), latency: [(100, 590)]))
        events.append(Fixture.runEnd(80, .completed, totals: Fixture.counters(sent: 2100, echoed: 2090)))
        return events
    }

    @Test func oneReportCoversBothPartsAndSaysWhereTheGapIs() throws {
        let s = try SummaryBuilder.build(events: Self.resumedRun())
        #expect(s.verdict == .passed)
        #expect(s.phases.map(\.name) == ["warmup", "steady"], "the resumed phase is one phase")
        #expect(s.phases[1].totals.sent == 1100)
        #expect(s.totals.sent == 2100)
        // Soaked 20 s of 80: the rate and the uptime leave the gap out.
        #expect(abs(s.messagesPerSecond - 2090.0 / 20) < 0.01)
        #expect(abs(s.reliability.uptimeSeconds - 20) < 0.01)
        // A phase's rate too (the gate compares it): 1100 messages in the 10 s steady soaked.
        #expect(s.phaseSeconds(1) == 10)
        // The same run without the gap: every event after it 60 s earlier.
        let clean = try SummaryBuilder.build(events: Self.resumedRun().compactMap { e -> Event? in
            guard e.type != .resumed else { return nil }
            var e = e
            if e.t > 14 { e.t -= 60 }
            return e
        })
        let gate = Comparison.build(baseline: clean, baselinePath: "clean", current: s, currentPath: "resumed", gate: .default)
        #expect(!gate.checks.contains { $0.name.contains("messages_per_second") && $0.verdict == .regression }, "\(gate.checks.filter { $0.verdict == .regression }.map(\.name))")
        let warning = try #require(s.warnings.first { $0.contains("resumed") })
        #expect(warning.contains("gap of 60.0 s"))
        #expect(warning.contains("after its last event at 14.0 s"))
        #expect(warning.contains("after its last snapshot at 13.0 s is not counted"))
        for text in [TextReport.render(s), MarkdownReport.render(s, events: Self.resumedRun()), JUnitReport.render(s)] { #expect(text.contains("gap of 60.0 s")) }
        // The charts shade the gap and draw no line across it.
        let html = HtmlReport.render(s, events: Self.resumedRun())
        #expect(html.contains("class=\"gap\""))
        #expect(html.contains("no soak from 14.000 s to 74.000 s"))
        #expect(html.contains("tester stopped (resumed)"))
        let ratePath = try #require(html.components(separatedBy: "<path class=\"series\" d=\"").dropFirst().first)
        #expect(ratePath.prefix { $0 != "\"" }.filter { $0 == "M" }.count == 2, "the rate line starts again after the gap")
        // A second resume goes on from the second part.
        var again = Self.resumedRun()
        again.removeLast()
        let point = try ResumePoint(events: again)
        #expect(point.soakedInPhase == 10, "4 s before the gap and 6 s after it")
        #expect(point.counters.sent == 2100)
    }
}
