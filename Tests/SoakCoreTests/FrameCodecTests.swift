import Testing
@testable import SoakCore

@Suite("FrameCodec")
struct FrameCodecTests {
    static let sizes = [21, 64, 256, 496]
    static let encodings: [PayloadEncoding] = [.printable, .binary]

    @Test("encode, parseHeader and crcMatches round trip", arguments: sizes, encodings)
    func roundTrip(length: Int, payload: PayloadEncoding) {
        for seq: UInt64 in [0, 1, 42, 0xFFFF_FFFF] {
            let frame = makeFrame(seq: seq, length: length, payload: payload, seed: 7)
            #expect(frame.count == length)
            let header = parseHeader(frame)
            #expect(header?.seq == UInt32(seq))
            #expect(header?.length == length)
            #expect(crcMatches(frame))
        }
    }

    @Test("the header is ASCII: magic, 8 hex digits of seq, 3 of length")
    func headerText() {
        let frame = makeFrame(seq: 42, length: 64)
        #expect(String(decoding: frame[0..<13], as: UTF8.self) == "#R0000002A040")
        let crcText = String(decoding: frame[56...], as: UTF8.self)
        #expect(crcText == String(crc32(Array(frame[0..<56])), radix: 16, uppercase: true).leftPadded(to: 8))
    }

    @Test("a printable frame holds only bytes 0x21...0x7E, header and CRC included")
    func printableOnly() {
        var offending: [(seq: UInt64, index: Int, byte: UInt8)] = []
        for seed: UInt64 in [1, 2, 0xDEAD_BEEF] {
            for seq: UInt64 in 0..<100 {
                for length in Self.sizes {
                    let frame = makeFrame(seq: seq, length: length, payload: .printable, seed: seed)
                    for (i, b) in frame.enumerated() where !(0x21...0x7E).contains(b) {
                        offending.append((seq, i, b))
                    }
                }
            }
        }
        #expect(offending.isEmpty, "bytes outside 0x21...0x7E: \(offending.prefix(5))")
    }

    @Test("a binary payload uses bytes a printable one never does")
    func binaryUsesAllBytes() {
        let frame = makeFrame(seq: 3, length: 496, payload: .binary)
        let payload = frame[13..<(496 - 8)]
        #expect(payload.contains { $0 < 0x21 || $0 > 0x7E })
    }

    @Test("the payload is deterministic for (seed, seq) and differs between messages")
    func deterministicPayload() {
        #expect(makeFrame(seq: 5, length: 128, seed: 9) == makeFrame(seq: 5, length: 128, seed: 9))
        #expect(makeFrame(seq: 5, length: 128, seed: 9)[13..<120] != makeFrame(seq: 6, length: 128, seed: 9)[13..<120])
        #expect(makeFrame(seq: 5, length: 128, seed: 9)[13..<120] != makeFrame(seq: 5, length: 128, seed: 10)[13..<120])
    }

    @Test("any single flipped bit makes crcMatches false", arguments: [21, 64, 496], encodings)
    func flippedBit(length: Int, payload: PayloadEncoding) {
        let frame = makeFrame(seq: 0x1234_5678, length: length, payload: payload, seed: 3)
        #expect(crcMatches(frame))
        var undetected: [(index: Int, bit: Int)] = []
        for i in 0..<length {
            for bit in 0..<8 {
                var damaged = frame
                damaged[i] ^= 1 << UInt8(bit)
                if crcMatches(damaged) { undetected.append((i, bit)) }
            }
        }
        #expect(undetected.isEmpty, "flips not detected: \(undetected.prefix(5))")
    }

    @Test("parseHeader rejects what cannot start a frame")
    func headerRejects() {
        var frame = makeFrame(seq: 1, length: 64)
        frame[0] = 0x24
        #expect(parseHeader(frame) == nil)
        frame = makeFrame(seq: 1, length: 64)
        frame[5] = 0x61  // lowercase 'a' is not a hex digit here
        #expect(parseHeader(frame) == nil)
        // A length below the minimum frame or above the M7 buffer.
        for text in ["#R00000001014", "#R000000011F1"] {
            #expect(parseHeader(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(parseHeader(Array("#R00000001015".utf8))?.length == 21)
        #expect(parseHeader(Array("#R000000011F0".utf8))?.length == 496)
    }

    @Test("CRC-32 of \"123456789\" is 0xCBF43926")
    func crcCheckValue() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(crc32([]) == 0)
    }

    @Test("the slice-by-8 CRC matches the bitwise definition at every length and alignment")
    func crcMatchesReference() {
        var state: UInt64 = 11
        let data = (0..<600).map { _ in UInt8(truncatingIfNeeded: SplitMix64.next(&state)) }
        for start in 0..<8 {
            for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 488, 591] where start + length <= data.count {
                let slice = Array(data[start..<(start + length)])
                #expect(crc32(slice) == referenceCRC32(slice), "start \(start) length \(length)")
            }
        }
    }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}
