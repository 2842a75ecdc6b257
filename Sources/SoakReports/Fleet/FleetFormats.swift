import Foundation
import SoakCore

/// `junit.xml` of a fleet: one `<testsuite>` per run, named as `FleetSummary.suiteNames` names
/// it, each with the cases `JUnitReport` gives that run on its own.
public enum FleetJUnit {
    public static func render(_ runs: [FleetInput]) -> String {
        let names = FleetSummary.suiteNames(runs)
        return JUnitReport.document(zip(runs, names).map { r, name in
            JUnitReport.testsuite(r.summary, name: name, extraProperties: [("run_folder", r.folderName)])
        })
    }
}

/// The words and figures the fleet's formats share, and what `rpmsg-soak merge` prints.
public enum FleetText {
    /// `rpmsg-soak fleet of 4 runs on 4 boards (recovery): FAILED (1 of 4 run(s) failed: sim-b)`
    public static func verdictLine(_ f: FleetSummary) -> String {
        let profiles = f.groups.map(\.profile).joined(separator: ", ")
        return "rpmsg-soak fleet of \(f.runCount) run\(f.runCount == 1 ? "" : "s") on \(f.boards.count) board\(f.boards.count == 1 ? "" : "s") "
            + "(\(profiles)): \(f.verdict.rawValue.uppercased()) (\(f.verdictReason))"
    }

    static func seconds(_ v: Double, _ style: ReportSentences.Style) -> String {
        style == .html ? TimeText.duration(v) : String(format: "%.1f s", v)
    }

    /// A table cell: `24.3 s (95%: 11.6 to 50.1 s)`, or `none (95%: at least 80.0 s)` without a failure.
    static func mtbfCell(_ r: ReliabilitySummary, _ style: ReportSentences.Style) -> String {
        if let m = r.mtbfSeconds { return "\(seconds(m, style)) (95%: \(ReportSentences.mtbfInterval(r, style: style)))" }
        guard r.uptimeSeconds > 0 else { return "-" }
        return "no failure (95%: at least \(seconds(r.mtbfLower95, style)))"
    }

    /// `pooled over 4 runs: 12 link failure(s) in 40.0 s of uptime, MTBF 3.3 s (95%: 1.9 to 5.9 s), 41.2 per million messages`
    static func pooled(_ g: FleetGroup, _ style: ReportSentences.Style) -> String {
        let r = g.reliability
        var line = "pooled over \(g.runs.count) run\(g.runs.count == 1 ? "" : "s"): \(r.failures) link failure(s) in \(seconds(r.uptimeSeconds, style)) of uptime"
        if r.failures > 0 {
            line += ", MTBF \(seconds(r.mtbfSeconds ?? 0, style)) (95%: \(ReportSentences.mtbfInterval(r, style: style)))"
        } else if r.uptimeSeconds > 0 {
            line += ", MTBF at least \(seconds(r.mtbfLower95, style)) (95% lower bound)"
        }
        line += String(format: ", %.2f per million messages", r.failuresPerMillionMessages)
        if r.recoveryAttempts > 0 {
            line += ", \(r.recoveries) recovered" + (r.recoveredBy.isEmpty ? "" : " (\(ReportSentences.tally(r.recoveredBy)))")
        }
        return line
    }

    /// The lines `rpmsg-soak merge` prints: the verdict, a row per run, the pooled figures.
    public static func terminal(_ f: FleetSummary) -> String {
        var lines = [verdictLine(f)]
        for g in f.groups {
            if f.mixedProfiles { lines.append("profile \(g.profile):") }
            let width = max(5, g.runs.map(\.name.count).max() ?? 0)
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            lines.append("  " + pad("board", width) + "  " + pad("verdict", 11) + pad("duration", 11) + pad("sent", 10) + pad("echoed", 10)
                         + pad("failures", 10) + "MTBF")
            for r in g.runs {
                lines.append("  " + pad(r.name, width) + "  " + pad(r.verdict.rawValue, 11) + pad(seconds(r.durationSeconds, .terminal), 11)
                             + pad("\(r.totals.sent)", 10) + pad("\(r.totals.echoed)", 10) + pad("\(r.linkFailures)", 10)
                             + mtbfCell(r.reliability, .terminal))
            }
            lines.append("  " + pooled(g, .terminal))
        }
        return lines.joined(separator: "\n")
    }
}

