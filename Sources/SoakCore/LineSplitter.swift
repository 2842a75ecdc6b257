/// Turns the raw byte stream of a serial console (or any text log) into clean, bounded lines.
///
/// - Lines end at CR, LF or CR LF. A CR LF pair split across two reads is still one terminator
///   (no empty extra line). Empty lines are dropped unless `keepEmptyLines` is set.
/// - ANSI/VT100 escape sequences are removed: CSI (`ESC [` parameters, intermediates, a final
///   byte 0x40-0x7E), OSC (`ESC ]` ... BEL or `ESC \`) and two-byte sequences (`ESC` + one
///   byte). A line terminator always ends a line, even inside an unfinished sequence.
/// - NUL is dropped. TAB is kept. Other C0 control bytes and DEL become U+FFFD, as does invalid
///   UTF-8 (decoded with replacement when the line is emitted).
/// - A line is cut at `maxLength` bytes (of cleaned UTF-8; a multi-byte character is never
///   split). The cut is emitted AS SOON AS the limit is reached, with `cutMarker` (" [cut]")
///   appended; the rest of that line is discarded up to its terminator. So however long a line
///   without a terminator is, the splitter holds at most `maxLength` bytes and gives at most one
///   line for it.
/// - Each line carries the timestamp of the read that delivered its first byte.
///
/// Pure: no system calls. Not thread-safe (one splitter per reader thread).
public struct LineSplitter: Sendable {
    public static let defaultMaxLength = 4096
    public static let cutMarker = " [cut]"

    public let source: SourceLine.Source
    public let maxLength: Int
    public let keepEmptyLines: Bool
    /// How many lines were cut at `maxLength` so far.
    public private(set) var cutLines: UInt64 = 0

    private enum Escape: Sendable { case none, esc, csi, osc, oscEsc }

    private var buffer: [UInt8]
    private var lineStart: UInt64 = 0
    private var lineStarted = false
    private var discarding = false
    private var lastWasCR = false
    private var escape: Escape = .none

    public init(source: SourceLine.Source = .uart, maxLength: Int = LineSplitter.defaultMaxLength,
                keepEmptyLines: Bool = false) {
        self.source = source
        self.maxLength = max(16, maxLength)
        self.keepEmptyLines = keepEmptyLines
        buffer = []
        buffer.reserveCapacity(self.maxLength + 4)
    }

    /// Bytes of the current partial line held now (never more than `maxLength`).
    public var bufferedByteCount: Int { buffer.count }
    /// The capacity of the partial-line storage: stays about `maxLength` whatever is fed.
    public var storageCapacity: Int { buffer.capacity }

    /// Feeds the bytes of one read taken at `at` (monotonic ns); calls `emit` for every line
    /// completed by them.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, at: UInt64, _ emit: (SourceLine) -> Void) {
        for byte in bytes { step(byte, at: at, emit) }
    }

    /// Feeds the bytes of one read taken at `at`; returns the lines completed by them.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, at: UInt64) -> [SourceLine] {
        var out: [SourceLine] = []
        feed(bytes, at: at) { out.append($0) }
        return out
    }

    /// Feeds the bytes of one read taken at `at`; returns the lines completed by them.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, at: UInt64) -> [SourceLine] {
        bytes.withUnsafeBytes { feed($0, at: at) }
    }

    /// Feeds the bytes of one read taken at `at`; calls `emit` for every line completed by them.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, at: UInt64, _ emit: (SourceLine) -> Void) {
        bytes.withUnsafeBytes { feed($0, at: at, emit) }
    }

    /// Ends the partial line, if any (the device went away, the file was replaced): returns it,
    /// unless it was empty or already emitted as a cut line. Resets all state, including a
    /// pending CR and an unfinished escape sequence.
    public mutating func flush() -> SourceLine? {
        defer { reset() }
        guard lineStarted, !discarding else { return nil }
        if buffer.isEmpty && !keepEmptyLines { return nil }
        return makeLine(cut: false)
    }

    /// Forgets the partial line without emitting it.
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        lineStarted = false
        discarding = false
        lastWasCR = false
        escape = .none
    }

    // MARK: - The byte machine

    @inline(__always)
    private mutating func step(_ byte: UInt8, at: UInt64, _ emit: (SourceLine) -> Void) {
        if byte == 0x0A || byte == 0x0D {
            let isLF = byte == 0x0A
            defer { lastWasCR = !isLF }
            if isLF && lastWasCR && !lineStarted { return }  // the LF of a CR LF
            endLine(at: at, emit)
            return
        }
        lastWasCR = false
        if !lineStarted {
            lineStarted = true
            lineStart = at
        }
        switch escape {
        case .none:
            break
        case .esc:
            switch byte {
            case UInt8(ascii: "["): escape = .csi
            case UInt8(ascii: "]"): escape = .osc
            case 0x1B: escape = .esc
            default: escape = .none
            }
            return
        case .csi:
            if byte >= 0x40 && byte <= 0x7E { escape = .none; return }
            if byte >= 0x20 && byte <= 0x3F { return }
            escape = .none  // not a CSI after all: treat the byte as text
        case .osc:
            if byte == 0x07 { escape = .none; return }
            if byte == 0x1B { escape = .oscEsc; return }
            if byte >= 0x20 { return }
            escape = .none
        case .oscEsc:
            escape = byte == UInt8(ascii: "\\") ? .none : (byte == 0x1B ? .oscEsc : .osc)
            return
        }
        switch byte {
        case 0x00:
            return
        case 0x1B:
            escape = .esc
        case 0x09:
            append(byte, emit)
        case 0x01...0x1F, 0x7F:
            append(0xEF, emit); append(0xBF, emit); append(0xBD, emit)  // U+FFFD
        default:
            append(byte, emit)
        }
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8, _ emit: (SourceLine) -> Void) {
        if discarding { return }
        if buffer.count < maxLength {
            buffer.append(byte)
            return
        }
        // The limit is reached: emit the kept part now, drop the rest up to the terminator.
        trimIncompleteUTF8Tail()
        cutLines &+= 1
        emit(makeLine(cut: true))
        buffer.removeAll(keepingCapacity: true)
        discarding = true
    }

    private mutating func endLine(at: UInt64, _ emit: (SourceLine) -> Void) {
        defer {
            buffer.removeAll(keepingCapacity: true)
            lineStarted = false
            discarding = false
            escape = .none
        }
        if discarding { return }
        if !lineStarted { lineStart = at }
        if buffer.isEmpty && !keepEmptyLines { return }
        emit(makeLine(cut: false))
    }

    private func makeLine(cut: Bool) -> SourceLine {
        var text = String(decoding: buffer, as: UTF8.self)
        if cut { text += Self.cutMarker }
        return SourceLine(source: source, at: lineStart, text: text)
    }

    /// Drops a multi-byte UTF-8 character left incomplete at the end of the buffer by the cut.
    private mutating func trimIncompleteUTF8Tail() {
        var i = buffer.count - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && buffer[i] & 0xC0 == 0x80 { i -= 1; continuation += 1 }
        guard i >= 0 else { return }
        let lead = buffer[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0...0xEF: needed = 2
        case 0xF0...0xF4: needed = 3
        default: return
        }
        if continuation < needed { buffer.removeSubrange(i...) }
    }
}
