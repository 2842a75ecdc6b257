import Foundation
import SoakCore

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
///
/// Built in two passes over the timeline, neither of which keeps an interval past its fold
/// (issue 14): `Count` learns how many intervals there are (the points' size depends on it),
/// `Builder` draws them (`TimelineDigest` runs both).
struct TimeSeries {
    /// Points per chart series at most: a 12 h run at a 1 s interval stays a few hundred kB.
    static let maxPoints = 2000

    /// One report interval: what was echoed in it and its latencies.
    struct Span {
        var start: Double
        var end: Double
        var echoed: UInt64
        var latency: LatencyCounts

        func joined(_ next: Span) -> Span {
            Span(start: start, end: next.end, echoed: echoed + next.echoed,
                 latency: latency.adding(next.latency))
        }
    }

    var points: [SeriesPoint] = []
    /// Every echo of the run, for the distribution chart.
    var whole = LatencyCounts()
    var intervals = 0
    var bucketSize = 1

    /// Nothing drawn (a timeline without a snapshot).
    init() {}

    /// The length of a report interval in seconds, from the run_start the timeline begins with.
    static func reportInterval(_ run: RunInfo?) -> Double {
        run.map { Double($0.profile.reportInterval.nanoseconds) / 1e9 } ?? 0
    }

    /// The first pass: how many spans the intervals make once the short ones are folded.
    struct Count {
        private var spans: Coalescer
        private var counted = 0

        init(reportInterval: Double) { spans = Coalescer(shorterThan: reportInterval / 4) }

        mutating func add(_ e: Event) {
            // Only the times matter here: the latencies are not read.
            guard e.type == .interval, let snap = e.interval else { return }
            if spans.add(Span(start: max(0, e.t - snap.seconds), end: e.t, echoed: 0, latency: LatencyCounts(sparse: []))) != nil {
                counted += 1
            }
        }

        /// The spans so far, the one held back by the folding included.
        var intervals: Int {
            var rest = spans
            return counted + (rest.finish() == nil ? 0 : 1)
        }
    }

    /// The second pass: the points, `bucketSize` spans each, drawn as the spans come.
    struct Builder {
        private var drawn = TimeSeries()
        private var spans: Coalescer
        private var lastEchoed: UInt64 = 0
        private var point: PointFold?

        /// `intervals`: what `Count` counted on the same timeline.
        init(reportInterval: Double, intervals: Int, maxPoints: Int) {
            spans = Coalescer(shorterThan: reportInterval / 4)
            drawn.bucketSize = Swift.max(1, (intervals + maxPoints - 1) / Swift.max(1, maxPoints))
        }

        mutating func add(_ e: Event) {
            guard e.type == .interval, let snap = e.interval else { return }
            let echoed = snap.totals.echoed >= lastEchoed ? snap.totals.echoed - lastEchoed : snap.totals.echoed
            lastEchoed = snap.totals.echoed
            let counts = LatencyCounts(sparse: snap.latencyMicros)
            drawn.whole.add(counts)
            if let span = spans.add(Span(start: max(0, e.t - snap.seconds), end: e.t, echoed: echoed, latency: counts)) {
                draw(span)
            }
        }

        private mutating func draw(_ span: Span) {
            drawn.intervals += 1
            var p = point ?? PointFold()
            p.add(span)
            if p.spans == drawn.bucketSize {
                drawn.points.append(p.point)
                point = nil
            } else {
                point = p
            }
        }

        /// The series of every interval added.
        var series: TimeSeries {
            var rest = self
            if let span = rest.spans.finish() { rest.draw(span) }
            if let p = rest.point { rest.drawn.points.append(p.point) }
            return rest.drawn
        }
    }

    /// Folds the short snapshots the runner takes at phase boundaries and at the end into a
    /// neighbour: a 10 ms interval with one echo would draw a spike of 100 messages/s. One span
    /// at a time: a short one is carried into the next, and the last long one is held back until
    /// the end is known (a short span at the very end joins it).
    struct Coalescer {
        let minimum: Double
        private var carry: Span?
        private var held: Span?

        init(shorterThan minimum: Double) { self.minimum = minimum }

        /// The span now complete, if any.
        mutating func add(_ span: Span) -> Span? {
            let s = carry.map { $0.joined(span) } ?? span
            carry = nil
            if s.end - s.start < minimum {
                carry = s
                return nil
            }
            defer { held = s }
            return held
        }

        /// The last span, at the end of the timeline.
        mutating func finish() -> Span? {
            defer { carry = nil; held = nil }
            if let c = carry { return held.map { $0.joined(c) } ?? c }
            return held
        }
    }

    /// One point as its spans come: their sums, extremes and latencies merged.
    struct PointFold {
        private(set) var spans = 0
        private var start = 0.0
        private var end = 0.0
        private var echoed: UInt64 = 0
        private var seconds = 0.0
        private var rateMin: Double?
        private var rateMax: Double?
        /// The latencies of the point's spans, merged: at most one entry per histogram bucket.
        private var latency = LatencyCounts()
        private var count: UInt64 = 0
        private var p99: UInt64?
        private var max: UInt64?

        mutating func add(_ span: Span) {
            if spans == 0 { start = span.start }
            spans += 1
            end = span.end
            echoed += span.echoed
            seconds += span.end - span.start
            if span.end > span.start {
                let rate = Double(span.echoed) / (span.end - span.start)
                rateMin = Swift.min(rateMin ?? rate, rate)
                rateMax = Swift.max(rateMax ?? rate, rate)
            }
            // p50 of all the point's echoes; p99 and max of its worst span (a spike stays visible).
            guard !span.latency.isEmpty else { return }
            latency.add(span.latency)
            count += span.latency.total
            p99 = Swift.max(p99 ?? 0, span.latency.value(atPercentile: 99))
            max = Swift.max(max ?? 0, span.latency.max)
        }

        var point: SeriesPoint {
            return SeriesPoint(
                start: start, end: end, echoed: echoed, rate: seconds > 0 ? Double(echoed) / seconds : nil,
                rateMin: rateMin, rateMax: rateMax, p50: latency.isEmpty ? nil : latency.value(atPercentile: 50),
                p99: p99, max: max, count: count)
        }
    }
}
