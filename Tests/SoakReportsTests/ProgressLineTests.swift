import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("ProgressLine")
struct ProgressLineTests {
    @Test("a line per phase, interval, link failure and recovery, with the rate and the failures so far")
    func lines() throws {
        var p = ProgressLine()
        let lines = HtmlReportTests.failingRun().compactMap { p.line(for: $0) }
        #expect(lines.contains { $0.hasPrefix("[0:00:14] LINK FAILED (hang): hang: no echo for 3s; kick timeout on vq 1") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("[0:00:16] recovery: power-cycle: link back") }, "\(lines)")
        #expect(lines.contains { $0.contains("link failures 1 (1 recovered)") }, "\(lines)")
        #expect(lines.last?.hasPrefix("[0:00:20] run ended: completed") == true, "\(lines)")
        #expect(ProgressLine.clock(3723.9) == "1:02:03")
    }
}

/// Console lines count each phase's own messages, and say so.
struct ProgressLinePhaseTests {
    @Test func anIntervalLineCountsItsPhaseAlone() {
        var progress = ProgressLine()
        let lines = Fixture.run().compactMap { progress.line(for: $0) }
        #expect(lines.contains("[0:00:10] warmup: sent 1000, echoed 1000 in this phase (100/s), p99 600 us"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("[0:00:20] steady: sent 2000, echoed 2000 in this phase (200/s)") && $0.contains("out of order 1") }, "\(lines)")
    }
}

struct ProgressLineFindingTests {
    @Test func theFirstKickTimeoutIsExplainedOnceOnTheConsole() throws {
        let rules = try RuleSet(BuiltInRules.all)
        let line = SourceLine(source: .kernel, at: 0, text: "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)", level: 3)
        let finding = try #require(rules.match(line, linkEverEchoed: true).first)
        var progress = ProgressLine()
        var lines: [String] = []
        for t in [5.0, 5.1, 9.0] {
            var e = Fixture.event(t, .finding, "finding")
            e.finding = finding
            if let l = progress.line(for: e) { lines.append(l) }
        }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("[0:00:05] mailbox-kick-timeout: mailbox kick failed on vq 1") == true && lines.first?.contains("-62 is -ETIME") == true
                && lines.first?.contains("next: recover with a power cycle") == true, "\(lines)")
    }
}
