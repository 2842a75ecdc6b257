import Foundation
import Glibc
import SoakCore

/// `uart.log` and `kernel.log` in the run folder: every line with the run time it was read at.
public final class LineLog: @unchecked Sendable {
    private let fd: Int32
    private let startMono: UInt64

    public init(path: String, startMono: UInt64) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.startMono = startMono
    }
    deinit { if fd >= 0 { close(fd) } }

    public func append(_ line: SourceLine) {
        guard fd >= 0 else { return }
        var text = String(format: "%12.6f ", Double(Int64(bitPattern: line.at &- startMono)) / 1e9)
        if let level = line.level { text += "<\(level)> " }
        text += line.text + "\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }
}
