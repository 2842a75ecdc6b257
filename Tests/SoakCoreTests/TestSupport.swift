@testable import SoakCore

/// Nanoseconds, for readable literal times.
let us: UInt64 = 1_000
let ms: UInt64 = 1_000_000
let sec: UInt64 = 1_000_000_000

/// A complete frame as the tester would put it on the wire.
func makeFrame(seq: UInt64, length: Int = 64, payload: PayloadEncoding = .printable, seed: UInt64 = 1) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: length)
    bytes.withUnsafeMutableBytes {
        FrameCodec.encode(seq: UInt32(truncatingIfNeeded: seq), length: length, payload: payload, seed: seed, into: $0)
    }
    return bytes
}

func parseHeader(_ bytes: [UInt8]) -> (seq: UInt32, length: Int)? {
    bytes.withUnsafeBufferPointer { FrameCodec.parseHeader($0.baseAddress!) }
}

func crcMatches(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { FrameCodec.crcMatches($0.baseAddress!, length: bytes.count) }
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { CRC32.checksum($0) }
}

/// Bit-by-bit CRC-32 (IEEE, reflected): the textbook definition, to check the table version.
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

func phase(_ name: String = "p", duration: SoakDuration = .seconds(60), rate: Rate = .perSecond(100),
           size: SizeSpec = .fixed(64), burst: Burst? = nil, window: Int = 1,
           payload: PayloadEncoding = .printable) -> Phase {
    Phase(name: name, duration: duration, rate: rate, size: size, burst: burst, window: window, payload: payload)
}
