import Foundation
import SoakCore

/// `report.html`: the run on one page for the engineer who opens it the morning after an
/// overnight soak: the verdict first, then what failed and when, and charts of how the link
/// behaved over the night. Self-contained (inline CSS and SVG, no script, nothing fetched), so
/// it opens from a CI artifact store or a mail attachment. The markup is HTML5 that is also
/// well-formed XML, so `xmllint` can check it.
public enum HtmlReport {
    /// Points per chart series at most: a 12 h run at a 1 s interval stays a few hundred kB.
    static let maxPoints = 2000
    /// Tooltip targets per time chart at most: about 2 px each on a 900 px chart.
    static let maxHoverColumns = 450
    /// Findings listed one by one; the rest are counted (summary.json and events.jsonl hold them).
    static let maxFindingRows = 200
    /// UART and kernel lines shown per link failure: the last of its evidence window.
    static let evidenceLines = 40

    /// The page for `s`; `events` is the timeline `s` was built from (the charts, failure marks
    /// and recovery steps come from it).
    public static func render(_ s: RunSummary, events: [Event]) -> String {
        let sections = [
            header(s), glance(s), criteria(s), totals(s), charts(s, events: events),
            linkFailures(s, events: events), findings(s), phases(s), warnings(s),
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
            ("duration", duration(s.durationSeconds)), ("end", why),
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
            ("duration", duration(s.durationSeconds)),
            ("echoed", "\(s.totals.echoed) of \(s.totals.sent)"),
            ("rate", String(format: "%.1f msg/s", s.messagesPerSecond)),
            ("link failures", s.linkFailures.isEmpty ? "no link failure" : "\(s.linkFailures.count)"),
        ]
        if let l = s.latencyMicros { items.append(("round trip p99", CriteriaCheck.formatMicros(l.p99))) }
        let failed = s.criteria.filter { !$0.passed }.count
        items.append(("criteria", failed == 0 ? "all \(s.criteria.count) met" : "\(failed) of \(s.criteria.count) failed"))
        var out = "<section class=\"glance\">" + items.map { "<div><span>\(Markup.escape($0.0))</span><b>\(Markup.escape($0.1))</b></div>" }.joined() + "</section>"
        if let line = reliabilityLine(s) { out += "\n<p class=\"reliability\">\(Markup.escape(line))</p>" }
        return out
    }

    /// `7 link failure(s) in 170.2 s of uptime, MTBF 24.3 s (95%: 11.6-50.1 s), 7 recovered (power-cycle x7)`
    static func reliabilityLine(_ s: RunSummary) -> String? {
        let r = s.reliability
        guard r.failures > 0 || r.recoveryAttempts > 0 else { return nil }
        var line = "\(r.failures) link failure(s) in \(duration(r.uptimeSeconds)) of uptime"
        if let m = r.mtbfSeconds {
            line += ", MTBF \(duration(m)) (95%: \(duration(r.mtbfLower95)) to \(r.mtbfUpper95.map(duration) ?? "unbounded"))"
        }
        let by = r.recoveredBy.keys.sorted().map { "\($0) x\(r.recoveredBy[$0] ?? 0)" }.joined(separator: ", ")
        line += ", \(r.recoveries) recovered" + (by.isEmpty ? "" : " (\(by))")
        if r.recoveryAttempts > r.recoveries { line += ", \(r.recoveryAttempts - r.recoveries) recovery step(s) did not help" }
        return line
    }

