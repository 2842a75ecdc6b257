/// When the next message is due and how big it is, phase by phase. Pure: it is told the time.
///
/// A fixed rate runs on an absolute timetable (start + i / rate), so it does not drift; when the
/// sender falls behind (window full, slow link) it skips ahead rather than bursting to catch up
/// by more than `maxCatchUp` messages. Bursts send `count` messages back to back every `every`.
public struct TrafficSchedule: Sendable {
    public let phases: [Phase]
    public private(set) var phaseIndex = 0
    public private(set) var phaseStart: UInt64
    private var due: UInt64
    private var sentInPhase: UInt64 = 0
    private var sentInBurst = 0
    /// The fixed-rate timetable: message `anchorCount + i` is due at `anchor + i / rate`.
    private var anchor: UInt64
    private var anchorCount: UInt64 = 0
    private var sizeState: UInt64
    private var sizeCursor = 0
    static let maxCatchUp: UInt64 = 4

    public init(phases: [Phase], start: UInt64, seed: UInt64) {
        precondition(!phases.isEmpty)
        self.phases = phases
        phaseStart = start
        due = start
        anchor = start
        sizeState = seed ^ 0x5EED_5EED_5EED_5EED
    }

    /// A resumed run (`run --resume`): `soaked` ns of phase `index` were soaked before the
    /// stop. The phase ends as much later as it had left; the timetable starts again at `start`.
    public init(phases: [Phase], resuming index: Int, soaked: UInt64, at start: UInt64, seed: UInt64) {
        self.init(phases: phases, start: start &- soaked, seed: seed)
        phaseIndex = min(index, phases.count - 1)
        if let burst = phases[phaseIndex].burst, burst.every.nanoseconds > 0 {
            // The bursts already sent: the next is due on the phase's own timetable.
            sentInPhase = UInt64(burst.count) * (soaked / burst.every.nanoseconds + 1)
        }
        resume(now: start)
    }

    public var phase: Phase { phases[phaseIndex] }
    public var phaseEnd: UInt64 { phaseStart &+ phase.duration.nanoseconds }
    public var isFinished: Bool { phaseIndex >= phases.count }

    /// Moves to the phase that contains `now`; returns true when the phase changed. After the
    /// last phase `isFinished` is true.
    public mutating func advancePhase(now: UInt64) -> Bool {
        var changed = false
        while phaseIndex < phases.count && now >= phaseEnd {
            let end = phaseEnd
            phaseIndex += 1
            changed = true
            phaseStart = end
            due = end
            sentInPhase = 0
            sentInBurst = 0
            anchor = end
            anchorCount = 0
            sizeCursor = 0
        }
        return changed
    }

    /// True when messages have due times of their own (a fixed rate or bursts), so how late
    /// they leave measures the sender; false at `max`, where each is due when the last left.
    public var hasTimetable: Bool {
        if phase.burst != nil { return true }
        if case .perSecond = phase.rate { return true }
        return false
    }

    /// The time the next message is due (it may be in the past: send now).
    public var nextDue: UInt64 { due }

    /// After a pause that was not the link's pace (a recovery): the timetable starts again from
    /// `now`, so the messages the pause skipped are neither sent in a burst nor counted as late.
    public mutating func resume(now: UInt64) {
        anchor = now
        anchorCount = sentInPhase
        sentInBurst = 0
        due = now
    }

    /// Call after sending a message at `now`; returns nothing, moves `nextDue` on.
    public mutating func didSend(now: UInt64) {
        sentInPhase += 1
        let p = phase
        if let burst = p.burst {
            sentInBurst += 1
            if sentInBurst >= burst.count {
                sentInBurst = 0
                let burstIndex = sentInPhase / UInt64(burst.count)
                due = phaseStart &+ burstIndex &* burst.every.nanoseconds
                if due < now { due = now }  // a burst that overran its period starts the next at once
            } else {
                due = now
            }
            return
        }
        switch p.rate {
        case .max:
            due = now
        case .perSecond(let r):
            let interval = UInt64((1e9 / r).rounded())
            let scheduled = anchor &+ UInt64((Double(sentInPhase - anchorCount) * 1e9 / r).rounded())
            if scheduled &+ Self.maxCatchUp &* interval < now {
                // Too far behind: re-anchor the timetable instead of sending a catch-up burst.
                anchor = now &+ interval
                anchorCount = sentInPhase
                due = anchor
            } else {
                due = scheduled
            }
        }
    }

    /// The size of the next message.
    public mutating func nextSize() -> Int {
        switch phase.size {
        case .fixed(let n):
            return n
        case .list(let sizes):
            let n = sizes[sizeCursor % sizes.count]
            sizeCursor += 1
            return n
        case .uniform(let lo, let hi):
            let r = SplitMix64.next(&sizeState)
            return lo + Int(r % UInt64(hi - lo + 1))
        case .sweep(let from, let to, let step):
            let span = abs(to - from) / step + 1
            let i = sizeCursor % span
            sizeCursor += 1
            return from <= to ? from + i * step : from - i * step
        }
    }
}
