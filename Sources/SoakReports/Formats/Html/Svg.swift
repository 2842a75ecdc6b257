import Foundation

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
    private var body: [String] = []

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
        body.append(marks.sorted(by: { $0.failure && !$1.failure }).map { m in
            let color = m.failure ? "#d32f2f" : "#2e7d32"
            let top = m.failure ? plotTop : plotBottom - (plotBottom - plotTop) / 3
            return verticalLine(at: x.px(m.t), from: top, stroke: "stroke=\"\(color)\" stroke-width=\"1.5\"", title: m.title)
        }.joined())
    }

    /// Grey bands where the run did not soak (resume gaps), under the series.
    mutating func gaps(_ gaps: [Gap], x: Scale) {
        guard !gaps.isEmpty else { return }
        body.append(gaps.map { g in
            let a = x.px(g.from), b = max(x.px(g.to), x.px(g.from) + 2)
            return "<rect class=\"gap\" x=\"\(n(a))\" y=\"\(n(plotTop))\" width=\"\(n(b - a))\" height=\"\(n(plotBottom - plotTop))\" fill=\"#eceff1\"><title>\(Markup.escape(g.title))</title></rect>"
        }.joined())
    }

    /// Thin dashed lines where phases begin, each phase's name at the top of the plot right of
    /// its start. A name that would run into the next one's or out of the plot is left out (its
    /// line's tooltip still names it).
    mutating func phases(_ phases: [(t: Double, name: String)], x: Scale) {
        verticalLines(phases.filter { $0.t > x.lo }.map { p in
            (x: x.px(p.t), stroke: "stroke=\"#888\" stroke-dasharray=\"2 3\"", title: "phase \(p.name) from \(TimeText.runTime(p.t))")
        })
        var labels = ""
        for (i, p) in phases.enumerated() {
            let from = x.px(p.t) + 3
            let upTo = i + 1 < phases.count ? x.px(phases[i + 1].t) : plotRight
            // About 6 px a character at 10 px: a name must fit before the next phase begins.
            guard from + Double(p.name.count) * 6 <= upTo - 2 else { continue }
            labels += "<text class=\"phase\" x=\"\(n(from))\" y=\"\(n(plotTop + 11))\">\(Markup.escape(p.name))</text>"
        }
        body.append(labels)
    }

    /// Full-height lines at `x` (pixels), each with its stroke attributes and tooltip.
    mutating func verticalLines(_ lines: [(x: Double, stroke: String, title: String)]) {
        body.append(lines.map { verticalLine(at: $0.x, from: plotTop, stroke: $0.stroke, title: $0.title) }.joined())
    }

    private func verticalLine(at x: Double, from top: Double, stroke: String, title: String) -> String {
        let px = n(x)
        return "<line x1=\"\(px)\" y1=\"\(n(top))\" x2=\"\(px)\" y2=\"\(n(plotBottom))\" \(stroke)><title>\(Markup.escape(title))</title></line>"
    }

    /// A full-width line at `y` (pixels) with its stroke attributes and tooltip.
    mutating func horizontalLine(at y: Double, stroke: String, title: String) {
        let py = n(y)
        body.append("<line x1=\"\(n(plotLeft))\" y1=\"\(py)\" x2=\"\(n(plotRight))\" y2=\"\(py)\" \(stroke)><title>\(Markup.escape(title))</title></line>")
    }

    /// A full-width band between two heights (pixels, `upper` above `lower`) with its tooltip.
    mutating func horizontalBand(from upper: Double, to lower: Double, paint: String, title: String) {
        body.append("<rect x=\"\(n(plotLeft))\" y=\"\(n(upper))\" width=\"\(n(plotRight - plotLeft))\" height=\"\(n(Swift.max(lower - upper, 0)))\" \(paint)>"
            + "<title>\(Markup.escape(title))</title></rect>")
    }

    /// Bars from `top` (pixels) down to the plot's bottom edge, each with its paint attributes and tooltip.
    mutating func bars(_ bars: [(x: Double, width: Double, top: Double, paint: String, title: String)]) {
        body.append(bars.map { b in
            "<rect x=\"\(n(b.x))\" y=\"\(n(b.top))\" width=\"\(n(b.width))\" height=\"\(n(plotBottom - b.top))\" \(b.paint)>"
                + "<title>\(Markup.escape(b.title))</title></rect>"
        }.joined())
    }

    /// Small circles at `x`, `y` (pixels), each with its paint attributes and tooltip.
    mutating func dots(_ dots: [(x: Double, y: Double, paint: String, title: String)]) {
        body.append(dots.map { d in
            "<circle cx=\"\(n(d.x))\" cy=\"\(n(d.y))\" r=\"4\" \(d.paint)><title>\(Markup.escape(d.title))</title></circle>"
        }.joined())
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
            + "<style>.grid{stroke:#e4e4e4}.series{fill:none;stroke-linejoin:round}.hover{fill:#000;fill-opacity:0}.hover:hover{fill-opacity:0.06}text{fill:#333}"
            + ".phase{font-size:10px;fill:#666;paint-order:stroke;stroke:#fff;stroke-width:3px}</style>"
            + body.joined(separator: "\n") + "</svg>"
    }
}

/// Pixels with one decimal: enough on a 900 px chart, and short.
fileprivate func n(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
}
