import Foundation
import Glibc
import SoakCore

/// `uart.log` and `kernel.log` in the run folder: every line with the run time it was read at,
/// and what happened to the source (`-- opened ...`, `-- uart: ... went away`).
///
/// A line that cannot be written (a full disk) is counted, and the first such failure said once
/// through `warn`; the lines are still judged by the rules, only this log lacks them.
public final class LineLog: @unchecked Sendable {
    private let fd: Int32
    private let startMono: UInt64
    public let path: String
    private let warn: @Sendable (String) -> Void
    private let lock = NSLock()
    private var failed = 0
    private var firstReason: String?
    /// Lines not written since the last one that was: said in the log where it goes on.
    private var gap = 0
    /// The last failed write left part of its line in the file.
    private var torn = false

    public init(path: String, startMono: UInt64, warn: @escaping @Sendable (String) -> Void = TimelineWriter.warnOnStderr) {
        self.path = path
        self.warn = warn
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.startMono = startMono
        if fd < 0 {
            failed = 0
            firstReason = ErrorText.errnoText(errno)
            warn("cannot create \(path): \(firstReason ?? "")")
        }
    }
    deinit { if fd >= 0 { close(fd) } }

    public func append(_ line: SourceLine) {
        write(line.text, level: line.level, at: line.at)
    }

    /// A note of the tester's own, such as `-- opened /dev/ttyUSB2`.
    public func append(note: String, at: UInt64) {
        write(note, level: nil, at: at)
    }

    /// Lines (and notes) that could not be written, and why the first could not; nil when none failed.
    public var failures: (count: Int, reason: String)? {
        lock.lock()
        defer { lock.unlock() }
        guard failed > 0 || fd < 0, let firstReason else { return nil }
        return (failed, firstReason)
    }

    private func write(_ body: String, level: Int?, at: UInt64) {
        guard fd >= 0 else {
            lock.lock(); failed += 1; lock.unlock()
            return
        }
        let stamp = String(format: "%12.6f ", Double(Int64(bitPattern: at &- startMono)) / 1e9)
        var text = stamp
        if let level { text += "<\(level)> " }
        text += body + "\n"
        lock.lock()
        if gap > 0 {
            // The disk takes lines again: the gap is marked where it is.
            text = (torn ? "\n" : "") + stamp + "-- \(gap) lines could not be written here: \(firstReason ?? "write failed")\n" + text
        }
        lock.unlock()
        let (code, partly): (Int32?, Bool) = text.withCString { p in
            let count = strlen(p)
            var off = 0
            while off < count {
                let n = Glibc.write(fd, p + off, count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return (errno, off > 0)
                }
                off += n
            }
            return (nil, false)
        }
        guard let code else {
            lock.lock(); gap = 0; torn = false; lock.unlock()
            return
        }
        lock.lock()
        failed += 1
        gap += 1
        torn = torn || partly
        let first = firstReason == nil
        if first { firstReason = ErrorText.errnoText(code) }
        lock.unlock()
        if first { warn("cannot write \(path): \(ErrorText.errnoText(code)); its lines are still judged by the rules, only the log lacks them (counted)") }
    }
}
