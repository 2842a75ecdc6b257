/// Hang detection: the link hangs when no echo has made progress for `hangTimeout` while
/// messages are waiting for one. Losses do not reset the wait; only an echo does.
public struct LinkHealth: Sendable {
    public let hangTimeout: UInt64
    /// The start of the current wait: the first send after the last echo, or the last echo
    /// when messages were still outstanding then. nil: nothing is waiting.
    public private(set) var waitingSince: UInt64?
    public private(set) var lastEchoAt: UInt64?

    public init(hangTimeout: SoakDuration) { self.hangTimeout = hangTimeout.nanoseconds }

    public mutating func sent(at t: UInt64) {
        if waitingSince == nil { waitingSince = t }
    }

    public mutating func echoed(at t: UInt64, stillOutstanding: Int) {
        lastEchoAt = t
        waitingSince = stillOutstanding > 0 ? t : nil
    }

    /// After a failure is handled, the wait starts over.
    public mutating func reset() { waitingSince = nil }

    /// When a hang will be declared if nothing arrives; nil when nothing waits.
    public var deadline: UInt64? { waitingSince.map { $0 &+ hangTimeout } }

    public func isHung(now: UInt64) -> Bool {
        guard let since = waitingSince else { return false }
        return now >= since && now - since >= hangTimeout
    }
}
