import Glibc

/// The names in a directory, without "." and ".." (opendir/readdir).
func directoryEntries(_ path: String) throws(GpioError) -> [String] {
    guard let dir = opendir(path) else {
        throw GpioError("cannot list \(path): \(Errno.current)")
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
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
    guard let fd = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return nil }
    defer { fd.close() }
    var bytes: [UInt8] = []
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    defer { chunk.deallocate() }
    while bytes.count < limit {
        guard let n = try? fd.read(into: chunk), n > 0 else { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The text in a C string buffer, up to its first NUL.
func string(fromCBuffer buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