/// `report.md` of a fleet, for a CI page: the verdict, a table per profile with a row per run
/// and the pooled figures, the finding classes with the boards that saw them.
public enum FleetMarkdown {
    public static func render(_ f: FleetSummary) -> String {
        let cell = MarkdownReport.cell
        var md = ["## \(f.verdict == .passed ? "✅" : "❌") \(cell(FleetText.verdictLine(f)))", ""]
        md.append("\(f.runCount) run(s) on \(f.boards.count) board(s), \(cell(FleetText.seconds(f.durationSeconds, .markdown))) of soak in all: "
                  + "\(f.totals.sent) messages sent, \(f.totals.echoed) echoed.")
        for g in f.groups {
            md += ["", "### Profile `\(MarkdownReport.code(g.profile))`", ""]
            md.append("| board | run folder | profile | verdict | duration | sent | echoed | link failures | MTBF |")
            md.append("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
            for r in g.runs {
                let verdict = r.verdict == .passed ? "passed" : "**\(r.verdict.rawValue.uppercased())**"
                md.append("| \(cell(r.name)) | \(cell(URL(fileURLWithPath: r.folder).lastPathComponent)) | \(cell(r.profile)) | \(verdict) | "
                          + "\(cell(FleetText.seconds(r.durationSeconds, .markdown))) | \(r.totals.sent) | \(r.totals.echoed) | \(r.linkFailures) | "
                          + "\(cell(FleetText.mtbfCell(r.reliability, .markdown))) |")
            }
            md.append("| **all \(g.runs.count)** | | | | \(cell(FleetText.seconds(g.durationSeconds, .markdown))) | \(g.totals.sent) | \(g.totals.echoed) | "
                      + "\(g.reliability.failures) | \(cell(FleetText.mtbfCell(g.reliability, .markdown))) |")
            md += ["", "**" + cell(FleetText.pooled(g, .markdown).prefix(1).uppercased() + FleetText.pooled(g, .markdown).dropFirst()) + ".**"]
        }
        if !f.findings.isEmpty {
            md += ["", "| finding | count | boards |", "| --- | ---: | --- |"]
            for x in f.findings { md.append("| `\(MarkdownReport.code(x.findingClass))` | \(x.count) | \(cell(x.boards.joined(separator: ", "))) |") }
        }
        md.append("")
        return md.joined(separator: "\n")
    }
}

/// `report.html` of a fleet: the same as `report.md` on one self-contained page, with the time
/// to failure of every cycle on every board against the pooled MTBF.
public enum FleetHtml {
    public static func render(_ f: FleetSummary) -> String {
        var sections = [header(f)]
        for g in f.groups { sections.append(group(g, mixed: f.mixedProfiles)) }
        sections.append(findings(f))
        let title = FleetText.verdictLine(f)
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(Markup.escape(title))</title>
        <style>\(HtmlReport.css)</style>
        </head>
        <body>
        \(sections.joined(separator: "\n"))
        <footer>Written by <code>rpmsg-soak merge</code> from each run folder's timeline (events.jsonl).</footer>
        </body>
        </html>

        """
    }

    static func header(_ f: FleetSummary) -> String {
        let items = [
            ("runs", "\(f.runCount)"), ("boards", "\(f.boards.count)"), ("soak time", TimeText.duration(f.durationSeconds)),
            ("echoed", "\(f.totals.echoed) of \(f.totals.sent)"),
            ("link failures", "\(f.groups.reduce(0) { $0 + $1.reliability.failures })"),
        ]
        return """
        <header>
        <h1><span class="verdict v-\(f.verdict.rawValue)">\(Markup.escape(f.verdict.rawValue.uppercased()))</span> rpmsg-soak fleet</h1>
        <p>\(Markup.escape(f.verdictReason))</p>
        </header>
        <section class="glance">\(items.map { "<div><span>\(Markup.escape($0.0))</span><b>\(Markup.escape($0.1))</b></div>" }.joined())</section>
        """
    }

    static func group(_ g: FleetGroup, mixed: Bool) -> String {
        var rows = g.runs.map { r in
            let verdict = r.verdict == .passed ? "pass" : "fail"
            return "<tr class=\"\(verdict)\"><td>\(Markup.escape(r.name))<br/><small>\(Markup.escape(r.folder))</small></td><td>\(Markup.escape(r.profile))</td>"
                + "<td>\(Markup.escape(r.verdict.rawValue.uppercased()))</td><td class=\"num\">\(Markup.escape(TimeText.duration(r.durationSeconds)))</td>"
                + "<td class=\"num\">\(r.totals.sent)</td><td class=\"num\">\(r.totals.echoed)</td><td class=\"num\">\(r.linkFailures)</td>"
                + "<td>\(Markup.escape(FleetText.mtbfCell(r.reliability, .html)))</td></tr>"
        }
        rows.append("<tr><th>all \(g.runs.count)</th><td></td><td></td><td class=\"num\">\(Markup.escape(TimeText.duration(g.durationSeconds)))</td>"
            + "<td class=\"num\">\(g.totals.sent)</td><td class=\"num\">\(g.totals.echoed)</td><td class=\"num\">\(g.reliability.failures)</td>"
            + "<td><b>\(Markup.escape(FleetText.mtbfCell(g.reliability, .html)))</b></td></tr>")
        var body = HtmlReport.table(["board", "profile", "verdict", "duration", "sent", "echoed", "link failures", "MTBF"], rows)
        let sentence = FleetText.pooled(g, .html)
        body += "<p class=\"reliability\">\(Markup.escape(sentence.prefix(1).uppercased() + sentence.dropFirst())).</p>"
        if g.reliability.failures > 0 { body += FleetChart.timeToFailure(g) }
        return HtmlReport.section(mixed ? "Profile \(g.profile)" : "Runs (profile \(g.profile))", body)
    }

    static func findings(_ f: FleetSummary) -> String {
        guard !f.findings.isEmpty else { return HtmlReport.section("Findings", "<p>No finding on any board's UART or kernel log.</p>") }
        return HtmlReport.section("Findings", HtmlReport.table(["class", "count", "boards"], f.findings.map {
            "<tr><td>\(Markup.escape($0.findingClass))</td><td class=\"num\">\($0.count)</td><td>\(Markup.escape($0.boards.joined(separator: ", ")))</td></tr>"
        }))
    }
}

/// Time to failure of every cycle, a column per run, against the pooled MTBF and its interval.
enum FleetChart {
    static func timeToFailure(_ g: FleetGroup) -> String {
        var chart = SvgChart(height: 300)
        let pooled = g.reliability
        let values = g.runs.flatMap { $0.reliability.timeToFailureSeconds + ($0.reliability.censoredLastCycleSeconds.map { [$0] } ?? []) }
        let top = Scale.niceCeil(max(values.max() ?? 0, pooled.mtbfSeconds ?? 0, pooled.mtbfUpper95 ?? 0) * 1.1)
        let unit = TimeUnit(span: top)
        let y = chart.yScale(0, top)
        let x = chart.xScale(0.5, Double(g.runs.count) + 0.5)
        chart.axes(x: x, xTicks: g.runs.indices.map { Double($0 + 1) },
                   // Names while they fit under their column (about 110 px each), numbers beyond.
                   xLabel: { i in
                       let k = Int(i) - 1
                       guard k >= 0 && k < g.runs.count else { return "" }
                       return g.runs.count <= 7 ? String(g.runs[k].name.prefix(16)) : "\(k + 1)"
                   },
                   xTitle: "run (board)",
                   y: y, yTicks: Scale.linearTicks(0, top / unit.seconds, count: 5).map { $0 * unit.seconds },
                   yLabel: { Charts.number($0 / unit.seconds) }, yTitle: "time to failure (\(unit.name))")
        if let m = pooled.mtbfSeconds {
            chart.horizontalBand(from: y.px(min(pooled.mtbfUpper95 ?? top, top)), to: y.px(pooled.mtbfLower95),
                                 paint: "fill=\"#d32f2f\" fill-opacity=\"0.12\"",
                                 title: "pooled MTBF 95% interval: " + ReportSentences.mtbfInterval(pooled, style: .html))
            chart.horizontalLine(at: y.px(m), stroke: "stroke=\"#d32f2f\" stroke-width=\"2\" stroke-dasharray=\"6 3\"",
                                 title: "pooled MTBF \(TimeText.duration(m))")
        }
        var dots: [(x: Double, y: Double, paint: String, title: String)] = []
        for (i, r) in g.runs.enumerated() {
            let ttf = r.reliability.timeToFailureSeconds
            for (k, t) in ttf.enumerated() {
                // Spread a run's cycles a little sideways so that equal times stay visible.
                let dx = ttf.count > 1 ? (Double(k) / Double(ttf.count - 1) - 0.5) * 0.5 : 0
                dots.append((x.px(Double(i + 1) + dx), y.px(t), "fill=\"#546e7a\"", "\(r.name), cycle \(k + 1): failed after \(TimeText.duration(t))"))
            }
            if let c = r.reliability.censoredLastCycleSeconds {
                dots.append((x.px(Double(i + 1) + 0.3), y.px(c), "fill=\"#fff\" stroke=\"#546e7a\"",
                             "\(r.name), last cycle: \(TimeText.duration(c)) without failure until the run ended (censored)"))
            }
        }
        chart.dots(dots)
        var legend: [(color: String, name: String)] = [("#546e7a", "time to failure of a cycle"), ("#cfd8dc", "last cycle, censored")]
        if let m = pooled.mtbfSeconds { legend.append(("#d32f2f", "pooled MTBF \(TimeText.duration(m))")) }
        chart.legend(legend)
        return chart.svg(title: "Time to failure of each link cycle on each board, with the pooled MTBF and its 95% interval")
    }
}
