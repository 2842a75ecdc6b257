import Glibc
import SoakCore

/// The RPMsg tty (or any tty echo device), opened as a `TtyDevice` (non-blocking, exclusive,
/// raw: no echo, no ICANON, no CR/LF translation, no flow control) and timestamped at each
/// system call.
///
/// Errors by kind: the device going away (a zero read, EIO, ENODEV, ENXIO, POLLHUP with nothing
/// left to read) is `.hangup`, a reason to recover the board; any other errno (EBADF, EFAULT,
/// EINVAL, ENOMEM, ...) says the tester or the host is broken and is `.failed`, never a
/// reason to power-cycle a board that did nothing wrong.
public final class TtyLink: Link {
    public let path: String
    /// nil once closed.
    private(set) var device: TtyDevice?
    /// A poll that failed (EFAULT, ENOMEM: never the device's doing), reported by the next read.
    private var pollFailure: Errno?
    /// Cuts a write short at its deadline (see `write(_:returningBy:)`).
    private let watchdog = WriteWatchdog()
    /// The last wait saw POLLHUP or POLLERR: a read that then finds nothing is the end, not
    /// "try later" (a pty slave whose master closed can poll HUP yet read EAGAIN).
    private var hangupSeen = false

    public init(path: String) throws(LinkOpenError) {
        self.path = path
        do {
            // What is already waiting (the driver's greeting, a previous run's echoes) is kept:
            // the runner drains it before the first send and puts it on the timeline.
            device = try TtyDevice.open(path, .readWrite, keepingInput: true)
        } catch {
            let reason = switch error.step {
            case .notATerminal: error.what
            default: "\(error.what): \(error.errno)"
            }
            throw LinkOpenError(device: path, reason: reason)
        }
    }

    /// Opens `path`, retrying while it does not exist yet (a driver still probing, a simulator
    /// still booting) until `timeout`.
    public static func open(path: String, timeout: SoakDuration) throws(LinkOpenError) -> TtyLink {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            do {
                return try TtyLink(path: path)
            } catch {
                let missing = access(path, F_OK) != 0
                if !missing || MonotonicClock.read() >= deadline {
                    if missing {
                        throw LinkOpenError(device: path, reason: "does not exist (waited \(timeout))")
                    }
                    throw error
                }
                usleep(20_000)
            }
        }
    }

    deinit { close() }

    public func close() {
        watchdog.stop()
        device?.close()
        device = nil
    }

    /// poll(2) on the tty.
    public func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness {
        guard let device else { return LinkReadiness(readable: false, writable: false, hangup: true) }
        let events: FileDescriptor.PollEvents
        do {
            events = try device.fd.poll(for: forWrite ? [.readable, .writable] : .readable, timeout: timeout)
        } catch {
            // The runner reads when told "readable": that read reports the failure.
            pollFailure = error
            return LinkReadiness(readable: true, writable: false, hangup: false)
        }
        if !events.isDisjoint(with: [.hangup, .error]) { hangupSeen = true }
        // POLLNVAL also asks for a read: the read's EBADF then reports it as `.failed`.
        return LinkReadiness(readable: events.contains(.readable),
                             writable: events.contains(.writable),
                             hangup: !events.isDisjoint(with: [.hangup, .error, .invalid]))
    }

    /// read(2); `at` is taken as soon as it returns.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO {
        guard let device else { return .hangup("closed") }
        if let e = pollFailure { return .failed("poll failed: \(e)") }
        do {
            let n = try device.fd.read(into: buffer)
            let at = MonotonicClock.read()
            if n > 0 { return .done(count: n, at: at) }
            return .hangup("end of file (the device went away)")
        } catch {
            if error == .wouldBlock {
                return hangupSeen ? .hangup("hang-up (POLLHUP)") : .wouldBlock
            }
            return Self.kind(of: error, "read failed")
        }
    }

    /// write(2); `at` is taken as soon as it returns.
    public func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO {
        guard let device else { return .hangup("closed") }
        do {
            let n = try device.fd.write(bytes)
            return .done(count: n, at: MonotonicClock.read())
        } catch {
            if error == .wouldBlock { return .wouldBlock }
            return Self.kind(of: error, "write failed")
        }
    }

    /// write(2), returning by `deadline` at the latest: a write that sleeps in the driver (no
    /// free rpmsg TX buffer) is cut short by the write watchdog and reported as `.wouldBlock`
    /// with nothing written, so the runner's hang detector runs while the driver waits.
    public func write(_ bytes: UnsafeRawBufferPointer, returningBy deadline: UInt64) -> LinkIO {
        guard let device else { return .hangup("closed") }
        let fd = device.fd.rawValue
        while true {
            let n = watchdog.guarding(until: deadline) { Glibc.write(fd, bytes.baseAddress, bytes.count) }
            let at = MonotonicClock.read()
            if n >= 0 { return .done(count: n, at: at) }
            let e = Errno.current
            if e == .interrupted {
                if at >= deadline { return .wouldBlock }
                continue  // another signal (SIGINT is seen by the runner's loop)
            }
            if e == .wouldBlock { return .wouldBlock }
            return Self.kind(of: e, "write failed")
        }
    }

    /// The errnos that mean the device went away; every other one is the tester's own trouble.
    static func kind(of error: Errno, _ what: String) -> LinkIO {
        switch error {
        case .ioError, .noSuchDevice, .noSuchAddressOrDevice: .hangup("\(what): \(error)")
        default: .failed("\(what): \(error)")
        }
    }
}
