import Foundation
import Glibc
import SoakCore

// MARK: - The record format

/// One kernel log record as /dev/kmsg gives it:
/// `prio,seq,ts_usec,flags[,more];message\n` then optional continuation lines that start with a
/// space (` KEY=value`, e.g. ` SUBSYSTEM=platform`), which are not part of the message.
///
/// The kernel writes every byte of the message below 0x20, from 0x7F up, and the backslash as
/// `\xNN`. `message` has those escapes DECODED (so UTF-8 text reads as text), then cleaned like
/// a UART line: LF and CR become a space, TAB stays, NUL is dropped, other control bytes and
/// invalid UTF-8 become U+FFFD, and it is cut at `maxMessageLength` bytes with " [cut]".
public struct KmsgRecord: Sendable, Equatable {
    public var prio: Int
    public var seq: UInt64
    /// The kernel's timestamp: microseconds since boot (CLOCK_MONOTONIC, on the kernel side).
    public var micros: UInt64
    /// `-` for a normal record, `c` for a (legacy) continuation fragment; any fields after it
    /// (`,caller=T1`) are appended as they are.
    public var flags: String
    public var message: String
    /// The continuation lines, decoded the same way.
    public var properties: [String: String]

    /// Syslog level: 0 emerg ... 3 err ... 7 debug.
    public var level: Int { prio & 7 }
    /// Syslog facility: 0 kernel, 1 user (lines written to /dev/kmsg from user space).
    public var facility: Int { prio >> 3 }

    public static let maxMessageLength = LineSplitter.defaultMaxLength

    public init(prio: Int, seq: UInt64, micros: UInt64, flags: String = "-", message: String,
                properties: [String: String] = [:]) {
        self.prio = prio; self.seq = seq; self.micros = micros; self.flags = flags
        self.message = message; self.properties = properties
    }

    /// The record as a kernel line read at `at` (monotonic ns).
    public func line(at: UInt64) -> SourceLine {
        SourceLine(source: .kernel, at: at, text: message, level: level, facility: facility,
                   kernelSeq: seq, kernelMicros: micros)
    }

    /// Parses one record (the bytes of one read from /dev/kmsg, or one line of a file in that
    /// format); nil when the bytes are not in record format.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> KmsgRecord? {
        guard let semi = bytes.firstIndex(of: UInt8(ascii: ";")), semi <= 256 else { return nil }
        let header = bytes[bytes.startIndex..<semi].split(separator: UInt8(ascii: ","),
                                                         omittingEmptySubsequences: false)
        guard header.count >= 4,
              let prio = decimal(header[0]), prio <= UInt64(Int32.max),
              let seq = decimal(header[1]),
              let micros = decimal(header[2])
        else { return nil }
        let flags = String(decoding: bytes[header[3].startIndex..<semi], as: UTF8.self)

        let body = bytes[(semi + 1)...]
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let message = decode(lines.first ?? body[body.startIndex..<body.startIndex])
        var properties: [String: String] = [:]
        for continuation in lines.dropFirst() where continuation.first == UInt8(ascii: " ") {
            let kv = continuation.dropFirst()
            guard let eq = kv.firstIndex(of: UInt8(ascii: "=")) else { continue }
            properties[decode(kv[kv.startIndex..<eq])] = decode(kv[(eq + 1)...])
        }
        return KmsgRecord(prio: Int(prio), seq: seq, micros: micros, flags: flags, message: message,
                          properties: properties)
    }

    public static func parse(_ bytes: [UInt8]) -> KmsgRecord? {
        bytes.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ text: String) -> KmsgRecord? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses a record read at `at` straight into a kernel line.
    public static func parse(_ bytes: UnsafeRawBufferPointer, at: UInt64) -> SourceLine? {
        parse(bytes)?.line(at: at)
    }

    /// Text that is not in record format (a plain log line): cleaned the same way, level nil.
    public static func plainLine(_ bytes: UnsafeRawBufferPointer, at: UInt64) -> SourceLine {
        let end = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        return SourceLine(source: .kernel, at: at, text: decode(bytes[bytes.startIndex..<end], unescape: false))
    }

    private static func decimal(_ digits: Slice<UnsafeRawBufferPointer>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = s
        }
        return value
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `\xNN` decoded (when `unescape`), then cleaned: LF/CR → space, TAB kept, NUL dropped,
    /// other controls → U+FFFD, cut at `maxMessageLength`, invalid UTF-8 → U+FFFD.
    static func decode(_ raw: Slice<UnsafeRawBufferPointer>, unescape: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(raw.count, maxMessageLength) + 8)
        var cut = false
        var i = raw.startIndex
        while i < raw.endIndex {
            var c = raw[i]
            i += 1
            if unescape, c == UInt8(ascii: "\\"), raw.endIndex - i >= 3, raw[i] == UInt8(ascii: "x"),
               let h = hex(raw[i + 1]), let l = hex(raw[i + 2]) {
                c = h << 4 | l
                i += 3
            }
            if out.count >= maxMessageLength { cut = true; break }
            switch c {
            case 0x00: continue
            case 0x0A, 0x0D: out.append(0x20)
            case 0x09: out.append(c)
            case 0x01...0x1F, 0x7F: out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            default: out.append(c)
            }
        }
        var text = String(decoding: out, as: UTF8.self)
        if cut { text += LineSplitter.cutMarker }
        return text
    }
}

