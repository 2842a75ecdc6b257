import CPosix
import Glibc
import SoakCore

/// The RPMsg tty (or any tty echo device): opened non-blocking and exclusive, put into raw
/// mode (no echo, no ICANON, no CR/LF translation, no flow control), timestamped at each
/// system call. A hang-up (POLLHUP, zero read, EIO, ENODEV) is reported, never waited on.
public final class TtyLink: Link {
    public let path: String
    private var fd: Int32

    /// open(2) with O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, then TIOCEXCL and cfmakeraw.
    public init(path: String) throws(LinkOpenError) {
        self.path = path
        let fd = path.withCString { Glibc.open($0, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else {
            throw LinkOpenError(device: path, reason: "cannot open: \(describeErrno(errno))")
        }
        guard isatty(fd) == 1 else {
            Glibc.close(fd)
            throw LinkOpenError(device: path, reason: "not a tty")
        }
        if soak_tty_set_exclusive(fd) != 0 {
            let e = errno
            Glibc.close(fd)
            throw LinkOpenError(device: path, reason: "cannot take it exclusively (TIOCEXCL): \(describeErrno(e))")
        }
        if soak_tty_make_raw(fd) != 0 {
            let e = errno
            Glibc.close(fd)
            throw LinkOpenError(device: path, reason: "cannot put it into raw mode: \(describeErrno(e))")
        }
        self.fd = fd
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
        if fd >= 0 {
            _ = soak_tty_clear_exclusive(fd)
            Glibc.close(fd)
            fd = -1
        }
    }

    /// poll(2) on the tty; EINTR counts as "nothing yet".
    public func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness {
        guard fd >= 0 else { return LinkReadiness(readable: false, writable: false, hangup: true) }
        var p = pollfd(fd: fd, events: Int16(POLLIN) | (forWrite ? Int16(POLLOUT) : 0), revents: 0)
        let r = soak_poll_ns(&p, 1, timeout)
        if r <= 0 { return LinkReadiness(readable: false, writable: false, hangup: false) }
        let ev = Int32(p.revents)
        return LinkReadiness(readable: ev & Int32(POLLIN) != 0,
                             writable: ev & Int32(POLLOUT) != 0,
                             hangup: ev & (Int32(POLLHUP) | Int32(POLLERR) | Int32(POLLNVAL)) != 0)
    }

    /// read(2), retried on EINTR.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO {
        guard fd >= 0 else { return .hangup("closed") }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            let at = MonotonicClock.read()
            if n > 0 { return .done(count: n, at: at) }
            if n == 0 { return .hangup("end of file (the device went away)") }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            default: return .hangup("read failed: \(describeErrno(errno))")
            }
        }
    }

    /// write(2), retried on EINTR.
    public func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO {
        guard fd >= 0 else { return .hangup("closed") }
        while true {
            let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
            let at = MonotonicClock.read()
            if n >= 0 { return .done(count: n, at: at) }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            default: return .hangup("write failed: \(describeErrno(errno))")
            }
        }
    }
}
