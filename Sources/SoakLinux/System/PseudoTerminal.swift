import CPosix
import Glibc
import SoakCore

/// A pseudo-terminal pair: the master is the device side (a simulator or test peer), the slave
/// path is what a tester opens as if it were /dev/ttyRPMSG30. Closing the master is the device
/// vanishing: the slave sees POLLHUP, a zero read, EIO on write.
public final class PseudoTerminal: @unchecked Sendable {
    /// nil once closed.
    private var master: FileDescriptor?
    /// Kept open so the master never sees EIO while no tester has the slave open.
    private var slaveKeeper: FileDescriptor?
    public let slavePath: String

    /// posix_openpt, grantpt, unlockpt, ptsname_r (soak_pty_open); the slave gets the kernel's
    /// default cooked termios, as a freshly probed tty driver has, so a tester must set raw mode
    /// itself.
    public init() throws(LinkOpenError) {
        var name = [CChar](repeating: 0, count: 128)
        let m = soak_pty_open(&name, name.count)
        guard m >= 0 else { throw LinkOpenError(device: "/dev/ptmx", reason: "cannot open a pty: \(Errno.current)") }
        let master = FileDescriptor(rawValue: m)
        let path = string(fromCBuffer: name)
        do {
            slaveKeeper = try FileDescriptor.open(path, .readWrite, options: [.noControllingTerminal, .closeOnExec])
        } catch {
            master.close()
            throw LinkOpenError(device: path, reason: "cannot open the pty slave: \(error)")
        }
        if let slaveKeeper { _ = soak_tty_make_cooked(slaveKeeper.rawValue) }
        self.master = master
        slavePath = path
    }

    deinit { close() }

    /// Hangs up: the slave side sees the device go away.
    public func close() {
        slaveKeeper?.close()
        slaveKeeper = nil
        master?.close()
        master = nil
    }

    /// Puts the slave in raw mode (for peers that are not modelling a cooked driver tty).
    public func makeRaw() { try? slaveKeeper?.makeRaw(keepingInput: false) }

    /// Reads what the tester wrote; 0 when nothing is there.
    public func readAvailable(into buffer: inout [UInt8]) -> Int {
        guard let master else { return 0 }
        return buffer.withUnsafeMutableBytes { (try? master.read(into: $0)) ?? 0 }
    }

    /// Writes without blocking; returns the bytes taken (0 when the tty buffer is full).
    public func writeSome(_ bytes: ArraySlice<UInt8>) -> Int {
        guard let master else { return 0 }
        return bytes.withUnsafeBytes { (try? master.write($0)) ?? 0 }
    }

    /// Waits up to `timeout` ns for the tester to write (and, if asked, for room to write back).
    public func wait(forWrite: Bool, timeout: UInt64) -> (readable: Bool, writable: Bool) {
        // Closed, it still waits out the timeout (poll ignores a negative descriptor): a
        // simulator loop that has not let go of it yet must not spin.
        let fd = master ?? FileDescriptor(rawValue: -1)
        guard let events = try? fd.poll(for: forWrite ? [.readable, .writable] : .readable, timeout: timeout)
        else { return (false, false) }
        return (events.contains(.readable), events.contains(.writable))
    }
}
