/// The frame every message carries, so the verifier can find messages again in a byte stream
/// that the driver cut into 256-byte chunks and the tty may have merged or split:
///
///     "#R" | seq: 8 hex | length: 3 hex | payload | CRC-32: 8 hex
///
/// `length` is the whole frame (at most 496, the M7's rpmsg payload); the CRC covers every
/// byte before it. Header and CRC are ASCII hex, so a `printable` frame holds only bytes
/// 0x21...0x7E: it survives the firmware's `%s` print (no NUL) and a tty left in cooked mode.
public enum FrameCodec {
    public static let magic0: UInt8 = 0x23  // '#'
    public static let magic1: UInt8 = 0x52  // 'R'
    public static let headerSize = 13
    public static let crcSize = 8
    public static let minFrameSize = headerSize + crcSize
    /// 512-byte rpmsg buffers less the 16-byte rpmsg header.
    public static let maxFrameSize = 496
    /// The M7 firmware queues 256 messages; more in flight are dropped silently.
    public static let maxInFlight = 256

    /// Writes a complete frame of `length` bytes for `seq` into `out` (which must hold `length`).
    @inlinable
    public static func encode(seq: UInt32, length: Int, payload: PayloadEncoding, seed: UInt64,
                              into out: UnsafeMutableRawBufferPointer) {
        precondition(length >= minFrameSize && length <= maxFrameSize && out.count >= length)
        let p = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        p[0] = magic0
        p[1] = magic1
        writeHex(UInt64(seq), digits: 8, to: p + 2)
        writeHex(UInt64(length), digits: 3, to: p + 10)
        fillPayload(p + headerSize, count: length - minFrameSize, seq: seq, encoding: payload, seed: seed)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(start: p, count: length - crcSize))
        writeHex(UInt64(crc), digits: 8, to: p + length - crcSize)
    }

    /// The header of a frame starting at `p` (at least `headerSize` bytes readable), or nil
    /// when these bytes cannot be the start of a frame.
    @inlinable
    public static func parseHeader(_ p: UnsafePointer<UInt8>) -> (seq: UInt32, length: Int)? {
        guard p[0] == magic0, p[1] == magic1,
              let seq = readHex(p + 2, digits: 8), let len = readHex(p + 10, digits: 3),
              len >= UInt64(minFrameSize), len <= UInt64(maxFrameSize) else { return nil }
        return (UInt32(truncatingIfNeeded: seq), Int(len))
    }

    /// True when the CRC at the end of the `length` bytes at `p` matches the bytes before it.
    @inlinable
    public static func crcMatches(_ p: UnsafePointer<UInt8>, length: Int) -> Bool {
        guard let stored = readHex(p + length - crcSize, digits: 8) else { return false }
        return UInt32(truncatingIfNeeded: stored) == CRC32.checksum(UnsafeRawBufferPointer(start: p, count: length - crcSize))
    }

    /// Deterministic payload: the same (seed, seq) gives the same bytes in every run.
    @inlinable
    static func fillPayload(_ p: UnsafeMutablePointer<UInt8>, count: Int, seq: UInt32, encoding: PayloadEncoding, seed: UInt64) {
        var state = seed ^ (UInt64(seq) &* 0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03
        var i = 0
        // Whole words first: the same bytes as the loop below (the generator's low byte first),
        // eight at a time. A 496-byte frame is 59 of them.
        let raw = UnsafeMutableRawPointer(p)
        if encoding == .binary {
            while i + 8 <= count {
                raw.storeBytes(of: SplitMix64.next(&state).littleEndian, toByteOffset: i, as: UInt64.self)
                i += 8
            }
        } else {
            while i + 8 <= count {
                let r = SplitMix64.next(&state)
                var k = 0
                while k < 8 {
                    p[i + k] = 0x21 &+ UInt8((UInt16(UInt8(truncatingIfNeeded: r >> (8 * UInt64(k)))) &* 94) >> 8)
                    k += 1
                }
                i += 8
            }
        }
        while i < count {
            var r = SplitMix64.next(&state)
            var k = 0
            while k < 8 && i < count {
                let byte = UInt8(truncatingIfNeeded: r)
                // 94 printable values: 0x21 ... 0x7E. (byte * 94) >> 8 is a fair enough spread.
                p[i] = encoding == .printable ? 0x21 &+ UInt8((UInt16(byte) &* 94) >> 8) : byte
                r >>= 8
                k += 1
                i += 1
            }
        }
    }

    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    @inlinable
    static func writeHex(_ value: UInt64, digits: Int, to p: UnsafeMutablePointer<UInt8>) {
        var v = value
        var i = digits - 1
        while i >= 0 {
            p[i] = hexDigits.withUnsafeBufferPointer { $0[Int(v & 0xF)] }
            v >>= 4
            i -= 1
        }
    }

    @inlinable
    static func readHex(_ p: UnsafePointer<UInt8>, digits: Int) -> UInt64? {
        var v: UInt64 = 0
        for i in 0..<digits {
            let c = p[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c &- 0x30
            case 0x41...0x46: d = c &- 0x41 &+ 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }
}

/// SplitMix64: a tiny, fast, seedable generator; the same sequence on every platform.
public enum SplitMix64 {
    @inlinable
    public static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib), slice-by-16 over a table built once (16 KiB): a
/// 496-byte frame is 30 steps of 16 bytes, each 16 independent table look-ups.
public enum CRC32 {
    @usableFromInline static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for s in 1..<16 { t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[Int(t[(s - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xFFFF_FFFF
            guard let base = bytes.baseAddress else { return 0 }
            var p = base.assumingMemoryBound(to: UInt8.self)
            var n = bytes.count
            while n >= 16 {
                let w0 = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
                let w1 = UInt64(littleEndian: UnsafeRawPointer(p + 8).loadUnaligned(as: UInt64.self))
                let x = crc ^ UInt32(truncatingIfNeeded: w0)
                let a = UInt32(truncatingIfNeeded: w0 >> 32)
                let b = UInt32(truncatingIfNeeded: w1), c = UInt32(truncatingIfNeeded: w1 >> 32)
                let c0 = t[15 * 256 + Int(x & 0xFF)] ^ t[14 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[13 * 256 + Int((x >> 16) & 0xFF)] ^ t[12 * 256 + Int(x >> 24)]
                let c1 = t[11 * 256 + Int(a & 0xFF)] ^ t[10 * 256 + Int((a >> 8) & 0xFF)]
                    ^ t[9 * 256 + Int((a >> 16) & 0xFF)] ^ t[8 * 256 + Int(a >> 24)]
                let c2 = t[7 * 256 + Int(b & 0xFF)] ^ t[6 * 256 + Int((b >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((b >> 16) & 0xFF)] ^ t[4 * 256 + Int(b >> 24)]
                let c3 = t[3 * 256 + Int(c & 0xFF)] ^ t[2 * 256 + Int((c >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((c >> 16) & 0xFF)] ^ t[Int(c >> 24)]
                crc = c0 ^ c1 ^ c2 ^ c3
                p += 16
                n -= 16
            }
            while n >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word), hi = UInt32(truncatingIfNeeded: word >> 32)
                let x = crc ^ lo
                crc = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p[0])) & 0xFF)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
            return crc ^ 0xFFFF_FFFF
        }
    }
}
