import Foundation
import SoakCore

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
