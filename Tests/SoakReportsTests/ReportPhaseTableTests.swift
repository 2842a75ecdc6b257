import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// report.md has what report.txt and report.html have: a table per phase and the recovery of
/// each link failure; the HTML charts say what their axes and phase lines are.
struct ReportPhaseTableTests {
    @Test func reportMdHasATableOfThePhasesWithTheirDurationRateAndLatency() throws {
        let events = HtmlReportTests.failingRun()
        let md = MarkdownReport.render(try SummaryBuilder.build(events: events), events: events)
        #expect(md.contains("| phase | start | duration | sent | echoed | lost | corrupted | echoed/s | p50 | p99 | max |"))
        #expect(md.contains("| warmup | 0.000 s | 10.0 s | 1000 | 1000 | 0 | 0 | 100.0 | 400 us | 600 us | 600 us |"), "\(md)")
        // The hang took the link down for the last 2 s: the phase soaked 8 s.
        #expect(md.contains("| steady | 10.000 s | 8.0 s | 2000 | 2000 | 0 | 0 | 250.0 | 500 us | 9.007 ms | 9.007 ms |"), "\(md)")
    }

    @Test func reportMdSaysWhichStepBroughtEachFailedLinkBack() throws {
        let events = HtmlReportTests.failingRun()
        let md = MarkdownReport.render(try SummaryBuilder.build(events: events), events: events)
        #expect(md.contains("| # | at | kind | diagnosis | recovery |"))
        let row = try #require(md.split(separator: "\n").first { $0.hasPrefix("| 1 | 14.000 s | hang |") })
        #expect(row.hasSuffix("| back by power-cycle after 2.0 s (reopen did not help) |"), "\(row)")
        // A failure nothing brought back says so.
        let cut = Array(events.prefix(7)) + [Fixture.runEnd(15, .linkFailed, totals: Fixture.firstTotals)]
        let unrecovered = MarkdownReport.render(try SummaryBuilder.build(events: cut), events: cut)
        #expect(unrecovered.contains("| not recovered: the run ended |"), "\(unrecovered)")
    }

    @Test func theLatencyAxesNameNoUnitTheirTicksDoNotHaveAndThePhasesAreLabelled() throws {
        let events = HtmlReportTests.failingRun()
        let html = HtmlReport.render(try SummaryBuilder.build(events: events), events: events)
        #expect(!html.contains("µs, log scale"))
        #expect(html.contains(">round trip (log scale)</text>"))
        // The ticks carry their own units.
        #expect(html.contains(">1 ms</text>") || html.contains(">10 ms</text>"))
        // Both time charts name both phases at the top of the plot.
        #expect(html.components(separatedBy: "<text class=\"phase\" x=\"75\" y=\"39\">warmup</text>").count - 1 == 2, "\(html)")
        #expect(html.components(separatedBy: ">steady</text>").count - 1 == 2)
    }
}
