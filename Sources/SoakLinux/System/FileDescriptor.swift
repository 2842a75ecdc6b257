import CPosix
import Glibc

/// An open file descriptor: a typed Int32 whose operations are the thin wrappers below, one per
/// system call, each retried on EINTR (through `retryOnInterrupt`) and failing with an `Errno`.
/// A value type, as in apple/swift-system: whoever opened it closes it once.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// How a file is opened for reading and writing (O_RDONLY, O_WRONLY, O_RDWR).
    public struct AccessMode: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let readOnly = AccessMode(rawValue: O_RDONLY)
        public static let writeOnly = AccessMode(rawValue: O_WRONLY)
        public static let readWrite = AccessMode(rawValue: O_RDWR)
    }

    /// open(2) flags beside the access mode.
    public struct OpenOptions: OptionSet, Hashable, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// O_NONBLOCK
        public static let nonBlocking = OpenOptions(rawValue: O_NONBLOCK)
        /// O_NOCTTY: a tty opened here never becomes the process's controlling terminal.
        public static let noControllingTerminal = OpenOptions(rawValue: O_NOCTTY)
        /// O_CLOEXEC: not inherited by the commands and guard processes this tester starts.
        public static let closeOnExec = OpenOptions(rawValue: O_CLOEXEC)
        /// O_CREAT
        public static let create = OpenOptions(rawValue: O_CREAT)
        /// O_APPEND
        public static let append = OpenOptions(rawValue: O_APPEND)
        /// O_TRUNC
        public static let truncate = OpenOptions(rawValue: O_TRUNC)
    }

    /// poll(2) event bits, asked for and reported.
    public struct PollEvents: OptionSet, Hashable, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        /// POLLIN
        public static let readable = PollEvents(rawValue: Int16(POLLIN))
        /// POLLOUT
        public static let writable = PollEvents(rawValue: Int16(POLLOUT))
        /// POLLHUP: the other end is gone (a pty master closed, a tty driver removed).
        public static let hangup = PollEvents(rawValue: Int16(POLLHUP))
        /// POLLERR
        public static let error = PollEvents(rawValue: Int16(POLLERR))
        /// POLLNVAL: the descriptor is not open; a bug in the tester, not a device that left.
        public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
    }

    /// Where `seek` counts from (SEEK_SET, SEEK_CUR, SEEK_END).
    public enum SeekOrigin: Int32, Sendable {
        case start = 0, current = 1, end = 2
    }

    /// open(2).
    public static func open(_ path: String, _ mode: AccessMode, options: OpenOptions = [],
                            permissions: mode_t = 0o644) throws(Errno) -> FileDescriptor {
        let fd = try retryOnInterrupt {
            path.withCString { Glibc.open($0, mode.rawValue | options.rawValue, permissions) }
        }
        return FileDescriptor(rawValue: fd)
    }

    /// pipe2(2) with O_CLOEXEC (soak_pipe_cloexec: Glibc's Swift module hides pipe2): the read
    /// end and the write end.
    public static func pipe() throws(Errno) -> (readEnd: FileDescriptor, writeEnd: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        _ = try retryOnInterrupt { soak_pipe_cloexec(&fds) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// close(2). Not retried and not thrown: on Linux the descriptor is released whatever close
    /// returns (retrying could close a descriptor another thread just opened), and none of
    /// this package's callers could do anything with the error.
    public func close() {
        _ = Glibc.close(rawValue)
    }

    /// read(2): the number of bytes read, 0 at end of file.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryOnInterrupt { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// write(2): the number of bytes taken, possibly fewer than given.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retryOnInterrupt { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
    }

    /// ppoll(2) on this one descriptor for up to `timeout` nanoseconds (poll(2) only has
    /// milliseconds): the events that happened, empty when the time ran out.
    ///
    /// A signal (EINTR) also returns empty rather than polling again: every caller here loops
    /// and checks its stop or interrupt flag between polls, which is how it notices the signal.
    public func poll(for events: PollEvents, timeout: UInt64) throws(Errno) -> PollEvents {
        var p = pollfd(fd: rawValue, events: events.rawValue, revents: 0)
        // soak_poll_ns is ppoll with its EINTR already turned into 0 (nothing happened).
        let r = soak_poll_ns(&p, 1, timeout)
        if r < 0 { throw Errno.current }
        return r == 0 ? [] : PollEvents(rawValue: p.revents)
    }

    /// lseek(2): the new offset from the start of the file.
    @discardableResult
    public func seek(offset: Int64 = 0, from origin: SeekOrigin) throws(Errno) -> Int64 {
        Int64(try retryOnInterrupt { lseek(rawValue, off_t(offset), origin.rawValue) })
    }

    /// fstat(2).
    public func status() throws(Errno) -> stat {
        var st = stat()
        _ = try retryOnInterrupt { fstat(rawValue, &st) }
        return st
    }

    /// fcntl(2) F_DUPFD_CLOEXEC: a copy numbered `minimum` or above, closed on exec.
    public func duplicate(atLeast minimum: Int32) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryOnInterrupt { fcntl(rawValue, F_DUPFD_CLOEXEC, minimum) })
    }

    /// dup2(2): makes `target` another descriptor of this file, closing what `target` was.
    public func duplicate(as target: FileDescriptor) throws(Errno) {
        _ = try retryOnInterrupt { dup2(rawValue, target.rawValue) }
    }
}
