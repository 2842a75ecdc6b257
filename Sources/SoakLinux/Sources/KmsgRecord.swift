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
