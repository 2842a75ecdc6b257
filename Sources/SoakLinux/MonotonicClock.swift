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
