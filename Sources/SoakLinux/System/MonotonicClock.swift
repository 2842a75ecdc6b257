import CPosix
import Glibc
import SoakCore

/// CLOCK_MONOTONIC in nanoseconds: the one clock of a run's timeline.
public struct MonotonicClock: SoakClock {
    public init() {}
    @inline(__always)
    public func now() -> UInt64 { Self.read() }

    /// clock_gettime(CLOCK_MONOTONIC): served from the vDSO, no system call.
    @inline(__always)
    public static func read() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// Sends leave on a timetable: the default 50 us timer slack would make every one late by up
/// to that much. Applies to the calling thread (the runner's).
public func tightenTimerSlack() { _ = soak_set_timer_slack_ns(1_000) }

/// Sleeps for `duration` in slices of at most 10 ms and gives up early when `interrupted`
/// becomes true (a SIGINT or SIGTERM flag). Returns false when it gave up.
public func sleep(_ duration: SoakDuration, unless interrupted: () -> Bool) -> Bool {
    let deadline = MonotonicClock.read() &+ duration.nanoseconds
    while true {
        if interrupted() { return false }
        let now = MonotonicClock.read()
        if now >= deadline { return true }
        var ts = timespec(tv_sec: 0, tv_nsec: Int(min(deadline - now, 10_000_000)))
        nanosleep(&ts, nil)
    }
}
