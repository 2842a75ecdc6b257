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

extension FileDescriptor {
    /// A TCP connection to `host:port` (getaddrinfo, each address tried in turn), close-on-exec,
    /// within `timeout` per address. Throws with what went wrong, naming the host.
    public static func connectTCP(host: String, port: Int, timeout: UInt64) throws(SocketFailure) -> FileDescriptor {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else { throw SocketFailure("\(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { lastError = Errno.current.description; continue }
            let descriptor = FileDescriptor(rawValue: fd)
            if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return descriptor }
            guard errno == EINPROGRESS else { lastError = Errno.current.description; descriptor.close(); continue }
            let events = (try? descriptor.poll(for: .writable, timeout: timeout)) ?? []
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if events.contains(.writable) && err == 0 { return descriptor }
            lastError = events.isEmpty ? "no answer within \(timeout / 1_000_000) ms" : describeErrno(err)
            descriptor.close()
        }
        throw SocketFailure("\(host):\(port): \(lastError)")
    }
}

public struct SocketFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
