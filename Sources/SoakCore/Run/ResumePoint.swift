import Foundation

/// Where a run that did not finish stopped, read from its timeline: what `run --resume`
/// continues from. The same profile and board (as the run used them), the phase and how much of
/// it was soaked, and the counts of the last snapshot.
public struct ResumePoint: Sendable, Equatable {
    public enum Stop: String, Codable, Sendable {
        /// No `run_end`: the tester was killed, crashed, or the machine lost power.
        case crashed
        /// Stopped by a signal (SIGINT, SIGTERM: a shutdown, a reboot).
        case interrupted
    }

    public var info: RunInfo
    /// When the run started (its `run_start`), wall clock.
    public var startWall: Date
    /// The run time (`t`) and wall time of the last event on the timeline.
    public var stoppedAt: Double
    public var stoppedWall: Date
    public var stop: Stop
    /// The counts of the last snapshot (an interval or the end), and its run time. Messages in
    /// flight then are counted unanswered; what happened after it was not recorded.
    public var counters: Counters
    public var countsAt: Double
    /// The phase the run was in, and how long of it was soaked (gaps of earlier resumes not counted).
    public var phaseIndex: Int
    public var soakedInPhase: Double

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case noRunStart
        case finished(String)
        public var description: String {
            switch self {
            case .noRunStart: return "the timeline has no run_start event: it is not a run's timeline"
            case .finished(let how): return "the run has ended (\(how)): there is nothing to resume"
            }
        }
    }

    public init(events: [Event]) throws(Problem) {
        guard let first = events.first, first.type == .runStart, let info = first.run,
              let startWall = WallTime.parse(first.wall) else { throw .noRunStart }
        var counters = Counters()
        var countsAt = 0.0
        var outstanding = 0
        var phaseIndex = 0
        var phaseStartT = 0.0
        var pausedInPhase = 0.0
        var end: RunEnd?
        for e in events {
            switch e.type {
            case .phaseStart:
                phaseIndex = e.phase?.index ?? phaseIndex
                phaseStartT = e.t
                pausedInPhase = 0
                end = nil
            case .interval:
                if let s = e.interval {
                    counters = s.totals
                    countsAt = e.t
                    outstanding = s.outstanding
                }
                end = nil
            case .runEnd:
                end = e.end
                if let t = e.end?.totals {
                    counters = t
                    countsAt = e.t
                    outstanding = 0
                }
            case .resumed:
                if let r = e.resumed { pausedInPhase += r.gapSeconds }
                end = nil
            default:
                break
            }
        }
        if let end, end.reason != .interrupted { throw .finished(end.reason.rawValue) }
        let last = events[events.count - 1]
        counters.unanswered += UInt64(outstanding)
        self.info = info
        self.startWall = startWall
        stoppedAt = last.t
        stoppedWall = WallTime.parse(last.wall) ?? startWall.addingTimeInterval(last.t)
        stop = end == nil ? .crashed : .interrupted
        self.counters = counters
        self.countsAt = countsAt
        self.phaseIndex = min(phaseIndex, max(0, info.profile.phases.count - 1))
        soakedInPhase = max(0, last.t - phaseStartT - pausedInPhase)
    }

    /// The run time at which the resumed part starts: the stop plus the wall-clock gap (never
    /// negative: a board without a real-time clock may come back with its clock behind).
    public func resumeAt(wallNow: Date) -> Double {
        stoppedAt + max(0, wallNow.timeIntervalSince(stoppedWall))
    }
}

/// A `resumed` event: the run goes on after a gap.
public struct ResumeMark: Codable, Sendable, Equatable {
    /// How the previous part ended, when it stopped (run time), and the gap.
    public var stop: ResumePoint.Stop
    public var stoppedAtSeconds: Double
    public var gapSeconds: Double
    /// The run time of the last snapshot before the stop: counts after it are not known.
    public var countsAtSeconds: Double

    public init(stop: ResumePoint.Stop, stoppedAtSeconds: Double, gapSeconds: Double, countsAtSeconds: Double) {
        self.stop = stop; self.stoppedAtSeconds = stoppedAtSeconds; self.gapSeconds = gapSeconds; self.countsAtSeconds = countsAtSeconds
    }
}
