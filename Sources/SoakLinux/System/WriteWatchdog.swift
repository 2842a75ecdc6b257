import CPosix
import Foundation
import Synchronization

/// Bounds how long one system call may sleep in a driver. The NXP rpmsg tty sleeps inside
/// write(2) whatever O_NONBLOCK says (DOMAIN.md): 100 ms per message after a kick failure, up
/// to 15 s, interruptibly, when the M7 stopped taking messages. While the runner's one thread
/// sits there, its hang detector cannot run. A watchdog thread looks every few milliseconds at
/// the call in progress; past its deadline it sends the calling thread a signal whose handler
/// does nothing and does not restart the call, so the call returns EINTR and the runner looks
/// at the time again (the UART and kernel-log readers go on, on their own threads, meanwhile).
///
/// Cost on the hot path: two atomic stores and a load per guarded call; the watchdog thread wakes 50
/// times a second while the link is open.
final class WriteWatchdog: @unchecked Sendable {
    /// The deadline of the call in progress (monotonic ns), 0 when none is.
    private let deadline = Atomic<UInt64>(0)
    private let caller = Atomic<UInt>(0)
    private let running = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(true)
    static let tick: UInt32 = 20_000

    /// Runs `call` (one blocking system call); past `until` it is interrupted (EINTR).
    func guarding<R>(until: UInt64, _ call: () -> R) -> R {
        startIfNeeded()
        let me = UInt(soak_thread_self())
        if caller.load(ordering: .relaxed) != me {
            caller.store(me, ordering: .relaxed)
            // A thread that inherited a mask blocking the signal would never be woken.
            _ = soak_unblock_interrupt_signal()
        }
        deadline.store(until, ordering: .releasing)
        defer { deadline.store(0, ordering: .releasing) }
        return call()
    }

    private func startIfNeeded() {
        guard !running.load(ordering: .relaxed) else { return }
        guard soak_install_interrupt_signal() > 0 else { return }  // no signal: calls are not bounded
        running.store(true, ordering: .relaxed)
        finished.store(false, ordering: .relaxed)
        let t = Thread { [self] in
            while running.load(ordering: .relaxed) {
                usleep(Self.tick)
                let d = deadline.load(ordering: .acquiring)
                // Signalled at every tick past the deadline: a signal that came just before
                // the call began to sleep would otherwise be lost.
                if d != 0 && MonotonicClock.read() >= d {
                    _ = soak_interrupt_thread(UInt(caller.load(ordering: .relaxed)))
                }
            }
            finished.store(true, ordering: .releasing)
        }
        t.name = "write watchdog"
        t.start()
    }

    /// Stops the watchdog thread; returns once it has ended.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        while !finished.load(ordering: .acquiring) { usleep(Self.tick / 4) }
    }

    deinit { stop() }
}
