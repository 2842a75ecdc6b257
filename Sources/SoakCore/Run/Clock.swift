/// Monotonic time in nanoseconds. Injected everywhere so schedule, verifier, link health and
/// the runner can be tested with a manual clock that never sleeps.
public protocol SoakClock: Sendable {
    func now() -> UInt64
}

/// A clock that moves only when told to.
public final class ManualClock: SoakClock, @unchecked Sendable {
    private var time: UInt64
    public init(start: UInt64 = 1_000_000_000) { time = start }
    public func now() -> UInt64 { time }
    public func advance(_ ns: UInt64) { time += ns }
    public func advance(_ d: SoakDuration) { time += d.nanoseconds }
    /// Moves to `t`; never backwards.
    public func advance(to t: UInt64) { time = max(time, t) }
}
