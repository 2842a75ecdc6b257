import Glibc

/// A file replaced whole, never seen half written: the bytes go to a temporary file in the same
/// directory (same filesystem, so rename(2) is atomic), which is then renamed over the target.
/// What node_exporter's textfile collector asks of a `.prom` file; the temporary name starts
/// with a dot and does not end in `.prom`, so the collector never reads it.
public struct AtomicFile: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var step: String
        public var errno: Errno
        public var description: String { "cannot \(step) \(path): \(errno)" }
    }

    public let path: String
    private let temporary: String

    public init(path: String) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporary = "\(dir).\(base).\(getpid()).tmp"
    }

    /// open(2) O_CREAT|O_TRUNC of the temporary file (mode 0644), write(2) until done,
    /// close(2), rename(2) over `path`. On a failure the temporary file is removed and `path`
    /// keeps its previous content.
    public func write(_ text: String) throws(Failure) {
        let fd: Int32
        do {
            fd = try retryOnInterrupt { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        } catch {
            throw Failure(path: temporary, step: "create", errno: error)
        }
        var failure: Failure?
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if Glibc.errno == EINTR { continue }
                    failure = Failure(path: temporary, step: "write", errno: .current)
                    return
                }
                off += n
            }
        }
        if close(fd) != 0, failure == nil { failure = Failure(path: temporary, step: "write", errno: .current) }
        if failure == nil, rename(temporary, path) != 0 { failure = Failure(path: path, step: "replace", errno: .current) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}
