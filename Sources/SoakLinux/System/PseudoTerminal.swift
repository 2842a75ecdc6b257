import CPosix
import Glibc
import SoakCore

/// A pseudo-terminal pair: the master is the device side (a simulator or test peer), the slave
/// path is what a tester opens as if it were /dev/ttyRPMSG30. Closing the master is the device
/// vanishing: the slave sees POLLHUP, a zero read, EIO on write.
public final class PseudoTerminal: @unchecked Sendable {
    public private(set) var master: Int32
    /// Kept open so the master never sees EIO while no tester has the slave open.
    private var slaveKeeper: Int32
    public let slavePath: String

    /// posix_openpt, grantpt, unlockpt, ptsname_r; the slave gets the kernel's default cooked
    /// termios, as a freshly probed tty driver has, so a tester must set raw mode itself.
    public init() throws(LinkOpenError) {
        var name = [CChar](repeating: 0, count: 128)
        let m = soak_pty_open(&name, name.count)
        guard m >= 0 else { throw LinkOpenError(device: "/dev/ptmx", reason: "cannot open a pty: \(describeErrno(errno))") }
        let path = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let s = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard s >= 0 else {
            let e = errno
            Glibc.close(m)
            throw LinkOpenError(device: path, reason: "cannot open the pty slave: \(describeErrno(e))")
        }
        _ = soak_tty_make_cooked(s)
        master = m
        slaveKeeper = s
        slavePath = path
    }

    deinit { close() }

    /// Hangs up: the slave side sees the device go away.
    public func close() {
        if slaveKeeper >= 0 { Glibc.close(slaveKeeper); slaveKeeper = -1 }
        if master >= 0 { Glibc.close(master); master = -1 }
    }

    /// Puts the slave in raw mode (for peers that are not modelling a cooked driver tty).
    public func makeRaw() { _ = soak_tty_make_raw(slaveKeeper) }

    /// Reads what the tester wrote; nil when nothing is there.
    public func readAvailable(into buffer: inout [UInt8]) -> Int {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
        return n > 0 ? n : 0
    }

    /// Writes without blocking; returns the bytes taken (0 when the tty buffer is full).
    public func writeSome(_ bytes: ArraySlice<UInt8>) -> Int {
        let n = bytes.withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
        return n > 0 ? n : 0
    }

    /// Waits up to `timeout` ns for the tester to write (and, if asked, for room to write back).
    public func wait(forWrite: Bool, timeout: UInt64) -> (readable: Bool, writable: Bool) {
        var p = pollfd(fd: master, events: Int16(POLLIN) | (forWrite ? Int16(POLLOUT) : 0), revents: 0)
        guard soak_poll_ns(&p, 1, timeout) > 0 else { return (false, false) }
        return (Int32(p.revents) & Int32(POLLIN) != 0, Int32(p.revents) & Int32(POLLOUT) != 0)
    }
}
