import Foundation
import SoakCore

/// `report.html`: the run on one page for the engineer who opens it the morning after an
/// overnight soak: the verdict first, then what failed and when, and charts of how the link
/// behaved over the night. Self-contained (inline CSS and SVG, no script, nothing fetched), so
/// it opens from a CI artifact store or a mail attachment. The markup is HTML5 that is also
/// well-formed XML, so `xmllint` can check it.
public enum HtmlReport {
    /// Findings listed one by one; the rest are counted (summary.json and events.jsonl hold them).
    static let maxFindingRows = 200
    /// UART and kernel lines shown per link failure: the last of its evidence window.
    static let evidenceLines = 40

    /// The page for `s`; `events` is the timeline `s` was built from, whole in memory.
    public static func render(_ s: RunSummary, events: [Event]) -> String {
        render(s, timeline: TimelineDigest(events: events))
    }

    /// The page for `s`; `timeline` is the digest of the timeline `s` was built from (the charts,
    /// failure marks and recovery steps come from it).
    public static func render(_ s: RunSummary, timeline: TimelineDigest) -> String {
        let sections = [
            header(s), glance(s), criteria(s), totals(s), charts(s, timeline: timeline),
            linkFailures(s, timeline: timeline), findings(s), phases(s), warnings(s),
        ]
        let title = "rpmsg-soak \(s.profile) on \(s.board): \(s.verdict.rawValue.uppercased())"
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(Markup.escape(title))</title>
        <style>\(css)</style>
        </head>
        <body>
        \(sections.filter { !$0.isEmpty }.joined(separator: "\n"))
        <footer>Written by \(Markup.escape(s.tool)) from the run's timeline (events.jsonl); <code>rpmsg-soak report RUN_DIR</code> writes it again.</footer>
        </body>
        </html>

        """
    }

    // MARK: sections

    static func header(_ s: RunSummary) -> String {
        var why = s.endReason
        if let d = s.endDetail { why += ": \(d)" }
        let rows: [(String, String)] = [
            ("profile", "\(s.profile) (\(s.profilePath))"),
            ("board", s.boardPath.isEmpty ? "\(s.board) (built-in simulator)" : "\(s.board) (\(s.boardPath))"),
            ("seed", "\(s.seed)"), ("host", s.host), ("tool", s.tool),
            ("started", s.startedAt), ("ended", s.endedAt),
            ("duration", TimeText.duration(s.durationSeconds)), ("end", why),
        ]
        let meta = rows.map { "<tr><th>\(Markup.escape($0.0))</th><td>\(Markup.escape($0.1))</td></tr>" }.joined()
        return """
        <header>
        <h1><span class="verdict v-\(s.verdict.rawValue)">\(Markup.escape(s.verdict.rawValue.uppercased()))</span> rpmsg-soak \(Markup.escape(s.profile)) on \(Markup.escape(s.board))</h1>
        <table class="meta">\(meta)</table>
        </header>
        """
    }

    /// The numbers a reader wants before anything else.
    static func glance(_ s: RunSummary) -> String {
        var items = [
            ("duration", TimeText.duration(s.durationSeconds)),
            ("echoed", "\(s.totals.echoed) of \(s.totals.sent)"),
            ("rate", String(format: "%.1f msg/s", s.messagesPerSecond)),
            ("link failures", s.linkFailures.isEmpty ? "no link failure" : "\(s.linkFailures.count)"),
        ]
        if let l = s.latencyMicros {
            items.append((s.network == nil ? "round trip p99" : "round trip p99 (with network)", CriteriaCheck.formatMicros(l.p99)))
        }
        let failed = s.criteria.filter { !$0.passed }.count
        items.append(("criteria", failed == 0 ? "all \(s.criteria.count) met" : "\(failed) of \(s.criteria.count) failed"))
        var out = "<section class=\"glance\">" + items.map { "<div><span>\(Markup.escape($0.0))</span><b>\(Markup.escape($0.1))</b></div>" }.joined() + "</section>"
        let r = s.reliability
        if r.failures > 0 || r.recoveryAttempts > 0 {
            out += "\n<p class=\"reliability\">\(Markup.escape(ReportSentences.reliability(r, style: .html)))</p>"
        }
        return out
    }

    static func criteria(_ s: RunSummary) -> String {
        let rows = s.criteria.map { c in
            "<tr class=\"\(c.notEvaluated == true ? "skip" : c.passed ? "pass" : "fail")\"><td>\(Markup.escape(c.name))</td><td>\(Markup.escape(c.limit))</td><td>\(Markup.escape(c.observed))</td>"
                + "<td>\(c.result)</td><td>\(Markup.escape(c.message))</td></tr>"
        }
        return section("Pass criteria", table(["criterion", "limit", "observed", "result", ""], rows))
    }

    static func totals(_ s: RunSummary) -> String {
        let t = s.totals
        var rows: [(String, UInt64)] = [
            ("sent", t.sent), ("echoed", t.echoed), ("lost", t.lost), ("corrupted", t.corrupted),
            ("duplicated", t.duplicated), ("out of order", t.outOfOrder), ("unanswered", t.unanswered),
        ]
        if t.strayBytes > 0 { rows.append(("stray bytes", t.strayBytes)) }
        for (name, n) in [("stray: truncated frame", t.strayTruncated), ("stray: extended frame", t.strayExtended),
                          ("stray: repeated", t.strayRepeated), ("stray: inserted", t.strayInserted)] where n > 0 {
            rows.append((name, n))
        }
        var body = table(rows.map(\.0), ["<tr>" + rows.map { "<td class=\"num\">\($0.1)</td>" }.joined() + "</tr>"])
        body += "<p>\(String(format: "%.1f", s.messagesPerSecond)) echoed messages per second over \(Markup.escape(TimeText.duration(s.durationSeconds))); "
            + "\(t.bytesSent) bytes sent, \(t.bytesEchoed) echoed.</p>"
        if !s.anomalies.isEmpty {
            body += "<p>Anomalies on the timeline: " + Markup.escape(ReportSentences.tally(s.anomalies)) + "</p>"
        }
        var latency: [String] = []
        if let l = s.latencyMicros { latency.append(latencyRow("round trip", l)) }
        if let g = s.scheduleLagMicros { latency.append(latencyRow("send lag behind schedule", g)) }
        if let r = s.network?.roundTripMicros { latency.append(latencyRow("network alone (ssh echo)", r)) }
        body += latency.isEmpty ? "<p>No echo: no round-trip latency.</p>"
            : table(["", "count", "min", "p50", "p90", "p99", "p99.9", "max", "mean"], latency)
        if s.scheduleLagMicros != nil, let caveat = ReportSentences.scheduleLagCaveat(s) {
            body += "<p class=\"note\">The send lag behind schedule " + Markup.escape(caveat) + ".</p>"
        }
        if let n = s.network { body += "<p class=\"note\">Every latency figure of this run " + Markup.escape(ReportSentences.network(n)) + ".</p>" }
        if let c = s.testerCost { body += "<p class=\"note\">Tester's own cost: " + Markup.escape(ReportSentences.testerCost(c)) + ".</p>" }
        return section("Totals", body)
    }

    static func latencyRow(_ name: String, _ l: LatencySummary) -> String {
        let cells = [l.min, l.p50, l.p90, l.p99, l.p999, l.max].map { "<td class=\"num\">\(Markup.escape(CriteriaCheck.formatMicros($0)))</td>" }
        return "<tr><th>\(Markup.escape(name))</th><td class=\"num\">\(l.count)</td>" + cells.joined()
            + "<td class=\"num\">\(Markup.escape(CriteriaCheck.formatMicros(UInt64(l.mean.rounded()))))</td></tr>"
    }

    static func charts(_ s: RunSummary, timeline: TimelineDigest) -> String {
        let series = timeline.series
        guard !series.points.isEmpty else {
            let interval = timeline.run.map { " (report_interval \($0.profile.reportInterval))" } ?? ""
            return section("Charts", "<p>No interval snapshot on the timeline: the run ended after \(Markup.escape(TimeText.duration(s.durationSeconds))), "
                + "before its first report\(Markup.escape(interval)). Nothing to chart.</p>")
        }
        let marks = Mark.collect(timeline.landmarks)
        let gaps = Gap.collect(timeline.landmarks)
        let phases = s.phases.map { (t: $0.startSeconds, name: $0.name) }
        let xMax = max(s.durationSeconds, series.points.last?.end ?? 0, marks.map(\.t).max() ?? 0)
        var parts = [
            Charts.throughput(series, marks: marks, phases: phases, xMax: xMax, gaps: gaps),
            Charts.latency(series, marks: marks, phases: phases, xMax: xMax, network: s.network.map { "including the network (\($0.path))" },
                           gaps: gaps),
            Charts.distribution(series.whole, summary: s.latencyMicros),
        ]
        if s.reliability.failures > 0 {
            parts.append(Charts.timeToFailure(s.reliability))
        } else {
            parts.append("<p>No link failure: no time-to-failure chart.</p>")
        }
        if series.bucketSize > 1 {
            parts.append("<p class=\"note\">\(series.intervals) intervals drawn as \(series.points.count) points of \(series.bucketSize) "
                + "intervals each: the p99 and max lines take each point's highest interval, the shaded band spans the lowest and highest rate.</p>")
        }
        return section("Charts", parts.joined(separator: "\n"))
    }

    static func linkFailures(_ s: RunSummary, timeline: TimelineDigest) -> String {
        guard !s.linkFailures.isEmpty else {
            return section("Link failures", "<p>No link failure.</p>")
        }
        let recoveries = RecoveryOutcome.perFailure(timeline.landmarks)
        var rows: [String] = []
        for (i, f) in s.linkFailures.enumerated() {
            let outcome = i < recoveries.count ? recoveries[i].describe(failureAt: f.atSeconds) : "not recovered"
            var diagnosis = Markup.escape(f.diagnosis ?? "")
            if let lines = f.evidence?.lines, !lines.isEmpty {
                let shown = lines.suffix(evidenceLines).map { String(format: "%+8.3f ", $0.offset) + "\($0.source.rawValue) \($0.text)" }
                diagnosis += "<details><summary>UART and kernel lines around it (\(shown.count) of \(lines.count), seconds from the failure)</summary>"
                    + "<pre>\(Markup.escape(shown.joined(separator: "\n")))</pre></details>"
            }
            rows.append("<tr><td class=\"num\">\(i + 1)</td><td>\(Markup.escape(TimeText.runTime(f.atSeconds)))<br/><small>\(Markup.escape(f.wall))</small></td>"
                + "<td>\(Markup.escape(f.kind.rawValue))</td><td>\(Markup.escape(f.reason))<br/><small>after \(f.messagesBefore) messages</small></td>"
                + "<td>\(diagnosis)</td><td>\(Markup.escape(outcome))</td></tr>")
        }
        return section("Link failures", table(["#", "run time", "kind", "reason", "diagnosis", "recovery"], rows))
    }

    static func findings(_ s: RunSummary) -> String {
        guard !s.findingCounts.isEmpty else { return section("Findings", "<p>No finding on the UART or in the kernel log.</p>") }
        let counts = s.findingCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        // Each class explained once, with what to do next; the rows below only list the lines.
        let meanings = Dictionary(ReportSentences.findingMeanings(s).map { ($0.findingClass, $0) }, uniquingKeysWith: { a, _ in a })
        var body = table(["class", "count", "what it means"], counts.map { c in
            let m = meanings[c.key]
            let text = (m?.meaning ?? "") + (m?.next.map { ". Next: \($0)" } ?? "")
            return "<tr><td>\(Markup.escape(c.key))</td><td class=\"num\">\(c.value)</td><td><small>\(Markup.escape(text))</small></td></tr>"
        })
        let shown = s.findings.prefix(maxFindingRows)
        var explained = Set<String>()
        let rows = shown.map { r in
            let f = r.finding
            // A finding whose text differs from its class's (a rule with captures) keeps its own.
            let own = explained.contains(f.findingClass) && meanings[f.findingClass]?.meaning != f.explanation
            explained.insert(f.findingClass)
            return "<tr class=\"sev-\(f.severity.rawValue)\"><td>\(Markup.escape(TimeText.runTime(r.atSeconds)))</td><td>\(Markup.escape(f.severity.rawValue))</td>"
                + "<td>\(Markup.escape(f.findingClass))</td><td>\(Markup.escape(f.source?.rawValue ?? ""))</td>"
                + "<td><code>\(Markup.escape(f.line ?? ""))</code>" + (own ? "<br/><small>\(Markup.escape(f.explanation))</small>" : "") + "</td></tr>"
        }
        body += table(["run time", "severity", "class", "source", "line"], rows)
        let total = s.findingCounts.values.reduce(0, +)
        if total > UInt64(shown.count) {
            body += "<p class=\"note\">The first \(shown.count) of \(total) findings; \(total - UInt64(shown.count)) left out "
                + "(summary.json lists the first 500, events.jsonl all of them).</p>"
        }
        return section("Findings", body)
    }

    static func phases(_ s: RunSummary) -> String {
        guard !s.phases.isEmpty else { return "" }
        let rows = s.phases.map { p in
            let t = p.totals
            let l = p.latencyMicros
            let lat = [l?.p50, l?.p99, l?.max].map { "<td class=\"num\">\($0.map { Markup.escape(CriteriaCheck.formatMicros($0)) } ?? "")</td>" }
            return "<tr><td>\(Markup.escape(p.name))</td><td>\(Markup.escape(TimeText.runTime(p.startSeconds)))</td>"
                + [t.sent, t.echoed, t.lost, t.corrupted, t.duplicated, t.outOfOrder, t.unanswered].map { "<td class=\"num\">\($0)</td>" }.joined()
                + lat.joined() + "</tr>"
        }
        let body = table(["phase", "start", "sent", "echoed", "lost", "corrupted", "duplicated", "out of order",
                          "unanswered", "p50", "p99", "max"], rows)
        return section("Phases", body + (s.network.map { "<p class=\"note\">Every latency above " + Markup.escape(ReportSentences.network($0)) + ".</p>" } ?? ""))
    }

    static func warnings(_ s: RunSummary) -> String {
        guard !s.warnings.isEmpty else { return "" }
        return section("Warnings", "<ul>" + s.warnings.map { "<li>\(Markup.escape($0))</li>" }.joined() + "</ul>")
    }

    // MARK: pieces

    static func section(_ title: String, _ body: String) -> String {
        "<section>\n<h2>\(Markup.escape(title))</h2>\n\(body)\n</section>"
    }

    static func table(_ head: [String], _ rows: [String]) -> String {
        "<table><thead><tr>" + head.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
            + rows.joined(separator: "\n") + "\n</tbody></table>"
    }

    static let css = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:960px;margin:1em auto;padding:0 1em}
    h1{font-size:22px;margin:.3em 0}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:1.6em}
    .verdict{display:inline-block;padding:.1em .5em;border-radius:4px;color:#fff;margin-right:.3em}
    .v-passed{background:#2e7d32}.v-failed{background:#c62828}.v-error{background:#6a1b9a}
    .v-interrupted{background:#ef6c00}.v-incomplete{background:#616161}
    table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
    thead th{background:#f3f3f3}.meta th{background:#f8f8f8;font-weight:normal;color:#555}
    td.num{text-align:right;font-variant-numeric:tabular-nums}
    tr.fail td{background:#fdecea}tr.fail td:nth-child(4){color:#c62828;font-weight:bold}tr.pass td:nth-child(4){color:#2e7d32}
    tr.sev-error td,tr.sev-fatal td{background:#fdecea}tr.sev-warning td{background:#fff8e1}
    .glance{display:flex;flex-wrap:wrap;gap:8px;margin:1em 0}.glance div{border:1px solid #ddd;border-radius:4px;padding:4px 10px}
    .glance span{display:block;font-size:11px;color:#666}.glance b{font-size:16px}
    svg{display:block;max-width:100%;height:auto;margin:1em 0;font:11px system-ui,sans-serif}
    pre{font-size:11px;white-space:pre-wrap;word-break:break-all;background:#f8f8f8;padding:4px}
    small,.note{color:#666}footer{margin:2em 0 1em;color:#888;font-size:12px}
    """
}
