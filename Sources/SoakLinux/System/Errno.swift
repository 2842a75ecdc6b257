import Glibc

/// An error number a system call left in `errno`, typed so a call site says which failures it
/// expects by name (`.wouldBlock`, `.noSuchDevice`) instead of comparing integers.
///
/// The names follow apple/swift-system's `Errno`; only those this package meets are here.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno`, right after a call that failed.
    @inline(__always)
    public static var current: Errno { Errno(rawValue: Glibc.errno) }

    /// EPERM
    public static let notPermitted = Errno(rawValue: EPERM)
    /// ENOENT
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    /// EINTR: a signal arrived during the call; `retryOnInterrupt` handles it.
    public static let interrupted = Errno(rawValue: EINTR)
    /// EIO: on a tty, the other side (the driver, a pty master) is gone.
    public static let ioError = Errno(rawValue: EIO)
    /// ENXIO
    public static let noSuchAddressOrDevice = Errno(rawValue: ENXIO)
    /// EBADF: a descriptor that is not open, or not open for this direction.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// EAGAIN (EWOULDBLOCK): a non-blocking descriptor has nothing to give or no room.
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// ENOMEM
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// EACCES
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// EFAULT
    public static let badAddress = Errno(rawValue: EFAULT)
    /// EBUSY
    public static let resourceBusy = Errno(rawValue: EBUSY)
    /// ENODEV: the device behind a node went away (a USB adapter unplugged, a driver removed).
    public static let noSuchDevice = Errno(rawValue: ENODEV)
    /// EISDIR
    public static let isDirectory = Errno(rawValue: EISDIR)
    /// EINVAL
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// ENOTTY: an ioctl or termios call on something that is not a terminal.
    public static let notATerminal = Errno(rawValue: ENOTTY)
    /// EPIPE: on /dev/kmsg, records were overwritten before they were read.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// ETIME: the mailbox timeout behind `imx_rproc_kick: failed (1, err:-62)`.
    public static let timerExpired = Errno(rawValue: ETIME)

    /// strerror(3)'s text with the symbolic name, for the values a lab engineer meets on a tty:
    /// "No such device (ENODEV)"; others read "… (errno N)".
    public var description: String {
        "\(String(cString: strerror(rawValue))) (\(symbol ?? "errno \(rawValue)"))"
    }

    /// The symbolic name, for the values a report is likely to show.
    public var symbol: String? {
        switch rawValue {
        case ENOENT: "ENOENT"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EIO: "EIO"
        case ENODEV: "ENODEV"
        case ENXIO: "ENXIO"
        case ENOTTY: "ENOTTY"
        case EPERM: "EPERM"
        case ETIME: "ETIME"
        case EINVAL: "EINVAL"
        case EISDIR: "EISDIR"
        case EPIPE: "EPIPE"
        case EBADF: "EBADF"
        case EFAULT: "EFAULT"
        case ENOMEM: "ENOMEM"
        case EAGAIN: "EAGAIN"
        case EINTR: "EINTR"
        default: nil
        }
    }
}

/// The text of an errno value, as `Errno.description` gives it ("No such device (ENODEV)").
public func describeErrno(_ e: Int32) -> String { Errno(rawValue: e).description }

/// Calls `call` (a system call that returns -1 and sets errno on failure) again for as long as
/// a signal interrupts it (EINTR): the one place that rule is written. Any other failure is
/// thrown as its `Errno`.
@inline(__always)
func retryOnInterrupt<Result: FixedWidthInteger>(_ call: () -> Result) throws(Errno) -> Result {
    while true {
        let r = call()
        if r != -1 { return r }
        let e = Errno.current
        if e != .interrupted { throw e }
    }
}
