/// The RPMsg link as the core sees it: a byte pipe to the echo firmware. Implemented by the real
/// tty in SoakLinux (the simulator exposes a real pty, so it uses the same one). Every call
/// returns promptly: a hang-up is a result, never a blocked call.
public protocol Link: AnyObject {
    /// The device as the user named it.
    var path: String { get }
    /// How it was opened, for the timeline: "raw, exclusive" for a local tty.
    var openedAs: String { get }
    /// Waits until the link is readable (or writable, when `forWrite`), hung up, or `timeout`
    /// nanoseconds have passed.
    func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness
    /// Reads what is there without blocking; `at` is the monotonic time the read returned.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO
    /// Writes without blocking; `at` is the monotonic time the write returned.
    func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO
    /// Writes, returning by `deadline` at the latest (`.wouldBlock`, nothing written, when the
    /// driver held the write until then). A link whose writes never sleep needs no more than
    /// `write(_:)`.
    func write(_ bytes: UnsafeRawBufferPointer, returningBy deadline: UInt64) -> LinkIO
    func close()
}

extension Link {
    public var openedAs: String { "raw, exclusive" }
    public func write(_ bytes: UnsafeRawBufferPointer, returningBy deadline: UInt64) -> LinkIO { write(bytes) }
}

public struct LinkReadiness: Sendable, Equatable {
    public var readable: Bool
    public var writable: Bool
    /// POLLHUP or POLLERR: reading will tell whether bytes are left before the end.
    public var hangup: Bool
    public init(readable: Bool, writable: Bool, hangup: Bool) {
        self.readable = readable; self.writable = writable; self.hangup = hangup
    }
}

public enum LinkIO: Sendable, Equatable {
    case done(count: Int, at: UInt64)
    case wouldBlock
    /// The device went away: zero read, EIO, ENODEV, POLLHUP. The text says which.
    case hangup(String)
    /// An error that says nothing about the board (EBADF, EFAULT, ENOMEM, ...): the tester or
    /// the host is broken. An infrastructure error, never a reason to recover the board.
    case failed(String)
}

/// Opening a link: what the CLI hands the runner. Errors are infrastructure errors.
public struct LinkOpenError: Error, CustomStringConvertible, Sendable {
    public var device: String
    public var reason: String
    public init(device: String, reason: String) { self.device = device; self.reason = reason }
    public var description: String { "\(device): \(reason)" }
}

/// The round trip of the path every echo also crosses before it reaches the board (ssh to a
/// board reached from a lab host), measured beside the traffic with an idle echo: a reader of
/// the report can tell network jitter from RPMsg latency. Called from the runner's thread at
/// each report interval; the probe measures on a thread of its own.
public protocol NetworkProbe: AnyObject {
    /// The round trips measured since the last call, in microseconds (HdrHistogram sparse
    /// buckets, as `IntervalSnapshot.latencyMicros`); nil when none was measured.
    func takeRoundTrips() -> SparseBuckets?
}
