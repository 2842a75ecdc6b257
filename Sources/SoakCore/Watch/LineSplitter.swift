/// Turns the raw byte stream of a serial console (or any text log) into clean, bounded lines.
///
/// - Lines end at CR, LF or CR LF. A CR LF pair split across two reads is still one terminator
///   (no empty extra line). Empty lines are dropped unless `keepEmptyLines` is set.
/// - ANSI/VT100 escape sequences are removed: CSI (`ESC [` parameters, intermediates, a final
///   byte 0x40-0x7E), OSC (`ESC ]` ... BEL or `ESC \`), `ESC` + intermediates 0x20-0x2F + a
///   final byte (`ESC ( B`) and two-byte sequences (`ESC` + one byte). A line terminator
///   always ends a line, even inside an unfinished sequence.
/// - NUL is dropped. TAB is kept. Other C0 control bytes and DEL become U+FFFD, as does invalid
///   UTF-8 (validated as the bytes come: overlong forms, surrogates, stray continuation bytes,
///   unfinished characters each give one U+FFFD).
/// - A line is cut at `maxLength` bytes of the emitted UTF-8 text (before the marker; a
///   multi-byte character is never split). The cut is emitted AS SOON AS the limit is reached,
///   with `cutMarker` (" [cut]") appended; the rest of that line is discarded up to its
///   terminator. So however long a line without a terminator is, the splitter holds at most
///   `maxLength` bytes and gives at most one line for it.
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

    private enum Escape: Sendable { case none, esc, escIntermediate, csi, osc, oscEsc }

    private var buffer: [UInt8]
    private var lineStart: UInt64 = 0
    private var lineStarted = false
    private var discarding = false
    private var lastWasCR = false
    private var escape: Escape = .none
    private var pending: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    private var pendingCount = 0
    private var pendingNeed = 0
    private var pendingLow: UInt8 = 0x80
    private var pendingHigh: UInt8 = 0xBF

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
        if pendingNeed > 0 {  // an unfinished character at the end: U+FFFD (which may cut)
            var cutLine: SourceLine?
            replacement { cutLine = $0 }
            if let cutLine { return cutLine }
        }
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
        pendingNeed = 0
        pendingCount = 0
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
        if byte == 0x00 { return }  // NUL: dropped, as if never sent
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
            case UInt8(ascii: "["): escape = .csi; return
            case UInt8(ascii: "]"): escape = .osc; return
            case 0x1B: return
            case 0x20...0x2F: escape = .escIntermediate; return
            case 0x30...0x7E: escape = .none; return
            default: escape = .none  // not an escape sequence: the byte is text (or a control)
            }
        case .escIntermediate:
            if byte >= 0x20 && byte <= 0x2F { return }
            escape = .none
            if byte >= 0x30 && byte <= 0x7E { return }
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
        case 0x1B:
            escape = .esc
        case 0x09:
            text(byte, emit)
        case 0x01...0x1F, 0x7F:
            replacement(emit)
        default:
            text(byte, emit)
        }
    }

    // MARK: - UTF-8, validated as it comes, so the buffer only ever holds whole valid characters

    /// A byte of text: ASCII goes straight in; a multi-byte character is collected in `pending`
    /// and goes in when complete; anything invalid becomes U+FFFD.
    @inline(__always)
    private mutating func text(_ byte: UInt8, _ emit: (SourceLine) -> Void) {
        if pendingNeed > 0 {
            if byte >= pendingLow && byte <= pendingHigh {
                switch pendingCount {
                case 1: pending.1 = byte
                case 2: pending.2 = byte
                default: pending.3 = byte
                }
                pendingCount += 1
                pendingNeed -= 1
                pendingLow = 0x80; pendingHigh = 0xBF
                if pendingNeed == 0 {
                    let (a, b, c, d) = pending
                    switch pendingCount {
                    case 2: commit(a, b, emit)
                    case 3: commit(a, b, c, emit)
                    default: commit(a, b, c, d, emit)
                    }
                    pendingCount = 0
                }
                return
            }
            replacement(emit)  // an unfinished character; then the byte on its own
        }
        switch byte {
        case 0x00...0x7F: commit(byte, emit)
        case 0xC2...0xDF: startCharacter(byte, need: 1, low: 0x80, high: 0xBF)
        case 0xE0: startCharacter(byte, need: 2, low: 0xA0, high: 0xBF)
        case 0xED: startCharacter(byte, need: 2, low: 0x80, high: 0x9F)
        case 0xE1...0xEF: startCharacter(byte, need: 2, low: 0x80, high: 0xBF)
        case 0xF0: startCharacter(byte, need: 3, low: 0x90, high: 0xBF)
        case 0xF1...0xF3: startCharacter(byte, need: 3, low: 0x80, high: 0xBF)
        case 0xF4: startCharacter(byte, need: 3, low: 0x80, high: 0x8F)
        default: replacement(emit)
        }
    }

    private mutating func startCharacter(_ lead: UInt8, need: Int, low: UInt8, high: UInt8) {
        pending.0 = lead
        pendingCount = 1
        pendingNeed = need
        pendingLow = low
        pendingHigh = high
    }

    /// U+FFFD, ending an unfinished character first.
    private mutating func replacement(_ emit: (SourceLine) -> Void) {
        pendingNeed = 0
        pendingCount = 0
        commit(0xEF, 0xBF, 0xBD, emit)
    }

    @inline(__always)
    private mutating func commit(_ a: UInt8, _ emit: (SourceLine) -> Void) {
        guard room(for: 1, emit) else { return }
        buffer.append(a)
    }

    private mutating func commit(_ a: UInt8, _ b: UInt8, _ emit: (SourceLine) -> Void) {
        guard room(for: 2, emit) else { return }
        buffer.append(a); buffer.append(b)
    }

    private mutating func commit(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ emit: (SourceLine) -> Void) {
        guard room(for: 3, emit) else { return }
        buffer.append(a); buffer.append(b); buffer.append(c)
    }

    private mutating func commit(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ emit: (SourceLine) -> Void) {
        guard room(for: 4, emit) else { return }
        buffer.append(a); buffer.append(b); buffer.append(c); buffer.append(d)
    }

    /// Whether `count` more bytes fit; when they do not, the kept part is emitted now as a cut
    /// line and the rest of the line is dropped up to its terminator.
    @inline(__always)
    private mutating func room(for count: Int, _ emit: (SourceLine) -> Void) -> Bool {
        if discarding { return false }
        if buffer.count + count <= maxLength { return true }
        cutLines &+= 1
        emit(makeLine(cut: true))
        buffer.removeAll(keepingCapacity: true)
        discarding = true
        return false
    }

    private mutating func endLine(at: UInt64, _ emit: (SourceLine) -> Void) {
        defer {
            buffer.removeAll(keepingCapacity: true)
            lineStarted = false
            discarding = false
            escape = .none
        }
        if pendingNeed > 0 { replacement(emit) }
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
}
