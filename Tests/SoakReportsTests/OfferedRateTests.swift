import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// The load asked for is part of the verdict: a phase with a rate that sent less fails
/// `min_rate_ratio` and its `<phase>.rate` case; `check` says beforehand when the window or the
/// board cannot carry it.
@Suite struct OfferedRateTests {
    /// Fixture's profile (warmup 10 s at 100/s, steady 10 s at max) where warmup sent `sent`.
    static func run(warmupSent sent: UInt64, downFrom: Double? = nil) -> [Event] {
        var events = [Fixture.runStart(), Fixture.phaseStart(0, 0, "warmup"),
                      Fixture.interval(10, phase: "warmup", totals: Fixture.counters(sent: sent, echoed: sent), latency: [(100, sent)]),
                      Fixture.phaseStart(10, 1, "steady"),
                      Fixture.interval(20, phase: "steady", totals: Fixture.counters(sent: sent + 5000, echoed: sent + 5000), latency: [(100, 5000)])]
        if let downFrom {
            // A hang in warmup, recovered 4 s later: those 4 s are not asked for.
            var hang = Fixture.event(downFrom, .hang, "hang")
            hang.failure = LinkFailure(kind: .hang, reason: "no echo", outstanding: 1, lostBeforeFailure: 0, lastSeqSent: nil,
                                       sinceLastEcho: nil, messagesSinceStart: sent, evidence: nil)
            var rec = Fixture.event(downFrom + 4, .recovery, "reopen: link back")
            rec.recovery = RecoveryRecord(step: .reopen, outcome: .succeeded, seconds: 4, detail: "probe echoed")
            events.insert(contentsOf: [hang, rec], at: 2)
        }
        events.append(Fixture.runEnd(20, .completed, totals: Fixture.counters(sent: sent + 5000, echoed: sent + 5000)))
        return events
    }

    @Test func aPhaseThatSentWhatItAskedForPasses() throws {
        let s = try SummaryBuilder.build(events: Self.run(warmupSent: 990))
        let c = try #require(s.criteria.first { $0.name == "min_rate_ratio" })
        #expect(c.passed, "\(c.message)")
        #expect(s.phases[0].askedRate == 100)
        #expect(s.phases[0].achievedRate == 99)
        #expect(s.phases[1].askedRate == nil, "rate: max asks for nothing")
        #expect(JUnitReport.cases(s).first { $0.name == "warmup.rate" }?.outcome == .passed)
        #expect(!JUnitReport.cases(s).contains { $0.name == "steady.rate" })
    }

    @Test func aPhaseThatFellShortFailsTheRunAndItsCase() throws {
        let s = try SummaryBuilder.build(events: Self.run(warmupSent: 310))
        let c = try #require(s.criteria.first { $0.name == "min_rate_ratio" })
        #expect(!c.passed)
        #expect(c.observed == "31%")
        #expect(c.message.contains("warmup 31/s of 100/s"), "\(c.message)")
        #expect(s.verdict == .failed)
        let rate = try #require(JUnitReport.cases(s).first { $0.name == "warmup.rate" })
        #expect(rate.outcome == .failed)
        #expect(rate.type == "min_rate_ratio")
        #expect(TextReport.render(s).contains("min_rate_ratio"))
    }

    @Test func theSendLagSaysItCountsOnlyTheSendsMadeWhenAPhaseFellShort() throws {
        // The lag is measured on the sends that were made: a phase held back by its window
        // shows a fine lag, so the reports name the shortfall beside it.
        func withLag(_ events: [Event]) -> [Event] {
            events.map { e in
                var e = e
                if e.type == .interval { e.interval?.scheduleLagMicros = [[40, 300], [90, 10]] }
                return e
            }
        }
        let short = try SummaryBuilder.build(events: withLag(Self.run(warmupSent: 310)))
        let lagLine = try #require(TextReport.render(short).split(separator: "\n").first { $0.contains("send lag behind schedule") })
        #expect(lagLine.hasSuffix("; it counts the sends made, not those the window held back: warmup sent 31/s of 100/s (31%)"), "\(lagLine)")
        #expect(HtmlReport.render(short, events: withLag(Self.run(warmupSent: 310)))
                    .contains("The send lag behind schedule it counts the sends made, not those the window held back: warmup sent 31/s of 100/s (31%)."))
        let kept = try SummaryBuilder.build(events: withLag(Self.run(warmupSent: 990)))
        #expect(ReportSentences.scheduleLagCaveat(kept) == nil)
        #expect(TextReport.render(kept).contains("send lag behind schedule: p50 40 us, p99 90 us, max 90 us"))
        #expect(!TextReport.render(kept).contains("it counts the sends made"))
    }

    @Test func timeTheLinkWasDownIsNotAskedFor() throws {
        // 590 in the 6 s the link was up: 98/s.
        let s = try SummaryBuilder.build(events: Self.run(warmupSent: 590, downFrom: 2))
        #expect(s.phases[0].soakedSeconds == 6)
        #expect(s.criteria.first { $0.name == "min_rate_ratio" }?.passed == true)
    }

    @Test func theLimitComesFromTheProfileAndZeroSwitchesItOff() throws {
        let off = try ConfigLoader.parseProfile(text: "name: p\nphases:\n  - {duration: 1s, rate: 10, size: 64}\ncriteria: {min_rate_ratio: 0}\n", file: "p.yaml")
        #expect(off.criteria.minRateRatio == 0)
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parseProfile(text: "name: p\nphases:\n  - {duration: 1s, rate: 10, size: 64}\ncriteria: {min_rate_ratio: 1.5}\n", file: "p.yaml")
        }
        #expect(Fixture.profile().criteria.minRateRatio == 0.95)
    }

    @Test func checkWarnsWhenTheWindowOrTheBoardCannotCarryTheRate() throws {
        let profile = try ConfigLoader.parseProfile(text: """
            name: p
            phases:
              - {name: fast, duration: 10s, rate: 200, size: 128}
              - {name: fine, duration: 10s, rate: 20, size: 64}
              - {name: windowed, duration: 10s, rate: 50, size: 64, window: 1}
            """, file: "p.yaml")
        // The simulated M7 prints 186 characters per 128-byte message at 115200 baud: 62/s at most.
        let sim = OfferedLoad.problems(profile, board: .builtInSimulator, roundTrip: nil)
        #expect(sim.warnings.count == 1)
        #expect(sim.warnings[0].contains("phase fast: 200/s cannot be reached on the simulated board"), "\(sim.warnings)")
        // A measured 30 ms round trip: window 1 carries 33/s.
        var board = BoardConfig.builtInSimulator
        board.link.location = .local(.path("/dev/ttyRPMSG30"))
        let measured = OfferedLoad.problems(profile, board: board, roundTrip: 0.030)
        #expect(measured.warnings.count == 2)
        #expect(measured.warnings.contains { $0.contains("phase windowed: 50/s at window 1 needs a round trip under 20.0 ms") && $0.contains("window 2 would carry it") })
        // Without a round trip: the bound as a note.
        let unknown = OfferedLoad.problems(profile, board: board, roundTrip: nil)
        #expect(unknown.warnings.isEmpty)
        #expect(unknown.notes.count == 3)
    }
}
