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
