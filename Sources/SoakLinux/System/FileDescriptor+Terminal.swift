import CPosix
import Glibc

/// The terminal calls on a descriptor: termios and the tty ioctls, through CPosix's shims
/// where Swift cannot make the call itself (ioctl is variadic).
extension FileDescriptor {
    /// isatty(3).
    public var isTerminal: Bool { isatty(rawValue) == 1 }

    /// ioctl(fd, TIOCEXCL): no further open(2) of this tty succeeds (but for root), so a
    /// second tester cannot steal bytes from the link.
    public func setExclusive() throws(Errno) {
        _ = try retryOnInterrupt { soak_tty_set_exclusive(rawValue) }
    }

    /// ioctl(fd, TIOCNXCL): gives the tty back to others before closing it.
    public func clearExclusive() throws(Errno) {
        _ = try retryOnInterrupt { soak_tty_clear_exclusive(rawValue) }
    }

    /// tcgetattr, cfmakeraw, CLOCAL|CREAD, no flow control, VMIN=1/VTIME=0, tcsetattr(TCSANOW)
    /// (soak_tty_make_raw). Without `keepingInput` the queues are flushed (tcflush TCIOFLUSH):
    /// stale bytes on a link would be read as echoes; a UART keeps its boot banner instead.
    public func makeRaw(keepingInput: Bool) throws(Errno) {
        _ = try retryOnInterrupt {
            keepingInput ? soak_tty_make_raw_keep_input(rawValue) : soak_tty_make_raw(rawValue)
        }
    }

    /// cfsetispeed, cfsetospeed, tcsetattr (soak_tty_set_baud): a standard rate in baud, or
    /// `.invalidArgument` for any other.
    public func setBaud(_ baud: Int) throws(Errno) {
        guard baud > 0, let rate = UInt32(exactly: baud) else { throw .invalidArgument }
        _ = try retryOnInterrupt { soak_tty_set_baud(rawValue, rate) }
    }
}
