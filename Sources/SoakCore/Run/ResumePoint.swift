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

    /// The point of a timeline in memory (tests): `Builder` over every event.
    public init(events: [Event]) throws(Problem) {
        var builder = Builder()
        for e in events { builder.add(e) }
        self = try builder.finish()
    }

    /// Where the run stopped, folded from its timeline one event at a time (`run --resume`
    /// reads it line by line): what it holds does not grow with the run's length, only the
    /// run_start's profile and board and a few figures.
    public struct Builder: Sendable {
        /// The first event's run and wall time; nil when it is not a run_start (`noRunStart`).
        private var start: (info: RunInfo, wall: Date)?
        private var sawFirst = false
        private var last: (t: Double, wall: String)?
        private var counters = Counters()
        private var countsAt = 0.0
        private var outstanding = 0
        private var phaseIndex = 0
        private var phaseStartT = 0.0
        private var pausedInPhase = 0.0
        private var end: RunEnd?

        public init() {}

        public mutating func add(_ e: Event) {
            if !sawFirst {
                sawFirst = true
                if e.type == .runStart, let info = e.run, let wall = WallTime.parse(e.wall) { start = (info, wall) }
            }
            last = (e.t, e.wall)
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

        /// The point after every event added: `noRunStart` when the first was not a run's
        /// start (or there was none), `finished` when the run ended other than interrupted.
        public func finish() throws(Problem) -> ResumePoint {
            guard let start, let last else { throw .noRunStart }
            if let end, end.reason != .interrupted { throw .finished(end.reason.rawValue) }
            var counters = counters
            counters.unanswered += UInt64(outstanding)
            let info = start.info
            return ResumePoint(info: info, startWall: start.wall, stoppedAt: last.t,
                               stoppedWall: WallTime.parse(last.wall) ?? start.wall.addingTimeInterval(last.t),
                               stop: end == nil ? .crashed : .interrupted, counters: counters, countsAt: countsAt,
                               phaseIndex: min(phaseIndex, max(0, info.profile.phases.count - 1)),
                               soakedInPhase: max(0, last.t - phaseStartT - pausedInPhase))
        }
    }

    private init(info: RunInfo, startWall: Date, stoppedAt: Double, stoppedWall: Date, stop: Stop, counters: Counters,
                 countsAt: Double, phaseIndex: Int, soakedInPhase: Double) {
        self.info = info; self.startWall = startWall; self.stoppedAt = stoppedAt; self.stoppedWall = stoppedWall
        self.stop = stop; self.counters = counters; self.countsAt = countsAt; self.phaseIndex = phaseIndex
        self.soakedInPhase = soakedInPhase
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