/// Sequence numbers of consecutive kernel records: a gap means records were overwritten before
/// they were read (the reader was too slow, or the ring buffer is small).
public struct KmsgSequence: Sendable {
    public private(set) var last: UInt64?
    public init() {}

    /// Records `seq`; returns how many records were missed since the previous one (0 for the
    /// first record, consecutive ones, and a sequence that went backwards, which restarts it).
    public mutating func observe(_ seq: UInt64) -> UInt64 {
        defer { last = seq }
        guard let last, seq > last else { return 0 }
        return seq - last - 1
    }
}

// MARK: - /dev/kmsg

/// The kernel log read from /dev/kmsg (or `path`) on its own thread.
///
/// open(2) O_RDONLY|O_NONBLOCK|O_CLOEXEC; unless `fromStart`, lseek(fd, 0, SEEK_END) skips the
/// history. Then ppoll (100 ms) and one read(2) per record into a 16 KiB buffer, stamped with
/// MonotonicClock.read() right after the read returns. EPIPE from read (records overwritten)
/// and sequence gaps give one `.overrun(missed:)` (missed = the gap in sequence numbers, 0 when
/// it cannot be known). Notices `.opened(path)` once open.
///
/// Open failing with EACCES or EPERM notices `.permissionDenied("cannot read /dev/kmsg:
/// Permission denied (EACCES); run as root or set kernel.dmesg_restrict=0; the kernel log is
/// not watched")`; any other open or read failure (ENOENT, a directory: EISDIR) notices
/// `.lost("cannot read …: …; the kernel log is not watched")`. Either way the thread ends; it
/// does not retry (/dev/kmsg does not come back). A non-record read (not /dev/kmsg) is
/// delivered as plain text with level nil.
public final class KmsgSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .kernel
    public let path: String
    public let fromStart: Bool

    private let reader = ReaderSlot()

    public init(path: String = "/dev/kmsg", fromStart: Bool = false) {
        self.path = path
        self.fromStart = fromStart
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "kmsg \(path)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended (within about 100 ms).
    public func stop() {
        reader.stop()
    }

    /// The text of the notice for an open or read failure with errno `e`.
    public static func failureText(path: String, errno e: Int32) -> String {
        var text = "cannot read \(path): \(describeErrno(e))"
        if e == EACCES || e == EPERM { text += "; run as root or set kernel.dmesg_restrict=0" }
        return text + "; the kernel log is not watched"
    }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
        } catch {
            let text = Self.failureText(path: path, errno: error.rawValue)
            sink.notice(.kernel, error == .permissionDenied || error == .notPermitted ? .permissionDenied(text) : .lost(text),
                        at: MonotonicClock.read())
            return
        }
        defer { fd.close() }
        if let st = try? fd.status(), st.st_mode & S_IFMT == S_IFDIR {
            sink.notice(.kernel, .lost(Self.failureText(path: path, errno: EISDIR)), at: MonotonicClock.read())
            return
        }
        if !fromStart { _ = try? fd.seek(from: .end) }
        sink.notice(.kernel, .opened(path), at: MonotonicClock.read())

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        var sequence = KmsgSequence()
        var overwritten = false
        while !t.isStopping {
            guard let events = try? fd.poll(for: .readable, timeout: 100_000_000), !events.isEmpty else { continue }
            // Drain what is there (bounded, so a flood cannot keep stop() waiting).
            for _ in 0..<256 {
                let n: Int
                do {
                    n = try fd.read(into: buffer)
                } catch {
                    let at = MonotonicClock.read()
                    if error == .wouldBlock { break }
                    if error == .brokenPipe {
                        overwritten = true
                        if sequence.last == nil {
                            sink.notice(.kernel, .overrun(missed: 0), at: at)
                            overwritten = false
                        }
                        continue
                    }
                    sink.notice(.kernel, .lost(Self.failureText(path: path, errno: error.rawValue)), at: at)
                    return
                }
                let at = MonotonicClock.read()
                if n > 0 {
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                    guard let record = KmsgRecord.parse(bytes) else {
                        sink.line(KmsgRecord.plainLine(bytes, at: at))
                        continue
                    }
                    let missed = sequence.observe(record.seq)
                    if missed > 0 || overwritten {
                        sink.notice(.kernel, .overrun(missed: missed), at: at)
                        overwritten = false
                    }
                    sink.line(record.line(at: at))
                    continue
                }
                // Not /dev/kmsg (a regular file at its end): wait.
                if !t.sleep(100_000_000) { return }
                break
            }
        }
    }
}

