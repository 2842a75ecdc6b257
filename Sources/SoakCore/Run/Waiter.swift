import Foundation

/// How a run passes time when it waits for something other than its link: the evidence
/// settling after a failure, a ready line, the power staying off in a cycle, a device coming
/// back. A real run sleeps, waking early when a UART line or kernel record arrives; a test
/// moves a virtual clock, so a night of faults runs in seconds and never sleeps.
public protocol Waiter: AnyObject {
    /// Returns at `deadline` (monotonic nanoseconds on the run's clock) or earlier, when
    /// something may have arrived. Callers loop until what they wait for is there.
    func wait(until deadline: UInt64)
}

extension Waiter {
    /// Lets `duration` pass, unless `interrupted` says stop: then returns false at once.
    public func sleep(_ duration: SoakDuration, clock: SoakClock, unless interrupted: () -> Bool) -> Bool {
        let deadline = clock.now() &+ duration.nanoseconds
        while clock.now() < deadline {
            if interrupted() { return false }
            wait(until: deadline)
        }
        return !interrupted()
    }
}

/// Real time: sleeps on the line inbox (a line wakes it) in slices short enough that a stop
/// request is seen promptly.
public final class InboxWaiter: Waiter {
    let clock: SoakClock
    let inbox: LineInbox?
    static let slice: UInt64 = 50_000_000

    public init(clock: SoakClock, inbox: LineInbox?) {
        self.clock = clock
        self.inbox = inbox
    }

    public func wait(until deadline: UInt64) {
        let now = clock.now()
        guard deadline > now else { return }
        let seconds = Double(min(deadline - now, Self.slice)) / 1e9
        if let inbox { inbox.wait(seconds: seconds) } else { Thread.sleep(forTimeInterval: seconds) }
    }
}
