import Foundation
import SoakCore

/// The four charts of the report.
enum Charts {
    static let p50Color = "#1e88e5"
    static let p99Color = "#fb8c00"
    static let maxColor = "#8e24aa"
    static let rateColor = "#00897b"
    static let barColor = "#90caf9"
    /// Tooltip targets per time chart at most: about 2 px each on a 900 px chart.
    static let maxHoverColumns = 450

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

    /// `1 µs`, `20 µs`, `5 ms`, `1 s`: latency tick labels. Each carries its unit (a log axis
    /// spans decades), so the axis titles name none.
    static func microsLabel(_ v: Double) -> String {
        if v >= 1e6 { return number(v / 1e6) + " s" }
        if v >= 1e3 { return number(v / 1e3) + " ms" }
        return number(v) + " µs"
    }

    static func spanTitle(_ a: SeriesPoint, _ b: SeriesPoint) -> String {
        "\(TimeText.runTime(a.start)) to \(TimeText.runTime(b.end))"
    }

    /// Groups of points small enough to hover on, and their tooltip texts.
    static func columns(_ points: [SeriesPoint], x: Scale, text: ([SeriesPoint]) -> String) -> [(x0: Double, x1: Double, title: String)] {
        let size = Swift.max(1, (points.count + maxHoverColumns - 1) / maxHoverColumns)
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

    static func throughput(_ series: TimeSeries, marks: [Mark], phases: [(t: Double, name: String)], xMax: Double, gaps: [Gap] = []) -> String {
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
        chart.gaps(gaps, x: time.scale)
        chart.phases(phases, x: time.scale)
        let spans = series.points.map { (start: $0.start, end: $0.end) }
        chart.line(Gap.broken(series.points.map { p in p.rate.map { (time.scale.px(p.mid), y.px($0)) } }, spans: spans, gaps: gaps),
                   color: rateColor, name: "echoed messages per second")
        chart.legend(legendItems([(rateColor, "echoed/s")], marks: marks, gaps: gaps))
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

    static func latency(_ series: TimeSeries, marks: [Mark], phases: [(t: Double, name: String)], xMax: Double, network: String? = nil,
                        gaps: [Gap] = []) -> String {
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
                   y: y, yTicks: Scale.logTicks(lo, hi), yLabel: microsLabel, yTitle: "round trip (log scale)")
        chart.gaps(gaps, x: time.scale)
        chart.phases(phases, x: time.scale)
        // max last, dashed while the points are far apart: with few echoes per interval p99 is
        // the max, and both stay visible. A dash on thousands of points is only noise.
        let dash = series.points.count < 300 ? "4 2" : nil
        let lines: [(KeyPath<SeriesPoint, UInt64?>, String, String, String?)] = [
            (\.p50, p50Color, "p50", nil), (\.p99, p99Color, "p99", nil), (\.max, maxColor, "max", dash),
        ]
        for (key, color, name, dash) in lines {
            chart.line(Gap.broken(series.points.map { p in p[keyPath: key].map { (time.scale.px(p.mid), y.px(Double($0))) } },
                                  spans: series.points.map { (start: $0.start, end: $0.end) }, gaps: gaps),
                       color: color, dash: dash, name: "\(name) round trip per interval")
        }
        chart.legend(legendItems([(p50Color, "p50"), (p99Color, "p99"), (maxColor, "max")], marks: marks, gaps: gaps))
        chart.hover(columns(series.points, x: time.scale) { g in
            let count = g.reduce(0) { $0 + $1.count }
            guard count > 0 else { return "no echo" }
            func worst(_ k: KeyPath<SeriesPoint, UInt64?>) -> String { g.compactMap { $0[keyPath: k] }.max().map { "\($0) µs" } ?? "-" }
            let p50 = g.count == 1 ? worst(\.p50) : "up to " + worst(\.p50)
            return "p50 \(p50), p99 \(worst(\.p99)), max \(worst(\.max)), \(count) echoes"
        })
        chart.marks(marks, x: time.scale)
        return chart.svg(title: "Round-trip latency per report interval (p50, p99, max) over the run" + (network.map { ", \($0)" } ?? ""))
    }

    static func legendItems(_ base: [(String, String)], marks: [Mark], gaps: [Gap] = []) -> [(color: String, name: String)] {
        var items = base.map { (color: $0.0, name: $0.1) }
        if !gaps.isEmpty { items.append(("#b0bec5", "tester stopped (resumed)")) }
        if marks.contains(where: \.failure) { items.append(("#d32f2f", "link failure")) }
        if marks.contains(where: { !$0.failure }) { items.append(("#2e7d32", "link back")) }
        return items
    }

    /// Buckets per decade of the latency distribution.
    static let binsPerDecade = 10.0

    static func distribution(_ whole: LatencyCounts, summary: LatencySummary?) -> String {
        var bins: [Int: UInt64] = [:]
        var total: UInt64 = 0
        for (v, c) in zip(whole.values, whole.counts) {
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
        chart.axes(x: x, xTicks: Scale.logTicks(lo, hi), xLabel: microsLabel, xTitle: "round trip (log scale)",
                   y: y, yTicks: Scale.logTicks(1, yTop), yLabel: countLabel, yTitle: "messages (log scale)")
        chart.bars(bins.sorted(by: { $0.key < $1.key }).map { bin, count in
            let a = pow(10, Double(bin) / binsPerDecade)
            let b = pow(10, Double(bin + 1) / binsPerDecade)
            let x0 = x.px(a)
            let share = Double(count) / Double(total) * 100
            // A pixel apart, so that neighbouring buckets stay two bars.
            return (x: x0, width: Swift.max(x.px(b) - x0 - 1, 1), top: y.px(Double(count)), paint: "fill=\"\(barColor)\"",
                    title: microsLabel(a.rounded()) + " to " + microsLabel(b.rounded()) + ": \(count) messages (" + String(format: "%.3g%%", share) + ")")
        })
        if let l = summary {
            let marks: [(UInt64, String, String)] = [(l.p50, "p50", p50Color), (l.p99, "p99", p99Color), (l.max, "max", maxColor)]
            chart.verticalLines(marks.map { v, name, color in
                (x: x.px(Double(v)), stroke: "stroke=\"\(color)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"", title: "\(name) \(v) µs")
            })
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
            chart.horizontalBand(from: upper, to: lower, paint: "fill=\"#d32f2f\" fill-opacity=\"0.12\"",
                                 title: "MTBF 95% interval: " + ReportSentences.mtbfInterval(r, style: .html))
        }
        let width = (chart.plotRight - chart.plotLeft) / Double(Swift.max(bars.count, 1))
        chart.bars(bars.enumerated().map { i, bar in
            let messages = i < r.messagesToFailure.count ? ", \(r.messagesToFailure[i]) messages" : ""
            let title = bar.censored ? "cycle \(i + 1): \(TimeText.duration(bar.t)) without failure until the run ended (censored)"
                : "cycle \(i + 1): failed after \(TimeText.duration(bar.t))\(messages)"
            let paint = bar.censored ? "fill=\"#fff\" stroke=\"#546e7a\" stroke-dasharray=\"3 2\"" : "fill=\"#546e7a\""
            return (x: x.px(Double(i + 1)) - width * 0.35, width: Swift.max(width * 0.7, 1), top: y.px(bar.t), paint: paint, title: title)
        })
        var legend: [(color: String, name: String)] = [("#546e7a", "time to failure per cycle")]
        if let m = r.mtbfSeconds, let text = ReportSentences.mtbf(r, style: .html) {
            chart.horizontalLine(at: y.px(m), stroke: "stroke=\"#d32f2f\" stroke-width=\"2\" stroke-dasharray=\"6 3\"", title: text)
            legend.append(("#d32f2f", text))
        }
        if r.censoredLastCycleSeconds != nil { legend.append(("#cfd8dc", "last cycle, no failure (censored)")) }
        chart.legend(legend)
        return chart.svg(title: "Time to failure of each link cycle, with the MTBF and its 95% interval")
    }
}
