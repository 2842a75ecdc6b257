import Glibc

/// The names in a directory, without "." and ".." (opendir/readdir).
func directoryEntries(_ path: String) throws(GpioError) -> [String] {
    guard let dir = opendir(path) else {
        let e = errno
        throw GpioError("cannot list \(path): \(describeErrno(e))")
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// The target of a symbolic link (readlink), or nil.
func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 512)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n >= 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A small text file (sysfs, procfs) read whole, or nil. Reads until EOF: their sizes lie.
public func readText(_ path: String, limit: Int = 65_536) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The text in a C string buffer, up to its first NUL.
func string(fromCBuffer buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
