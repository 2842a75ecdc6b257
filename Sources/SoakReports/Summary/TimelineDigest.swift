import Foundation
import SoakCore

/// What the formats draw from a timeline besides its summary: the chart points, and the events
/// few per run that mark the charts and fill the failure tables' recovery column. Its size does
/// not grow with the number of interval snapshots (issue 14): a point stands for a bounded
/// share of them, and no snapshot is kept.
public struct TimelineDigest {
    /// The run_start the timeline begins with (nil when it begins otherwise).
    public internal(set) var run: RunInfo?
    /// Link failures, recovery steps and resumes, in timeline order.
    var landmarks: [Event] = []
    var series = TimeSeries()

    init() {}

    /// The digest of events in memory (both passes over them).
    public init(events: [Event]) {
        var gathering = Gathering()
        for e in events { gathering.add(e) }
        var drawing = gathering.drawing(maxPoints: TimeSeries.maxPoints)
        for e in events { drawing.add(e) }
        self = gathering.digest(drawing.series)
    }

    static func isLandmark(_ e: Event) -> Bool {
        switch e.type {
        case .hang, .linkLost, .recovery, .resumed: true
        default: false
        }
    }

    /// The first pass over a timeline: its summary, its landmarks, and how many intervals the
    /// charts will draw (which sets how many go into a point: the second pass draws them).
    struct Gathering {
        var summary = SummaryBuilder()
        private var digest = TimelineDigest()
        private var started = false
        private var intervals = TimeSeries.Count(reportInterval: 0)

        mutating func add(_ e: Event) {
            if !started {
                started = true
                digest.run = e.type == .runStart ? e.run : nil
                intervals = TimeSeries.Count(reportInterval: TimeSeries.reportInterval(digest.run))
            }
            summary.add(e)
            intervals.add(e)
            if TimelineDigest.isLandmark(e) { digest.landmarks.append(e) }
        }

        var run: RunInfo? { digest.run }

        /// The second pass's fold, for the same timeline.
        func drawing(maxPoints: Int) -> TimeSeries.Builder {
            TimeSeries.Builder(reportInterval: TimeSeries.reportInterval(digest.run), intervals: intervals.intervals, maxPoints: maxPoints)
        }

        func digest(_ series: TimeSeries) -> TimelineDigest {
            var d = digest
            d.series = series
            return d
        }
    }
}

/// A timeline folded into what the reports are made of, read as often as that takes (once for the
/// summary alone, twice with the charts) and never held whole.
public enum TimelineFold {
    /// The summary and the run_start's run: what `compare` and `merge` need. One pass.
    public static func summary(of source: TimelineSource) throws -> (summary: RunSummary, run: RunInfo?) {
        var gathering = TimelineDigest.Gathering()
        let warnings = try source.forEach { gathering.add($0) }
        return (try gathering.summary.summary(warnings: warnings), gathering.run)
    }

    /// The summary and everything the formats draw. Two passes: the second draws the chart points.
    public static func reports(of source: TimelineSource) throws -> (summary: RunSummary, digest: TimelineDigest) {
        var gathering = TimelineDigest.Gathering()
        let warnings = try source.forEach { gathering.add($0) }
        let summary = try gathering.summary.summary(warnings: warnings)
        var drawing = gathering.drawing(maxPoints: TimeSeries.maxPoints)
        _ = try source.forEach { drawing.add($0) }
        return (summary, gathering.digest(drawing.series))
    }
}
