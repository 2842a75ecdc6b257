/// A way the simulated board can fail. Faults plug into the firmware model at the points where
/// the real M7 can go wrong; the full set (kick timeout, assert, HardFault, tty hang-up, ...) with
/// seeded rates builds on this.
public protocol FaultModel: AnyObject {
    /// A message was taken off the firmware's queue at `now`. The fault may change its bytes or
    /// decide what happens to it.
    func onMessage(_ message: inout [UInt8], index: UInt64, now: UInt64) -> FaultAction
}

public enum FaultAction: Sendable, Equatable {
    /// Print and echo as usual.
    case pass
    /// Print it, then drop it without echo.
    case drop
    /// The core stops: nothing more is printed or echoed until power is cycled.
    case halt(uartLine: String?)
}

/// The M7 halts at its `after`-th message (counting from 0): for example an `assert` that
/// prints the NXP `ASSERT ERROR` line and then spins.
public final class HaltAfterMessages: FaultModel {
    let after: UInt64
    let line: String?
    public init(after: UInt64, uartLine: String? = nil) { self.after = after; self.line = uartLine }
    public func onMessage(_ message: inout [UInt8], index: UInt64, now: UInt64) -> FaultAction {
        index >= after ? .halt(uartLine: line) : .pass
    }
}
