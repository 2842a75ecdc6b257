import Foundation
import Glibc
import SoakCore

/// `uart.log` and `kernel.log` in the run folder: every line with the run time it was read at,
/// and what happened to the source (`-- opened ...`, `-- uart: ... went away`). Lines are
/// gathered and handed to the kernel in one write per batch (`flush`), so a flood costs one
/// system call per batch rather than one per line.
public final class LineLog: @unchecked Sendable {
    private let fd: Int32
    private let startMono: UInt64
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    /// A batch this large is written at once, whatever `flush` says.
    static let batchBytes = 64 * 1024

    public init(path: String, startMono: UInt64) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        self.startMono = startMono
        buffer.reserveCapacity(Self.batchBytes + 1024)
    }
    deinit {
        flush()
        if fd >= 0 { close(fd) }
    }

    public func append(_ line: SourceLine) {
        add(line.text, level: line.level, at: line.at)
    }

    /// A note of the tester's own, such as `-- opened /dev/ttyUSB2`.
    public func append(note: String, at: UInt64) {
        add(note, level: nil, at: at)
        flush()
    }

    /// Writes what was gathered.
    public func flush() {
        lock.withLock {
            guard fd >= 0, !buffer.isEmpty else { return buffer.removeAll(keepingCapacity: true) }
            buffer.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 { if errno == EINTR { continue } else { break } }
                    off += n
                }
            }
            buffer.removeAll(keepingCapacity: true)
        }
    }

    private func add(_ body: String, level: Int?, at: UInt64) {
        guard fd >= 0 else { return }
        let full = lock.withLock {
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
        var digits: [UInt8] = []
        var whole = micros / 1_000_000
        var frac = micros % 1_000_000
        var fracDigits = [UInt8](repeating: UInt8(ascii: "0"), count: 6)
        for i in stride(from: 5, through: 0, by: -1) {
            fracDigits[i] = UInt8(ascii: "0") + UInt8(frac % 10)
            frac /= 10
        }
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(whole % 10))
            whole /= 10
        } while whole > 0
        if negative { digits.append(UInt8(ascii: "-")) }
        let width = digits.count + 7
        if width < 12 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 12 - width)) }
        out.append(contentsOf: digits.reversed())
        out.append(UInt8(ascii: "."))
        out.append(contentsOf: fracDigits)
        out.append(UInt8(ascii: " "))
    }
}
