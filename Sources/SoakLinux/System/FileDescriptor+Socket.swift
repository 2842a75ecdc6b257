import Glibc

/// A local stream socket pair as a child's standard input and output: unlike a pipe, a send on
/// it can ask for no SIGPIPE (MSG_NOSIGNAL) and for no blocking (MSG_DONTWAIT) one call at a
/// time, so the child's end stays an ordinary blocking descriptor.
extension FileDescriptor {
    /// socketpair(2) AF_UNIX SOCK_STREAM with SOCK_CLOEXEC: neither end leaks into a process
    /// another thread spawns meanwhile.
    public static func socketPair() throws(Errno) -> (FileDescriptor, FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        _ = try retryOnInterrupt { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// recv(2) with MSG_DONTWAIT: the number of bytes read, 0 when the peer closed its end.
    @inline(__always)
    public func receiveNow(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryOnInterrupt { recv(rawValue, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) }
    }

    /// send(2) with MSG_DONTWAIT and MSG_NOSIGNAL: a peer that is gone is EPIPE, never a
    /// SIGPIPE that would end the tester.
    @inline(__always)
    public func sendNow(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retryOnInterrupt { send(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }
}
