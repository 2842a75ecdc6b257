import Foundation
import Glibc
import SoakCore

/// `uart.log` and `kernel.log` in the run folder: every line with the run time it was read at,
/// and what happened to the source (`-- opened ...`, `-- uart: ... went away`).
public final class LineLog: @unchecked Sendable {
    private let fd: Int32
    private let startMono: UInt64

    public init(path: String, startMono: UInt64) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.startMono = startMono
    }
    deinit { if fd >= 0 { close(fd) } }

    public func append(_ line: SourceLine) {
        write(line.text, level: line.level, at: line.at)
    }

    /// A note of the tester's own, such as `-- opened /dev/ttyUSB2`.
    public func append(note: String, at: UInt64) {
        write(note, level: nil, at: at)
    }

    private func write(_ body: String, level: Int?, at: UInt64) {
        guard fd >= 0 else { return }
        var text = String(format: "%12.6f ", Double(Int64(bitPattern: at &- startMono)) / 1e9)
        if let level { text += "<\(level)> " }
        text += body + "\n"
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    }
}
