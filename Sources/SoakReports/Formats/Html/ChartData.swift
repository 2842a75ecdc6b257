import Foundation
import SoakCore

/// The latencies of one span as (value, count) pairs in ascending order, from the timeline's
/// sparse HdrHistogram buckets. Percentiles follow HdrHistogram's `valueAtPercentile`, so the
/// charts agree with summary.json without building a full histogram per interval.
struct LatencyCounts {
    private(set) var pairs: [(value: UInt64, count: UInt64)] = []
    private(set) var total: UInt64 = 0

    init(sparse: SparseBuckets) {
        for b in sparse where b.count > 0 {
            pairs.append((min(b.value, EchoVerifier.highestLatencyMicros), b.count))
            total += b.count
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
/// A stretch when nothing soaked: the tester had stopped and the run was resumed (`run --resume`).
struct Gap {
    var from: Double
    var to: Double
    var title: String

    static func collect(_ events: [Event]) -> [Gap] {
        events.compactMap { e in
            guard e.type == .resumed, let r = e.resumed else { return nil }
            return Gap(from: r.stoppedAtSeconds, to: e.t,
                       title: "no soak from \(TimeText.runTime(r.stoppedAtSeconds)) to \(TimeText.runTime(e.t)): the tester had stopped (\(r.stop.rawValue)); resumed with run --resume")
        }
    }

    /// The points of a series with a break (nil) where a gap lies between two of them, so no
    /// line is drawn across it.
    static func broken<T>(_ points: [T?], spans: [(start: Double, end: Double)], gaps: [Gap]) -> [T?] {
        guard !gaps.isEmpty else { return points }
        var out: [T?] = []
        for (i, p) in points.enumerated() {
            if i > 0, gaps.contains(where: { $0.from >= spans[i - 1].start && $0.to <= spans[i].end + 1e-9 }) { out.append(nil) }
            out.append(p)
        }
        return out
    }
}

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
                var title = "\(f.kind.rawValue) at \(TimeText.runTime(e.t)) (\(e.wall)): \(f.reason)"
                if let d = f.evidence?.diagnosis, d != f.reason { title += "\n\(d)" }
                out.append(Mark(t: e.t, failure: true, title: title))
            } else if e.type == .recovery, let r = e.recovery, r.succeeded {
                let down = lastFailure.map { ", link down \(TimeText.duration(e.t - $0))" } ?? ""
                out.append(Mark(t: e.t, failure: false, title: "link back at \(TimeText.runTime(e.t)) by \(r.step.rawValue)\(down)"))
            }
        }
        return out
    }
}
