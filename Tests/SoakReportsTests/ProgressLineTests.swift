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
