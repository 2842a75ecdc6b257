import CPosix
import Glibc

extension FileDescriptor {
    /// ioctl(fd, TIOCGWINSZ) (soak_tty_columns): the terminal's width in columns; nil when the
    /// descriptor is not a terminal or the terminal does not know (a pty nobody sized says 0).
    public var terminalColumns: Int? {
        let c = soak_tty_columns(rawValue)
        return c > 0 ? Int(c) : nil
    }
}
