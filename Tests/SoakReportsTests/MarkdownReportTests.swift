import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("MarkdownReport")
struct MarkdownReportTests {
    @Test("a failing run: verdict, every criterion, the failure's diagnosis and the statistics")
    func failingRun() throws {
        let events = HtmlReportTests.failingRun()
        let summary = try SummaryBuilder.build(events: events)
        let md = MarkdownReport.render(summary)
        #expect(md.hasPrefix("## "))
        #expect(md.contains(summary.verdict == .passed ? "✅" : "❌"))
        for c in summary.criteria { #expect(md.contains("| \(MarkdownReport.cell(c.name)) |"), "criterion \(c.name)") }
        #expect(md.contains("kick timeout on vq 1 72 ms after the last echo"))
        #expect(md.contains("**1 link failure(s)**"))
        #expect(md.contains("power-cycle ×1"))
        // Every table row has as many cells as its header.
        for table in md.components(separatedBy: "\n\n") where table.hasPrefix("|") {
            let rows = table.split(separator: "\n").map { $0.replacingOccurrences(of: "\\|", with: "") }
            let widths = Set(rows.map { $0.filter { $0 == "|" }.count })
            #expect(widths.count == 1, "\(table)")
        }
    }

    @Test("text from the hardware cannot break a table or inject markup")
    func hostileText() {
        #expect(MarkdownReport.cell("a|b <script> *x* `y`\nz") == "a\\|b &lt;script> \\*x\\* \\`y\\` z")
        #expect(MarkdownReport.cell("<= 0, & so on, &amp;") == "<= 0, & so on, &amp;amp;")
    }

    @Test("a passing run says so and has no failure table")
    func passingRun() throws {
        let summary = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .completed, totals: Fixture.finalTotals)))
        let md = MarkdownReport.render(summary)
        #expect(md.contains(summary.verdict == .passed ? "✅" : "❌"))
        #expect(!md.contains("link failure"))
    }
}
