import Foundation
import Glibc

/// The thread under a line source: runs `body` on a Foundation Thread until it returns, and
/// lets `stop()` ask it to end and wait until it has (so no sink call happens after `stop()`
/// returns). The body polls `isStopping` at least every ~100 ms.
final class ReaderThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopping = false
    private var finished = false
    private var threadID: pthread_t?

    init(name: String, body: @escaping @Sendable (ReaderThread) -> Void) {
        let thread = Thread { [self] in
            condition.withLock { threadID = pthread_self() }
            body(self)
            condition.withLock {
                finished = true
                condition.broadcast()
            }
        }
        thread.name = name
        thread.start()
    }

    var isStopping: Bool { condition.withLock { stopping } }

    /// Asks the body to end and waits for it (at most `timeout` ns; a body stuck in a system
    /// call is left behind rather than hanging the caller). Called from the body itself (a sink
    /// that stops its source), it only asks.
    func stop(timeout: UInt64 = 5_000_000_000) {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        if let id = threadID, pthread_equal(id, pthread_self()) != 0 { return }
        let deadline = Date(timeIntervalSinceNow: Double(timeout) / 1e9)
        while !finished {
            if !condition.wait(until: deadline) { return }
        }
    }

    /// Sleeps up to `nanoseconds`, in slices of at most 50 ms; returns false when asked to stop.
    func sleep(_ nanoseconds: UInt64) -> Bool {
        var left = nanoseconds
        while left > 0 {
            if isStopping { return false }
            let slice = min(left, 50_000_000)
            var ts = timespec(tv_sec: 0, tv_nsec: Int(slice))
            nanosleep(&ts, nil)
            left -= slice
        }
        return !isStopping
    }
}

/// The one reader thread a line source may have: `start` makes it unless it runs, `stop`
/// ends it and waits. Shared by every source so the start/stop rules are written once.
final class ReaderSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var thread: ReaderThread?

    /// Starts `body` on a new thread (a second call while running does nothing).
    func start(name: String, body: @escaping @Sendable (ReaderThread) -> Void) {
        lock.withLock {
            guard thread == nil else { return }
            thread = ReaderThread(name: name, body: body)
        }
    }

    /// Asks the thread to end and returns when it has.
    func stop() {
        let t = lock.withLock { () -> ReaderThread? in
            defer { thread = nil }
            return thread
        }
        t?.stop()
    }
}

/// Seconds since `start` with three decimals ("12.345", "-0.020"), for human-readable logs.
func secondsText(_ at: UInt64, since start: UInt64) -> String {
    let negative = at < start
    let ms = (negative ? start - at : at - start) / 1_000_000
    let frac = ms % 1000
    let fracText = frac < 10 ? "00\(frac)" : frac < 100 ? "0\(frac)" : "\(frac)"
    return "\(negative ? "-" : "")\(ms / 1000).\(fracText)"
}