    static func criteria(_ s: RunSummary) -> String {
        let rows = s.criteria.map { c in
            "<tr class=\"\(c.passed ? "pass" : "fail")\"><td>\(Markup.escape(c.name))</td><td>\(Markup.escape(c.limit))</td><td>\(Markup.escape(c.observed))</td>"
                + "<td>\(c.passed ? "pass" : "FAIL")</td><td>\(Markup.escape(c.message))</td></tr>"
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
        var body = table(rows.map(\.0), ["<tr>" + rows.map { "<td class=\"num\">\($0.1)</td>" }.joined() + "</tr>"])
        body += "<p>\(String(format: "%.1f", s.messagesPerSecond)) echoed messages per second over \(Markup.escape(duration(s.durationSeconds))); "
            + "\(t.bytesSent) bytes sent, \(t.bytesEchoed) echoed.</p>"
        if !s.anomalies.isEmpty {
            body += "<p>Anomalies on the timeline: " + Markup.escape(s.anomalies.keys.sorted().map { "\($0) x\(s.anomalies[$0] ?? 0)" }.joined(separator: ", ")) + "</p>"
        }
        var latency: [String] = []
        if let l = s.latencyMicros { latency.append(latencyRow("round trip", l)) }
        if let g = s.scheduleLagMicros { latency.append(latencyRow("send lag behind schedule", g)) }
        body += latency.isEmpty ? "<p>No echo: no round-trip latency.</p>"
            : table(["", "count", "min", "p50", "p90", "p99", "p99.9", "max", "mean"], latency)
        return section("Totals", body)
    }

    static func latencyRow(_ name: String, _ l: LatencySummary) -> String {
        let cells = [l.min, l.p50, l.p90, l.p99, l.p999, l.max].map { "<td class=\"num\">\(Markup.escape(CriteriaCheck.formatMicros($0)))</td>" }
        return "<tr><th>\(Markup.escape(name))</th><td class=\"num\">\(l.count)</td>" + cells.joined()
            + "<td class=\"num\">\(Markup.escape(CriteriaCheck.formatMicros(UInt64(l.mean.rounded()))))</td></tr>"
    }

    static func charts(_ s: RunSummary, events: [Event]) -> String {
        let series = TimeSeries(events: events, maxPoints: maxPoints)
        guard !series.points.isEmpty else {
            let interval = events.first?.run.map { " (report_interval \($0.profile.reportInterval))" } ?? ""
            return section("Charts", "<p>No interval snapshot on the timeline: the run ended after \(Markup.escape(duration(s.durationSeconds))), "
                + "before its first report\(Markup.escape(interval)). Nothing to chart.</p>")
        }
        let marks = Mark.collect(events)
        let phases = s.phases.map { (t: $0.startSeconds, name: $0.name) }
        let xMax = max(s.durationSeconds, series.points.last?.end ?? 0, marks.map(\.t).max() ?? 0)
        var parts = [
            Charts.throughput(series, marks: marks, phases: phases, xMax: xMax),
            Charts.latency(series, marks: marks, phases: phases, xMax: xMax),
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

    static func linkFailures(_ s: RunSummary, events: [Event]) -> String {
        guard !s.linkFailures.isEmpty else {
            return section("Link failures", "<p>No link failure.</p>")
        }
        let recoveries = RecoveryOutcome.perFailure(events)
        var rows: [String] = []
        for (i, f) in s.linkFailures.enumerated() {
            let outcome = i < recoveries.count ? recoveries[i].describe(failureAt: f.atSeconds) : "not recovered"
            var diagnosis = Markup.escape(f.diagnosis ?? "")
            if let lines = f.evidence?.lines, !lines.isEmpty {
                let shown = lines.suffix(evidenceLines).map { String(format: "%+8.3f ", $0.offset) + "\($0.source.rawValue) \($0.text)" }
                diagnosis += "<details><summary>UART and kernel lines around it (\(shown.count) of \(lines.count), seconds from the failure)</summary>"
                    + "<pre>\(Markup.escape(shown.joined(separator: "\n")))</pre></details>"
            }
            rows.append("<tr><td class=\"num\">\(i + 1)</td><td>\(Markup.escape(runTime(f.atSeconds)))<br/><small>\(Markup.escape(f.wall))</small></td>"
                + "<td>\(Markup.escape(f.kind.rawValue))</td><td>\(Markup.escape(f.reason))<br/><small>after \(f.messagesBefore) messages</small></td>"
                + "<td>\(diagnosis)</td><td>\(Markup.escape(outcome))</td></tr>")
        }
        return section("Link failures", table(["#", "run time", "kind", "reason", "diagnosis", "recovery"], rows))
    }

    static func findings(_ s: RunSummary) -> String {
        guard !s.findingCounts.isEmpty else { return section("Findings", "<p>No finding on the UART or in the kernel log.</p>") }
        let counts = s.findingCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var body = table(["class", "count"], counts.map { "<tr><td>\(Markup.escape($0.key))</td><td class=\"num\">\($0.value)</td></tr>" })
        let shown = s.findings.prefix(maxFindingRows)
        let rows = shown.map { r in
            let f = r.finding
            return "<tr class=\"sev-\(f.severity.rawValue)\"><td>\(Markup.escape(runTime(r.atSeconds)))</td><td>\(Markup.escape(f.severity.rawValue))</td>"
                + "<td>\(Markup.escape(f.findingClass))</td><td>\(Markup.escape(f.source?.rawValue ?? ""))</td>"
                + "<td><code>\(Markup.escape(f.line ?? ""))</code><br/><small>\(Markup.escape(f.explanation))</small></td></tr>"
        }
        body += table(["run time", "severity", "class", "source", "line and explanation"], rows)
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
            return "<tr><td>\(Markup.escape(p.name))</td><td>\(Markup.escape(runTime(p.startSeconds)))</td>"
                + [t.sent, t.echoed, t.lost, t.corrupted, t.duplicated, t.outOfOrder, t.unanswered].map { "<td class=\"num\">\($0)</td>" }.joined()
                + lat.joined() + "</tr>"
        }
        return section("Phases", table(["phase", "start", "sent", "echoed", "lost", "corrupted", "duplicated", "out of order",
                                        "unanswered", "p50", "p99", "max"], rows))
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

    /// `12.3 s`, `4 min 05 s`, `12 h 03 min`.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 60 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    /// A point in the run: `12.345 s` in the first ten minutes, `1:02:03.4` (h:mm:ss) later.
    static func runTime(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 600 { return String(format: "%.3f s", s) }
        let h = Int(s / 3600)
        let m = Int(s.truncatingRemainder(dividingBy: 3600) / 60)
        return String(format: "%d:%02d:%04.1f", h, m, s.truncatingRemainder(dividingBy: 60))
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

// MARK: - data behind the charts

/// The latencies of one span as (value, count) pairs in ascending order, from the timeline's
/// sparse HdrHistogram buckets. Percentiles follow HdrHistogram's `valueAtPercentile`, so the
/// charts agree with summary.json without building a full histogram per interval.
struct LatencyCounts {
    private(set) var pairs: [(value: UInt64, count: UInt64)] = []
    private(set) var total: UInt64 = 0

    init(sparse: [[UInt64]]) {
        for p in sparse where p.count == 2 && p[1] > 0 {
            pairs.append((min(p[0], EchoVerifier.highestLatencyMicros), p[1]))
            total += p[1]
        }
        pairs.sort { $0.value < $1.value }
    }

    init(merging parts: [LatencyCounts]) {
        if parts.count == 1, let only = parts.first {
            self = only
            return
        }
        var byValue: [UInt64: UInt64] = [:]
        for part in parts {
            for p in part.pairs { byValue[p.value, default: 0] += p.count }
            total += part.total
        }
        pairs = byValue.map { ($0.key, $0.value) }.sorted { $0.value < $1.value }
    }

    var isEmpty: Bool { total == 0 }
    var max: UInt64 { pairs.last?.value ?? 0 }

    func value(atPercentile p: Double) -> UInt64 {
        guard p < 100 else { return max }
        let wanted = Swift.max(1, UInt64((Swift.max(p.nextDown, 0) * Double(total) / 100).rounded(.up)))
        var running: UInt64 = 0
        for pair in pairs {
            running += pair.count
            if running >= wanted { return pair.value }
        }
        return max
    }
}

/// One chart point: a report interval, or several consecutive ones when the run has more
/// intervals than a chart has points.
struct SeriesPoint {
    var start: Double
    var end: Double
    var echoed: UInt64
    /// Echoed messages per second over the span, and over its slowest and fastest interval.
    var rate: Double?
    var rateMin: Double?
    var rateMax: Double?
    /// p50 of all the span's echoes; p99 and max of its worst interval (a spike stays visible).
    var p50: UInt64?
    var p99: UInt64?
    var max: UInt64?
    var count: UInt64
    var mid: Double { (start + end) / 2 }
}

/// The interval snapshots of the timeline as chart points, downsampled to at most `maxPoints`.
struct TimeSeries {
    /// One report interval: what was echoed in it and its latencies.
    struct Span {
        var start: Double
        var end: Double
        var echoed: UInt64
        var latency: LatencyCounts

        func joined(_ next: Span) -> Span {
            Span(start: start, end: next.end, echoed: echoed + next.echoed,
                 latency: LatencyCounts(merging: [latency, next.latency].filter { !$0.isEmpty }))
        }
    }

    var points: [SeriesPoint] = []
    /// Every echo of the run, for the distribution chart.
    var whole: [UInt64: UInt64] = [:]
    var intervals = 0
    var bucketSize = 1

    init(events: [Event], maxPoints: Int) {
        var spans: [Span] = []
        var lastEchoed: UInt64 = 0
        for e in events where e.type == .interval {
            guard let snap = e.interval else { continue }
            let echoed = snap.totals.echoed >= lastEchoed ? snap.totals.echoed - lastEchoed : snap.totals.echoed
            lastEchoed = snap.totals.echoed
            let counts = LatencyCounts(sparse: snap.latencyMicros)
            for p in counts.pairs { whole[p.value, default: 0] += p.count }
            spans.append(Span(start: max(0, e.t - snap.seconds), end: e.t, echoed: echoed, latency: counts))
        }
        let interval = events.first?.run.map { Double($0.profile.reportInterval.nanoseconds) / 1e9 } ?? 0
        spans = Self.coalesce(spans, shorterThan: interval / 4)
        intervals = spans.count
        bucketSize = Swift.max(1, (spans.count + maxPoints - 1) / Swift.max(1, maxPoints))
        var i = 0
        while i < spans.count {
            points.append(Self.point(spans[i..<min(i + bucketSize, spans.count)]))
            i += bucketSize
        }
    }

    /// Folds the short snapshots the runner takes at phase boundaries and at the end into a
    /// neighbour: a 10 ms interval with one echo would draw a spike of 100 messages/s.
    static func coalesce(_ spans: [Span], shorterThan minimum: Double) -> [Span] {
        var out: [Span] = []
        var carry: Span?
        for span in spans {
            let s = carry.map { $0.joined(span) } ?? span
            carry = nil
            if s.end - s.start < minimum {
                carry = s
            } else {
                out.append(s)
            }
        }
        if let c = carry {
            out.append(out.popLast().map { $0.joined(c) } ?? c)
        }
        return out
    }

    static func point(_ chunk: ArraySlice<Span>) -> SeriesPoint {
        let start = chunk.first?.start ?? 0
        let end = chunk.last?.end ?? start
        let echoed = chunk.reduce(0) { $0 + $1.echoed }
        let seconds = chunk.reduce(0.0) { $0 + ($1.end - $1.start) }
        let rates = chunk.compactMap { c in c.end > c.start ? Double(c.echoed) / (c.end - c.start) : nil }
        let busy = chunk.filter { !$0.latency.isEmpty }
        let merged = LatencyCounts(merging: busy.map(\.latency))
        return SeriesPoint(
            start: start, end: end, echoed: echoed, rate: seconds > 0 ? Double(echoed) / seconds : nil,
            rateMin: rates.min(), rateMax: rates.max(),
            p50: merged.isEmpty ? nil : merged.value(atPercentile: 50),
            p99: busy.map { $0.latency.value(atPercentile: 99) }.max(),
            max: busy.map { $0.latency.max }.max(), count: merged.total)
    }
}

/// A vertical marker on the time charts: a link failure (red) or a recovery that brought the link back (green).
struct Mark {
    var t: Double
    var failure: Bool
    var title: String

    static func collect(_ events: [Event]) -> [Mark] {
        var out: [Mark] = []
        var lastFailure: Double?
        for e in events {
            if (e.type == .hang || e.type == .linkLost), let f = e.failure {
                lastFailure = e.t
                var title = "\(f.kind.rawValue) at \(HtmlReport.runTime(e.t)) (\(e.wall)): \(f.reason)"
                if let d = f.evidence?.diagnosis, d != f.reason { title += "\n\(d)" }
                out.append(Mark(t: e.t, failure: true, title: title))
            } else if e.type == .recovery, let r = e.recovery, r.succeeded {
                let down = lastFailure.map { ", link down \(HtmlReport.duration(e.t - $0))" } ?? ""
                out.append(Mark(t: e.t, failure: false, title: "link back at \(HtmlReport.runTime(e.t)) by \(r.step.rawValue)\(down)"))
            }
        }
        return out
    }
}

/// The recovery steps tried after one link failure, up to the next.
struct RecoveryOutcome {
    var attempts: [(t: Double, record: RecoveryRecord)] = []

    /// One outcome per link failure, in timeline order (the order of `RunSummary.linkFailures`).
    static func perFailure(_ events: [Event]) -> [RecoveryOutcome] {
        var out: [RecoveryOutcome] = []
        for e in events {
            if (e.type == .hang || e.type == .linkLost), e.failure != nil {
                out.append(RecoveryOutcome())
            } else if e.type == .recovery, let r = e.recovery, !out.isEmpty {
                out[out.count - 1].attempts.append((e.t, r))
            }
        }
        return out
    }

    func describe(failureAt: Double) -> String {
        guard !attempts.isEmpty else { return "not recovered: the run ended" }
        var parts = attempts.filter { !$0.record.succeeded }.map {
            "\($0.record.step.rawValue) \($0.record.outcome == .skipped ? "skipped" : "did not help") (\($0.record.detail))"
        }
        if let ok = attempts.first(where: { $0.record.succeeded }) {
            parts.append("back by \(ok.record.step.rawValue) after \(HtmlReport.duration(ok.t - failureAt))")
        } else {
            parts.append("not recovered")
        }
        return parts.joined(separator: "; ")
    }
}

// MARK: - SVG

/// A linear or logarithmic mapping from data values to SVG pixels.
struct Scale {
    var lo: Double
    var hi: Double
    var log = false
    var from: Double
    var to: Double

    func px(_ v: Double) -> Double {
        let f: Double
        if log {
            let l = log10(Swift.max(lo, 1e-12))
            f = (log10(Swift.max(v, lo)) - l) / Swift.max(log10(Swift.max(hi, 1e-12)) - l, 1e-12)
        } else {
            f = (v - lo) / Swift.max(hi - lo, 1e-12)
        }
        return from + (to - from) * Swift.min(Swift.max(f, 0), 1)
    }

    /// About `count` ticks on round numbers (1, 2, 5 times a power of ten).
    static func linearTicks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo else { return [lo] }
        let step = niceStep((hi - lo) / Double(count))
        var out: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi + step * 1e-9 {
            out.append(v)
            v += step
        }
        return out
    }

    static func niceStep(_ raw: Double) -> Double {
        let p = pow(10, floor(log10(raw)))
        let m = raw / p
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p
    }

    /// A round number at or above `v`, for the top of a linear axis.
    static func niceCeil(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let step = niceStep(v / 5)
        return (v / step).rounded(.up) * step
    }

    /// Decades, with 2 and 5 in between when the axis spans less than three decades.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        var out: [Double] = []
        var d = pow(10, floor(log10(Swift.max(lo, 1e-12))))
        let few = hi / lo <= 1000.5
        while d <= hi * 1.000001 {
            for m in few ? [1.0, 2, 5] : [1.0] where d * m >= lo * 0.999999 && d * m <= hi * 1.000001 {
                out.append(d * m)
            }
            d *= 10
        }
        return out
    }
}

/// How run time is labelled: seconds for short runs, minutes, hours for a night.
struct TimeUnit {
    var name: String
    var seconds: Double

    init(span: Double) {
        if span <= 300 { (name, seconds) = ("s", 1) } else if span <= 3 * 3600 { (name, seconds) = ("min", 60) } else { (name, seconds) = ("h", 3600) }
    }
}

/// One SVG chart: the plot area, its axes and what is drawn on it.
struct SvgChart {
    static let width = 900.0
    var height: Double
    var left = 72.0
    var right = 28.0
    var top = 28.0
    var bottom = 42.0
    var body: [String] = []

    init(height: Double) { self.height = height }

    var plotLeft: Double { left }
    var plotRight: Double { Self.width - right }
    var plotTop: Double { top }
    var plotBottom: Double { height - bottom }

    func xScale(_ lo: Double, _ hi: Double, log: Bool = false) -> Scale { Scale(lo: lo, hi: hi, log: log, from: plotLeft, to: plotRight) }
    func yScale(_ lo: Double, _ hi: Double, log: Bool = false) -> Scale { Scale(lo: lo, hi: hi, log: log, from: plotBottom, to: plotTop) }

    /// Grid lines and labels for both axes, and the axis titles.
    mutating func axes(x: Scale, xTicks: [Double], xLabel: (Double) -> String, xTitle: String,
                       y: Scale, yTicks: [Double], yLabel: (Double) -> String, yTitle: String) {
        var s = ""
        for v in yTicks {
            let py = n(y.px(v))
            s += "<line class=\"grid\" x1=\"\(n(plotLeft))\" y1=\"\(py)\" x2=\"\(n(plotRight))\" y2=\"\(py)\"/>"
            s += "<text x=\"\(n(plotLeft - 5))\" y=\"\(py)\" dy=\"3.5\" text-anchor=\"end\">\(Markup.escape(yLabel(v)))</text>"
        }
        for v in xTicks {
            let px = n(x.px(v))
            s += "<line class=\"grid\" x1=\"\(px)\" y1=\"\(n(plotTop))\" x2=\"\(px)\" y2=\"\(n(plotBottom))\"/>"
            s += "<text x=\"\(px)\" y=\"\(n(plotBottom + 14))\" text-anchor=\"middle\">\(Markup.escape(xLabel(v)))</text>"
        }
        s += "<rect x=\"\(n(plotLeft))\" y=\"\(n(plotTop))\" width=\"\(n(plotRight - plotLeft))\" height=\"\(n(plotBottom - plotTop))\" fill=\"none\" stroke=\"#999\"/>"
        s += "<text x=\"\(n((plotLeft + plotRight) / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\">\(Markup.escape(xTitle))</text>"
        let cy = n((plotTop + plotBottom) / 2)
        s += "<text x=\"14\" y=\"\(cy)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(cy))\">\(Markup.escape(yTitle))</text>"
        body.append(s)
    }

    /// Coloured swatches and names along the top edge.
    mutating func legend(_ items: [(color: String, name: String)]) {
        var x = plotLeft
        var s = ""
        for item in items {
            s += "<rect x=\"\(n(x))\" y=\"8\" width=\"14\" height=\"8\" fill=\"\(item.color)\"/>"
            s += "<text x=\"\(n(x + 18))\" y=\"16\">\(Markup.escape(item.name))</text>"
            x += 32 + Double(item.name.count) * 6.6
        }
        body.append(s)
    }

    /// A polyline through the points, broken where a point is missing.
    mutating func line(_ points: [(x: Double, y: Double)?], color: String, width: Double = 1.5, dash: String? = nil, name: String) {
        var d = ""
        var pen = false
        for p in points {
            guard let p else { pen = false; continue }
            d += (pen ? "L" : "M") + n(p.x) + " " + n(p.y)
            pen = true
        }
        guard !d.isEmpty else { return }
        let dashes = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append("<path class=\"series\" d=\"\(d)\" stroke=\"\(color)\" stroke-width=\"\(n(width))\"\(dashes)><title>\(Markup.escape(name))</title></path>")
    }

    /// A shaded band between a lower and an upper edge (drawn left to right).
    mutating func band(_ points: [(x: Double, lo: Double, hi: Double)], color: String) {
        guard points.count > 1 else { return }
        let upper = points.map { n($0.x) + " " + n($0.hi) }
        let lower = points.reversed().map { n($0.x) + " " + n($0.lo) }
        body.append("<path d=\"M\(upper.joined(separator: "L"))L\(lower.joined(separator: "L"))Z\" fill=\"\(color)\" fill-opacity=\"0.25\" stroke=\"none\"/>")
    }

    /// Lines at link failures (red, full height) and where the link came back (green, the
    /// lower third: on a night's scale both fall on one pixel, and both stay visible), each
    /// with its tooltip.
    mutating func marks(_ marks: [Mark], x: Scale) {
        var s = ""
        for m in marks.sorted(by: { $0.failure && !$1.failure }) {
            let px = n(x.px(m.t))
            let color = m.failure ? "#d32f2f" : "#2e7d32"
            let top = m.failure ? plotTop : plotBottom - (plotBottom - plotTop) / 3
            s += "<line x1=\"\(px)\" y1=\"\(n(top))\" x2=\"\(px)\" y2=\"\(n(plotBottom))\" stroke=\"\(color)\" stroke-width=\"1.5\">"
                + "<title>\(Markup.escape(m.title))</title></line>"
        }
        body.append(s)
    }

    /// Thin dashed lines where phases begin.
    mutating func phases(_ phases: [(t: Double, name: String)], x: Scale) {
        var s = ""
        for p in phases where p.t > x.lo {
            let px = n(x.px(p.t))
            s += "<line x1=\"\(px)\" y1=\"\(n(plotTop))\" x2=\"\(px)\" y2=\"\(n(plotBottom))\" stroke=\"#888\" stroke-dasharray=\"2 3\">"
                + "<title>phase \(Markup.escape(p.name)) from \(Markup.escape(HtmlReport.runTime(p.t)))</title></line>"
        }
        body.append(s)
    }

    /// Invisible full-height columns that show a tooltip for the time span under the pointer.
    mutating func hover(_ columns: [(x0: Double, x1: Double, title: String)]) {
        var s = ""
        for c in columns {
            s += "<rect class=\"hover\" x=\"\(n(c.x0))\" y=\"\(n(plotTop))\" width=\"\(n(Swift.max(c.x1 - c.x0, 1)))\" height=\"\(n(plotBottom - plotTop))\">"
                + "<title>\(Markup.escape(c.title))</title></rect>"
        }
        body.append(s)
    }

    func svg(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(n(Self.width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(Self.width)) \(n(height))\">"
            + "<title>\(Markup.escape(title))</title>"
            + "<style>.grid{stroke:#e4e4e4}.series{fill:none;stroke-linejoin:round}.hover{fill:#000;fill-opacity:0}.hover:hover{fill-opacity:0.06}text{fill:#333}</style>"
            + body.joined(separator: "\n") + "</svg>"
    }
}

/// Pixels with one decimal: enough on a 900 px chart, and short.
fileprivate func n(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
}

/// The four charts of the report.
enum Charts {
    static let p50Color = "#1e88e5"
    static let p99Color = "#fb8c00"
    static let maxColor = "#8e24aa"
    static let rateColor = "#00897b"
    static let barColor = "#90caf9"

    /// A time axis from 0 to `xMax` seconds, labelled in s, min or h.
    static func timeAxis(_ chart: SvgChart, xMax: Double) -> (scale: Scale, ticks: [Double], label: (Double) -> String, title: String) {
        let unit = TimeUnit(span: xMax)
        let hi = Swift.max(xMax, 1e-3)
        let ticks = Scale.linearTicks(0, hi / unit.seconds).map { $0 * unit.seconds }
        return (chart.xScale(0, hi), ticks, { number($0 / unit.seconds) }, "run time (\(unit.name))")
    }

    /// 1 (one decimal at most, no trailing zero): tick labels.
    static func number(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        if r == r.rounded(), abs(r) < 1e15 { return String(Int(r)) }
        return String(format: "%g", r)
    }

    /// `500`, `20k`, `1M`: count tick labels.
    static func countLabel(_ v: Double) -> String {
        if v >= 1e6 { return number(v / 1e6) + "M" }
        if v >= 1e3 { return number(v / 1e3) + "k" }
        return number(v)
    }

    /// `1 µs`, `20 µs`, `5 ms`, `1 s`: latency tick labels.
    static func microsLabel(_ v: Double) -> String {
        if v >= 1e6 { return number(v / 1e6) + " s" }
        if v >= 1e3 { return number(v / 1e3) + " ms" }
        return number(v) + " µs"
    }

    static func spanTitle(_ a: SeriesPoint, _ b: SeriesPoint) -> String {
        "\(HtmlReport.runTime(a.start)) to \(HtmlReport.runTime(b.end))"
    }

    /// Groups of points small enough to hover on, and their tooltip texts.
    static func columns(_ points: [SeriesPoint], x: Scale, text: ([SeriesPoint]) -> String) -> [(x0: Double, x1: Double, title: String)] {
        let size = Swift.max(1, (points.count + HtmlReport.maxHoverColumns - 1) / HtmlReport.maxHoverColumns)
        var out: [(x0: Double, x1: Double, title: String)] = []
        var i = 0
        while i < points.count {
            let group = Array(points[i..<Swift.min(i + size, points.count)])
            if let a = group.first, let b = group.last {
                out.append((x.px(a.start), x.px(b.end), spanTitle(a, b) + ": " + text(group)))
            }
            i += size
        }
        return out
    }

    static func throughput(_ series: TimeSeries, marks: [Mark], phases: [(t: Double, name: String)], xMax: Double) -> String {
        var chart = SvgChart(height: 280)
        let time = timeAxis(chart, xMax: xMax)
        let top = Scale.niceCeil((series.points.compactMap { $0.rateMax ?? $0.rate }.max() ?? 0) * 1.05)
        let y = chart.yScale(0, top)
        chart.axes(x: time.scale, xTicks: time.ticks, xLabel: time.label, xTitle: time.title,
                   y: y, yTicks: Scale.linearTicks(0, top, count: 5), yLabel: number, yTitle: "echoed messages/s")
        if series.bucketSize > 1 {
            chart.band(series.points.compactMap { p in
                guard let lo = p.rateMin, let hi = p.rateMax else { return nil }
                return (time.scale.px(p.mid), y.px(lo), y.px(hi))
            }, color: rateColor)
        }
        chart.phases(phases, x: time.scale)
        chart.line(series.points.map { p in p.rate.map { (time.scale.px(p.mid), y.px($0)) } }, color: rateColor, name: "echoed messages per second")
        chart.legend(legendItems([(rateColor, "echoed/s")], marks: marks))
        chart.hover(columns(series.points, x: time.scale) { g in
            let echoed = g.reduce(0) { $0 + $1.echoed }
            let seconds = g.reduce(0.0) { $0 + ($1.end - $1.start) }
            var t = "\(echoed) echoed, " + String(format: "%.1f/s", seconds > 0 ? Double(echoed) / seconds : 0)
            if let lo = g.compactMap(\.rateMin).min(), let hi = g.compactMap(\.rateMax).max(), g.count > 1 || series.bucketSize > 1 {
                t += String(format: " (intervals from %.1f to %.1f/s)", lo, hi)
            }
            return t
        })
        chart.marks(marks, x: time.scale)
        return chart.svg(title: "Echoed messages per second, per report interval, over the run")
    }

    static func latency(_ series: TimeSeries, marks: [Mark], phases: [(t: Double, name: String)], xMax: Double) -> String {
        var chart = SvgChart(height: 300)
        let time = timeAxis(chart, xMax: xMax)
        let lows = series.points.compactMap(\.p50)
        let highs = series.points.compactMap(\.max)
        guard let low = lows.min(), let high = highs.max() else {
            return "<p>No echo in any interval: no round-trip latency to chart.</p>"
        }
        let lo = pow(10, floor(log10(Double(Swift.max(low, 1)))))
        var hi = pow(10, ceil(log10(Double(Swift.max(high, 1)))))
        if hi <= lo { hi = lo * 10 }
        let y = chart.yScale(lo, hi, log: true)
        chart.axes(x: time.scale, xTicks: time.ticks, xLabel: time.label, xTitle: time.title,
                   y: y, yTicks: Scale.logTicks(lo, hi), yLabel: microsLabel, yTitle: "round trip (µs, log scale)")
        chart.phases(phases, x: time.scale)
        // max last, dashed while the points are far apart: with few echoes per interval p99 is
        // the max, and both stay visible. A dash on thousands of points is only noise.
        let dash = series.points.count < 300 ? "4 2" : nil
        let lines: [(KeyPath<SeriesPoint, UInt64?>, String, String, String?)] = [
            (\.p50, p50Color, "p50", nil), (\.p99, p99Color, "p99", nil), (\.max, maxColor, "max", dash),
        ]
        for (key, color, name, dash) in lines {
            chart.line(series.points.map { p in p[keyPath: key].map { (time.scale.px(p.mid), y.px(Double($0))) } }, color: color,
                       dash: dash, name: "\(name) round trip per interval")
        }
        chart.legend(legendItems([(p50Color, "p50"), (p99Color, "p99"), (maxColor, "max")], marks: marks))
        chart.hover(columns(series.points, x: time.scale) { g in
            let count = g.reduce(0) { $0 + $1.count }
            guard count > 0 else { return "no echo" }
            func worst(_ k: KeyPath<SeriesPoint, UInt64?>) -> String { g.compactMap { $0[keyPath: k] }.max().map { "\($0) µs" } ?? "-" }
            let p50 = g.count == 1 ? worst(\.p50) : "up to " + worst(\.p50)
            return "p50 \(p50), p99 \(worst(\.p99)), max \(worst(\.max)), \(count) echoes"
        })
        chart.marks(marks, x: time.scale)
        return chart.svg(title: "Round-trip latency per report interval (p50, p99, max) over the run")
    }

    static func legendItems(_ base: [(String, String)], marks: [Mark]) -> [(color: String, name: String)] {
        var items = base.map { (color: $0.0, name: $0.1) }
        if marks.contains(where: \.failure) { items.append(("#d32f2f", "link failure")) }
        if marks.contains(where: { !$0.failure }) { items.append(("#2e7d32", "link back")) }
        return items
    }

    /// Buckets per decade of the latency distribution.
    static let binsPerDecade = 10.0

    static func distribution(_ whole: [UInt64: UInt64], summary: LatencySummary?) -> String {
        var bins: [Int: UInt64] = [:]
        var total: UInt64 = 0
        for (v, c) in whole {
            bins[Int(floor(log10(Double(Swift.max(v, 1))) * binsPerDecade)), default: 0] += c
            total += c
        }
        guard let first = bins.keys.min(), let last = bins.keys.max(), let most = bins.values.max(), total > 0 else {
            return "<p>No echo: no latency distribution.</p>"
        }
        var chart = SvgChart(height: 280)
        let lo = pow(10, floor(Double(first) / binsPerDecade))
        var hi = pow(10, ceil(Double(last + 1) / binsPerDecade))
        if hi <= lo { hi = lo * 10 }
        let x = chart.xScale(lo, hi, log: true)
        let yTop = pow(10, ceil(log10(Double(most) * 1.5)))
        let y = chart.yScale(0.5, yTop, log: true)
        chart.axes(x: x, xTicks: Scale.logTicks(lo, hi), xLabel: microsLabel, xTitle: "round trip (µs, log scale)",
                   y: y, yTicks: Scale.logTicks(1, yTop), yLabel: countLabel, yTitle: "messages (log scale)")
        var s = ""
        for (bin, count) in bins.sorted(by: { $0.key < $1.key }) {
            let a = pow(10, Double(bin) / binsPerDecade)
            let b = pow(10, Double(bin + 1) / binsPerDecade)
            let x0 = x.px(a)
            let x1 = x.px(b)
            let top = y.px(Double(count))
            let share = Double(count) / Double(total) * 100
            s += "<rect x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(Swift.max(x1 - x0 - 1, 1)))\" height=\"\(n(chart.plotBottom - top))\" fill=\"\(barColor)\">"
                + "<title>\(Markup.escape(microsLabel(a.rounded()) + " to " + microsLabel(b.rounded()) + ": \(count) messages (" + String(format: "%.3g%%", share) + ")"))</title></rect>"
        }
        chart.body.append(s)
        if let l = summary {
            let marks: [(UInt64, String, String)] = [(l.p50, "p50", p50Color), (l.p99, "p99", p99Color), (l.max, "max", maxColor)]
            var m = ""
            for (v, name, color) in marks {
                let px = n(x.px(Double(v)))
                m += "<line x1=\"\(px)\" y1=\"\(n(chart.plotTop))\" x2=\"\(px)\" y2=\"\(n(chart.plotBottom))\" stroke=\"\(color)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\">"
                    + "<title>\(name) \(v) µs</title></line>"
            }
            chart.body.append(m)
            chart.legend([(barColor, "messages per bucket (\(Int(binsPerDecade)) per decade)"), (p50Color, "p50 \(l.p50) µs"),
                          (p99Color, "p99 \(l.p99) µs"), (maxColor, "max \(l.max) µs")])
        }
        return chart.svg(title: "Round-trip latency distribution of the whole run: \(total) echoes")
    }

    static func timeToFailure(_ r: ReliabilitySummary) -> String {
        var chart = SvgChart(height: 280)
        let bars = r.timeToFailureSeconds.map { (t: $0, censored: false) } + (r.censoredLastCycleSeconds.map { [(t: $0, censored: true)] } ?? [])
        let tallest = bars.map(\.t).max() ?? 0
        let top = Scale.niceCeil(Swift.max(tallest, r.mtbfSeconds ?? 0) * 1.15)
        let unit = TimeUnit(span: top)
        let y = chart.yScale(0, top)
        let x = chart.xScale(0.5, Double(bars.count) + 0.5)
        let xTicks = bars.count <= 30 ? bars.indices.map { Double($0 + 1) } : Scale.linearTicks(1, Double(bars.count)).filter { $0 >= 1 && $0 == $0.rounded() }
        chart.axes(x: x, xTicks: xTicks, xLabel: number, xTitle: "link cycle (from link up to failure)",
                   y: y, yTicks: Scale.linearTicks(0, top / unit.seconds, count: 5).map { $0 * unit.seconds },
                   yLabel: { number($0 / unit.seconds) }, yTitle: "time to failure (\(unit.name))")
        if r.mtbfSeconds != nil {
            let upper = y.px(Swift.min(r.mtbfUpper95 ?? top, top))
            let lower = y.px(r.mtbfLower95)
            chart.body.append("<rect x=\"\(n(chart.plotLeft))\" y=\"\(n(upper))\" width=\"\(n(chart.plotRight - chart.plotLeft))\" height=\"\(n(Swift.max(lower - upper, 0)))\" fill=\"#d32f2f\" fill-opacity=\"0.12\">"
                + "<title>MTBF 95% interval: \(Markup.escape(HtmlReport.duration(r.mtbfLower95))) to \(Markup.escape(r.mtbfUpper95.map(HtmlReport.duration) ?? "unbounded"))</title></rect>")
        }
        let width = (chart.plotRight - chart.plotLeft) / Double(Swift.max(bars.count, 1))
        var s = ""
        for (i, bar) in bars.enumerated() {
            let cx = x.px(Double(i + 1))
            let topY = y.px(bar.t)
            let messages = i < r.messagesToFailure.count ? ", \(r.messagesToFailure[i]) messages" : ""
            let title = bar.censored ? "cycle \(i + 1): \(HtmlReport.duration(bar.t)) without failure until the run ended (censored)"
                : "cycle \(i + 1): failed after \(HtmlReport.duration(bar.t))\(messages)"
            let fill = bar.censored ? "fill=\"#fff\" stroke=\"#546e7a\" stroke-dasharray=\"3 2\"" : "fill=\"#546e7a\""
            s += "<rect x=\"\(n(cx - width * 0.35))\" y=\"\(n(topY))\" width=\"\(n(Swift.max(width * 0.7, 1)))\" height=\"\(n(chart.plotBottom - topY))\" \(fill)>"
                + "<title>\(Markup.escape(title))</title></rect>"
        }
        chart.body.append(s)
        var legend: [(color: String, name: String)] = [("#546e7a", "time to failure per cycle")]
        if let m = r.mtbfSeconds {
            let py = n(y.px(m))
            let text = "MTBF \(HtmlReport.duration(m)) (95%: \(HtmlReport.duration(r.mtbfLower95)) to \(r.mtbfUpper95.map(HtmlReport.duration) ?? "unbounded"))"
            chart.body.append("<line x1=\"\(n(chart.plotLeft))\" y1=\"\(py)\" x2=\"\(n(chart.plotRight))\" y2=\"\(py)\" stroke=\"#d32f2f\" stroke-width=\"2\" stroke-dasharray=\"6 3\">"
                + "<title>\(Markup.escape(text))</title></line>")
            legend.append(("#d32f2f", text))
        }
        if r.censoredLastCycleSeconds != nil { legend.append(("#cfd8dc", "last cycle, no failure (censored)")) }
        chart.legend(legend)
        return chart.svg(title: "Time to failure of each link cycle, with the MTBF and its 95% interval")
    }
}
