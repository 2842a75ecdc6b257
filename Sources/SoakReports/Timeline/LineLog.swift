import Foundation
import Glibc
import SoakCore

/// `uart.log` and `kernel.log` in the run folder: every line with the run time it was read at,
/// and what happened to the source (`-- opened ...`, `-- uart: ... went away`). Lines are
/// gathered and handed to the kernel in one write per batch (`flush`), so a flood costs one
/// system call per batch rather than one per line.
///
/// A line that cannot be written (a full disk) is counted, and the first such failure said once
/// through `warn`; the lines are still judged by the rules, only this log lacks them.
public final class LineLog: @unchecked Sendable {
    private let fd: Int32
    private let startMono: UInt64
    public let path: String
    private let warn: @Sendable (String) -> Void
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    /// Lines in `buffer`, and the run time of the first.
    private var buffered = 0
    private var batchAt: UInt64 = 0
    private var failed = 0
    private var firstReason: String?
    /// Lines not written since the last batch that was: said in the log where it goes on.
    private var gap = 0
    /// The last failed write left part of its batch in the file.
    private var torn = false
    /// A batch this large is written at once, whatever `flush` says.
    static let batchBytes = 64 * 1024

    public init(path: String, startMono: UInt64, warn: @escaping @Sendable (String) -> Void = TimelineWriter.warnOnStderr) {
        self.path = path
        self.warn = warn
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.startMono = startMono
        buffer.reserveCapacity(Self.batchBytes + 1024)
        if fd < 0 {
            firstReason = ErrorText.errnoText(errno)
            warn("cannot create \(path): \(firstReason ?? "")")
        }
    }
    deinit {
        flush()
        if fd >= 0 { close(fd) }
    }

    public func append(_ line: SourceLine) {
        add(line.text, level: line.level, at: line.at)
    }

    /// A note of the tester's own, such as `-- opened /dev/ttyUSB2`: written at once.
    public func append(note: String, at: UInt64) {
        add(note, level: nil, at: at)
        flush()
    }

    /// Lines (and notes) that could not be written, and why the first could not; nil when none failed.
    public var failures: (count: Int, reason: String)? {
        lock.lock()
        defer { lock.unlock() }
        guard failed > 0 || fd < 0, let firstReason else { return nil }
        return (failed, firstReason)
    }

    /// Writes what was gathered.
    public func flush() {
        lock.lock()
        guard buffered > 0 else { return lock.unlock() }
        guard fd >= 0 else {
            failed += buffered
            clear()
            return lock.unlock()
        }
        if gap > 0 {
            // The disk takes lines again: the gap is marked where it is.
            var note: [UInt8] = torn ? [0x0A] : []
            Self.appendTime(Int64(bitPattern: batchAt &- startMono), to: &note)
            note += Array("-- \(gap) lines could not be written here: \(firstReason ?? "write failed")\n".utf8)
            buffer.insert(contentsOf: note, at: 0)
        }
        let (code, partly): (Int32?, Bool) = buffer.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return (errno, off > 0)
                }
                off += n
            }
            return (nil, false)
        }
        var warning: String?
        if let code {
            failed += buffered
            gap += buffered
            torn = torn || partly
            if firstReason == nil {
                firstReason = ErrorText.errnoText(code)
                warning = "cannot write \(path): \(ErrorText.errnoText(code)); its lines are still judged by the rules, only the log lacks them (counted)"
            }
        } else {
            gap = 0
            torn = false
        }
        clear()
        lock.unlock()
        if let warning { warn(warning) }
    }

    private func clear() {
        buffer.removeAll(keepingCapacity: true)
        buffered = 0
    }

    private func add(_ body: String, level: Int?, at: UInt64) {
        let full = lock.withLock {
            if buffered == 0 { batchAt = at }
            buffered += 1
            Self.appendTime(Int64(bitPattern: at &- startMono), to: &buffer)
            if let level {
                buffer.append(UInt8(ascii: "<"))
                buffer.append(contentsOf: String(level).utf8)
                buffer.append(contentsOf: "> ".utf8)
            }
            buffer.append(contentsOf: body.utf8)
            buffer.append(0x0A)
            return buffer.count >= Self.batchBytes
        }
        if full { flush() }
    }

    /// Seconds with six decimals, right-aligned in 12 columns and a space: `    1.234567 `
    /// (what `%12.6f ` printed, without a formatter per line).
    static func appendTime(_ ns: Int64, to out: inout [UInt8]) {
        let negative = ns < 0
        let micros = (negative ? -ns : ns) / 1000
        var whole = micros / 1_000_000
        var frac = micros % 1_000_000
        // At most 19 digits, a sign, a point and six decimals.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            var i = 32
            for _ in 0..<6 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(frac % 10)
                frac /= 10
            }
            i -= 1
            digits[i] = UInt8(ascii: ".")
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(whole % 10)
                whole /= 10
            } while whole > 0
            if negative {
                i -= 1
                digits[i] = UInt8(ascii: "-")
            }
            let width = 32 - i
            if width < 12 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 12 - width)) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<32]))
        }
        out.append(UInt8(ascii: " "))
    }
}