// MARK: - A file in kmsg format

/// A kernel log kept in a growing file, one record per line in the /dev/kmsg format
/// (`3,4,66410,-;imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)`), as the simulator
/// writes it; a line not in record format is taken as plain text (level nil), and a line that
/// starts with a space right after a record is its continuation (ignored, as in /dev/kmsg).
///
/// Polls every `pollInterval` (50 ms): reads what was appended (lines split by LineSplitter, a
/// partial last line waits for its newline), stamped with MonotonicClock.read() after the read.
/// Starts at the beginning (default: the simulator makes the file fresh per run) or, with
/// `fromStart: false`, at the end of a file that exists at start (a file that appears later is
/// read from its beginning). A file that does not exist yet is waited for (a `.lost`
/// notice only if it is still missing after `missingNoticeAfter`); `.opened(path)` each time it
/// is opened. A replaced file (another inode at the path) is read to its end, then the new one
/// is read from its start; a truncated file (smaller than what was read) is read again from its
/// start (both notice `.opened(path)`). No sequence-gap detection: such files are often
/// filtered. EACCES/EPERM on open notices `.permissionDenied` and ends the thread.
public final class KmsgFileSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .kernel
    public let path: String
    public let fromStart: Bool
    public let pollInterval: UInt64
    public let missingNoticeAfter: UInt64

    private let reader = ReaderSlot()

    public init(path: String, fromStart: Bool = true, pollInterval: UInt64 = 50_000_000,
                missingNoticeAfter: UInt64 = 2_000_000_000) {
        self.path = path
        self.fromStart = fromStart
        self.pollInterval = pollInterval
        self.missingNoticeAfter = missingNoticeAfter
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "kmsg file \(path)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended (within about `pollInterval`); a partial last line is
    /// delivered first.
    public func stop() {
        reader.stop()
    }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var splitter = LineSplitter(source: .kernel)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var fd: FileDescriptor?
        var identity: (dev: UInt64, ino: UInt64)?
        var firstOpen = true
        var missingReported = false
        let waitingSince = MonotonicClock.read()
        var lastWasRecord = false

        func deliver(_ line: SourceLine) {
            if line.text.first == " " && lastWasRecord { return }  // a continuation line
            if let record = KmsgRecord.parse(line.text) {
                lastWasRecord = true
                sink.line(record.line(at: line.at))
            } else {
                lastWasRecord = false
                sink.line(line)  // plain text, already cleaned by the splitter; level nil
            }
        }
        func drain() {
            guard let fd else { return }
            while !t.isStopping {
                guard let n = try? fd.read(into: buffer), n > 0 else { return }
                let at = MonotonicClock.read()
                splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: at, deliver)
            }
        }
        func endOfFile() {
            if let line = splitter.flush() { deliver(line) }
            lastWasRecord = false
        }
        defer {
            if let fd { endOfFile(); fd.close() }
        }

        while !t.isStopping {
            let file: FileDescriptor
            if let fd {
                file = fd
            } else {
                do {
                    file = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
                } catch {
                    if error == .permissionDenied || error == .notPermitted {
                        sink.notice(.kernel, .permissionDenied(KmsgSource.failureText(path: path, errno: error.rawValue)),
                                    at: MonotonicClock.read())
                        return
                    }
                    firstOpen = false  // it did not exist at start: when it comes, read it all
                    let now = MonotonicClock.read()
                    if !missingReported && now &- waitingSince >= missingNoticeAfter {
                        let why = error == .noSuchFileOrDirectory ? "\(path) does not exist (yet); waiting for it"
                                              : "cannot open \(path): \(error); retrying"
                        sink.notice(.kernel, .lost(why), at: now)
                        missingReported = true
                    }
                    if !t.sleep(pollInterval) { return }
                    continue
                }
                fd = file
                identity = (try? file.status()).map { (UInt64($0.st_dev), UInt64($0.st_ino)) }
                if firstOpen && !fromStart { _ = try? file.seek(from: .end) }
                firstOpen = false
                missingReported = false
                splitter.reset()
                lastWasRecord = false
                sink.notice(.kernel, .opened(path), at: MonotonicClock.read())
            }

            drain()

            // Truncated: what we read is longer than the file now.
            if let st = try? file.status(), let position = try? file.seek(from: .current), Int64(st.st_size) < position {
                _ = try? file.seek(from: .start)
                splitter.reset()
                lastWasRecord = false
                sink.notice(.kernel, .opened(path), at: MonotonicClock.read())
                continue
            }
            // Replaced: another file at the path now (the old one has been read to its end).
            var now = stat()
            if stat(path, &now) == 0, let id = identity,
               UInt64(now.st_dev) != id.dev || UInt64(now.st_ino) != id.ino {
                endOfFile()
                file.close()
                fd = nil
                continue
            }
            if !t.sleep(pollInterval) { return }
        }
    }
}
