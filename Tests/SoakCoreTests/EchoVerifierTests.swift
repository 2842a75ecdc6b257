import Testing
@testable import SoakCore

/// A verifier with the frames it was told were sent, so a test can echo, drop, repeat or damage them.
struct Bench {
    var verifier = EchoVerifier(lossTimeout: .milliseconds(100))
    var frames: [[UInt8]] = []
    var t0: UInt64 = 1 * sec

    /// Sends `count` frames at `at` and returns their sequence numbers.
    @discardableResult
    mutating func send(_ count: Int, length: Int = 64, payload: PayloadEncoding = .printable, at: UInt64) -> [UInt64] {
        (0..<count).map { _ in
            let seq = verifier.registerSent(length: length, at: at)
            #expect(Int(seq) == frames.count)
            frames.append(makeFrame(seq: seq, length: length, payload: payload))
            return seq
        }
    }

    mutating func echo(_ seq: Int, at: UInt64) { verifier.ingest(frames[seq], at: at) }
    mutating func echo(bytes: [UInt8], at: UInt64) { verifier.ingest(bytes, at: at) }

    mutating func anomalies() -> [Anomaly] {
        var out: [Anomaly] = []
        verifier.drainAnomalies { out.append($0) }
        return out
    }

    var counters: Counters { verifier.counters }
}

@Suite("EchoVerifier")
struct EchoVerifierTests {
    @Test("all echoed in order: echoed == n, nothing else, latency is the injected delay")
    func allEchoedInOrder() {
        var b = Bench()
        let n = 10
        let delay = 2_500 * us
        for i in 0..<n {
            let sentAt = b.t0 + UInt64(i) * ms
            b.send(1, at: sentAt)
            b.echo(i, at: sentAt + delay)
        }
        b.verifier.expire(now: b.t0 + 10 * sec)

        var expected = Counters()
        expected.sent = UInt64(n)
        expected.echoed = UInt64(n)
        expected.bytesSent = UInt64(64 * n)
        expected.bytesEchoed = UInt64(64 * n)
        #expect(b.counters == expected)
        #expect(b.verifier.outstanding == 0)
        #expect(b.verifier.nextExpiry == nil)
        let drained = b.anomalies()
        #expect(drained.isEmpty)

        #expect(b.verifier.latency.totalCount == UInt64(n))
        let latency = LatencyCounts(sparse: b.verifier.latency.sparseBuckets)
        let p50 = latency.value(atPercentile: 50)
        #expect(LatencyCounts.highestEquivalent(p50) == LatencyCounts.highestEquivalent(2_500), "p50 \(p50) us")
        #expect(p50 >= 2_497 && p50 <= 2_503, "p50 \(p50) us")
    }

    @Test("a frame never echoed is lost exactly once, and only after loss_timeout")
    func oneLost() {
        var b = Bench()
        b.send(3, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        b.echo(2, at: b.t0 + 2 * ms)
        #expect(b.verifier.nextExpiry == b.t0 + 100 * ms)

        b.verifier.expire(now: b.t0 + 100 * ms - 1)
        #expect(b.counters.lost == 0)
        #expect(b.verifier.outstanding == 1)

        b.verifier.expire(now: b.t0 + 100 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.lost == 1)
        #expect(b.counters.echoed == 2)
        #expect(b.counters.corrupted == 0 && b.counters.outOfOrder == 0 && b.counters.duplicated == 0)
        #expect(b.verifier.outstanding == 0)
        let drained = b.anomalies()
        #expect(drained == [Anomaly(kind: .lost, seq: 1, at: b.t0 + 100 * ms, latencyMicros: 0)])
    }

    @Test("a frame echoed twice is one duplicate")
    func duplicate() {
        var b = Bench()
        b.send(2, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        b.echo(0, at: b.t0 + 2 * ms)
        b.echo(1, at: b.t0 + 3 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.duplicated == 1)
        #expect(b.counters.echoed == 2)
        #expect(b.counters.lost == 0 && b.counters.outOfOrder == 0 && b.counters.corrupted == 0)
        let drained = b.anomalies()
        #expect(drained.map(\.kind) == [.duplicated])
    }

    @Test("frames echoed 0, 2, 1: one out of order")
    func outOfOrder() {
        var b = Bench()
        b.send(3, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        b.echo(2, at: b.t0 + 2 * ms)
        b.echo(1, at: b.t0 + 3 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.outOfOrder == 1)
        #expect(b.counters.echoed == 3)
        #expect(b.counters.lost == 0 && b.counters.duplicated == 0 && b.counters.corrupted == 0)
        let anomalies = b.anomalies()
        #expect(anomalies.map(\.kind) == [.outOfOrder])
        #expect(anomalies.first?.seq == 1)
        #expect(anomalies.first?.latencyMicros == 3_000)
    }

    @Test("one bit flipped in the payload: corrupted, not lost", arguments: [PayloadEncoding.printable, .binary])
    func payloadBitFlip(payload: PayloadEncoding) {
        var b = Bench()
        b.send(3, payload: payload, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        var damaged = b.frames[1]
        damaged[30] ^= 0x04
        b.echo(bytes: damaged, at: b.t0 + 2 * ms)
        b.echo(2, at: b.t0 + 3 * ms)
        #expect(b.counters.corrupted == 1)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.corrupted == 1)
        #expect(b.counters.lost == 0)
        #expect(b.counters.echoed == 2)
        #expect(b.counters.strayBytes == 0)
        #expect(b.verifier.outstanding == 0)
        let drained = b.anomalies()
        #expect(drained.map { "\($0.kind) \($0.seq)" } == ["corrupted 1"])
    }

    @Test("one bit flipped in the magic: the unreadable frame is the missing seq, corrupted not lost",
          arguments: [0, 1])
    func magicBitFlip(byte: Int) {
        var b = Bench()
        b.send(3, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        var damaged = b.frames[1]
        damaged[byte] ^= 0x01
        b.echo(bytes: damaged, at: b.t0 + 2 * ms)
        b.echo(2, at: b.t0 + 3 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.corrupted == 1)
        #expect(b.counters.lost == 0)
        #expect(b.counters.echoed == 2)
        #expect(b.counters.strayBytes == 64)
        #expect(b.counters.strayInserted == 64, "a frame's worth of unreadable bytes is not an extension")
        let drained = b.anomalies()
        #expect(drained.filter { $0.kind != .stray }.map { "\($0.kind) \($0.seq)" } == ["corrupted 1"])
        #expect(drained.compactMap(\.stray).map { "\($0.kind) \($0.length) \($0.seqBefore ?? 99) \($0.seqAfter ?? 99)" } == ["inserted 64 0 2"])
    }

    @Test("a bit flipped in the seq digits: the other message is not blamed, one corrupted, none lost")
    func seqBitFlip() {
        var b = Bench()
        b.send(4, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        var damaged = b.frames[1]
        damaged[9] ^= 0x03  // '1' becomes '2': the header now names seq 2, which is still in flight
        b.echo(bytes: damaged, at: b.t0 + 2 * ms)
        b.echo(2, at: b.t0 + 3 * ms)
        b.echo(3, at: b.t0 + 4 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.corrupted == 1)
        #expect(b.counters.lost == 0)
        #expect(b.counters.echoed == 3)
        #expect(b.counters.duplicated == 0)
        #expect(b.verifier.outstanding == 0)
    }

    @Test("a well-formed frame this run never sent is counted corrupted, as unexpected")
    func unexpectedFrame() {
        var b = Bench()
        b.send(2, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        b.echo(bytes: makeFrame(seq: 77), at: b.t0 + 2 * ms)
        b.echo(1, at: b.t0 + 3 * ms)
        #expect(b.counters.corrupted == 1)
        #expect(b.counters.echoed == 2)
        let drained = b.anomalies()
        #expect(drained.map { "\($0.kind) \($0.seq)" } == ["unexpected 77"])
    }

    @Test("an echo split into 1-byte pieces and merged with the next frames is still echoed")
    func splitAndMerged() {
        var b = Bench()
        b.send(4, length: 100, at: b.t0)
        var t = b.t0 + 1 * ms
        for byte in b.frames[0] {
            b.echo(bytes: [byte], at: t)
            t += 1 * us
        }
        #expect(b.counters.echoed == 1)
        // The rest of frame 1 arrives together with frames 2 and 3, cut at odd places.
        let rest = Array(b.frames[1...3].joined())
        for cut in [(0, 1), (1, 7), (7, 150), (150, rest.count)] {
            b.echo(bytes: Array(rest[cut.0..<cut.1]), at: t)
            t += 1 * us
        }
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.echoed == 4)
        #expect(b.counters.lost == 0 && b.counters.corrupted == 0 && b.counters.strayBytes == 0)
        #expect(b.counters.outOfOrder == 0 && b.counters.duplicated == 0)
        #expect(b.verifier.outstanding == 0)
    }

    @Test("garbage between frames is counted as stray bytes, nothing lost or corrupted")
    func strayBetweenFrames() {
        var b = Bench()
        b.send(3, at: b.t0)
        let garbage = Array("\r\nboot: M7 ready #ok\r\n".utf8)
        b.echo(bytes: garbage + b.frames[0] + garbage, at: b.t0 + 1 * ms)
        b.echo(1, at: b.t0 + 2 * ms)
        b.echo(bytes: [0x00, 0xFF, 0x23], at: b.t0 + 3 * ms)
        b.echo(2, at: b.t0 + 4 * ms)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.strayBytes == UInt64(2 * garbage.count + 3))
        #expect(b.counters.echoed == 3)
        #expect(b.counters.lost == 0)
        #expect(b.counters.corrupted == 0)
        // Before frame 0: inserted; the same text again after frame 0: repeated; 3 bytes right
        // after frame 1: extended.
        #expect(b.counters.strayInserted == UInt64(garbage.count))
        #expect(b.counters.strayRepeated == UInt64(garbage.count))
        #expect(b.counters.strayExtended == 3)
        #expect(b.counters.strayRuns == 3)
        let drained = b.anomalies()
        #expect(drained.allSatisfy { $0.kind == .stray })
        #expect(drained.compactMap(\.stray).map { "\($0.kind) \($0.length) \($0.seqBefore.map(String.init) ?? "-") \($0.seqAfter.map(String.init) ?? "-")" }
                == ["inserted 22 - 0", "repeated 22 0 1", "extended 3 1 2"])
        #expect(drained.first?.stray?.hex == "0d 0a 62 6f 6f 74 3a 20 4d 37 20 72 65 61 64 79 20 23 6f 6b 0d 0a")
    }

    @Test("a late echo after the frame was counted lost: lost back to 0, one out of order")
    func lateEcho() {
        var b = Bench()
        b.send(2, at: b.t0)
        b.echo(1, at: b.t0 + 1 * ms)
        b.verifier.expire(now: b.t0 + 100 * ms)
        #expect(b.counters.lost == 1)
        b.echo(0, at: b.t0 + 150 * ms)
        #expect(b.counters.lost == 0)
        #expect(b.counters.outOfOrder == 1)
        #expect(b.counters.echoed == 2)
        #expect(b.counters.duplicated == 0 && b.counters.corrupted == 0)
        let anomalies = b.anomalies()
        #expect(anomalies.map(\.kind) == [.lost, .late])
        #expect(anomalies.last?.latencyMicros == 150_000)
    }

    @Test("abandonOutstanding counts what is in flight as unanswered, not lost")
    func abandon() {
        var b = Bench()
        b.send(3, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        b.echo(bytes: Array(b.frames[1][0..<10]), at: b.t0 + 2 * ms)  // half a frame, then the link dies
        b.verifier.abandonOutstanding()
        #expect(b.counters.unanswered == 2)
        #expect(b.counters.lost == 0)
        #expect(b.counters.echoed == 1)
        #expect(b.verifier.outstanding == 0)
        #expect(b.verifier.nextExpiry == nil)
        #expect(b.counters.strayBytes == 10)
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.lost == 0)

        // Sequence numbers go on after the failure.
        let next = b.send(1, at: b.t0 + 11 * sec)
        #expect(next == [3])
        b.echo(3, at: b.t0 + 11 * sec + 1 * ms)
        #expect(b.counters.echoed == 2)
        #expect(b.verifier.outstanding == 0)
        #expect(b.counters.corrupted == 0 && b.counters.lost == 0)
    }

    @Test("100 000 messages through a window of 16: all echoed, the ring wraps cleanly")
    func manyMessagesRingWraps() {
        var verifier = EchoVerifier(lossTimeout: .milliseconds(100))
        let total = 100_000
        let window = 16
        var frame = [UInt8](repeating: 0, count: FrameCodec.maxFrameSize)
        var inFlight: [[UInt8]] = []
        var t: UInt64 = 1 * sec
        var sent = 0
        var maxOutstanding = 0
        while sent < total || !inFlight.isEmpty {
            while sent < total && verifier.outstanding < window {
                let length = 21 + sent % 476
                let seq = verifier.registerSent(length: length, at: t)
                frame.withUnsafeMutableBytes {
                    FrameCodec.encode(seq: UInt32(truncatingIfNeeded: seq), length: length, payload: .binary, seed: 5, into: $0)
                }
                inFlight.append(Array(frame[0..<length]))
                sent += 1
                t += 1 * us
            }
            maxOutstanding = max(maxOutstanding, verifier.outstanding)
            // The oldest half comes back in one read.
            let n = max(1, inFlight.count / 2)
            verifier.ingest(Array(inFlight[0..<n].joined()), at: t + 50 * us)
            inFlight.removeFirst(n)
            t += 60 * us
            verifier.expire(now: t)
        }
        verifier.expire(now: t + 10 * sec)
        let c = verifier.counters
        #expect(c.sent == UInt64(total))
        #expect(c.echoed == UInt64(total))
        #expect(c.lost == 0 && c.corrupted == 0 && c.duplicated == 0 && c.outOfOrder == 0 && c.strayBytes == 0)
        #expect(c.bytesEchoed == c.bytesSent)
        #expect(verifier.outstanding == 0)
        #expect(maxOutstanding == window)
        #expect(verifier.nextSeq == UInt64(total))
        #expect(verifier.latency.totalCount == UInt64(total))
        #expect(total > 8 * EchoVerifier.ringSize)
    }
}

/// Every byte accounted for: each run of bytes outside a verified frame is attributed, and a
/// clean stream however cut has none.
@Suite("EchoVerifier stray bytes")
struct StrayAttributionTests {
    static let sizes = [1, 2, 5, 20]

    /// Bytes no printable frame holds, none equal to its neighbour: never a repeat of anything.
    static func foreign(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(0x80 + $0 % 64) } }

    /// Three printable 64-byte frames sent; `stream` builds what comes back from them.
    static func run(_ stream: ([[UInt8]]) -> [UInt8], pieces: Int = 1) -> (Counters, [StrayRun], [Anomaly]) {
        var b = Bench()
        b.send(3, at: b.t0)
        let bytes = stream(b.frames)
        let cut = max(1, bytes.count / pieces)
        var i = 0
        while i < bytes.count {
            b.echo(bytes: Array(bytes[i..<min(bytes.count, i + cut)]), at: b.t0 + 1 * ms)
            i += cut
        }
        b.verifier.expire(now: b.t0 + 10 * sec)
        let anomalies = b.anomalies()
        return (b.counters, anomalies.compactMap(\.stray), anomalies.filter { $0.kind != .stray })
    }

    @Test("a frame cut short (n bytes dropped inside it): truncated, its message corrupted", arguments: sizes, [13, 30, 44])
    func truncated(n: Int, at pos: Int) {
        let position = min(pos, 64 - n)
        let (c, runs, other) = Self.run { f in
            var cut = f[1]
            cut.removeSubrange(position..<(position + n))
            return f[0] + cut + f[2]
        }
        #expect(c.strayBytes == UInt64(64 - n))
        #expect(c.strayTruncated == UInt64(64 - n))
        #expect(c.strayRuns == 1)
        #expect(c.corrupted == 1 && c.echoed == 2 && c.lost == 0 && c.duplicated == 0)
        #expect(runs.map { "\($0.kind) \($0.length) \($0.seqBefore ?? 99) \($0.seqAfter ?? 99)" } == ["truncated \(64 - n) 0 2"])
        #expect(runs.first.map { Array($0.headBytes.prefix(2)) } == [0x23, 0x52], "the evidence starts with the cut frame's magic")
        #expect(runs.first?.headCount == 32)
        #expect(other.map { "\($0.kind) \($0.seq)" } == ["corrupted 1"])
    }

    @Test("n bytes right after a verified frame: extended, nothing else", arguments: sizes, [0, 1, 2])
    func extended(n: Int, after frame: Int) {
        let (c, runs, other) = Self.run { f in
            var s: [UInt8] = []
            for i in 0..<3 { s += f[i]; if i == frame { s += Self.foreign(n) } }
            return s
        }
        #expect(c.strayBytes == UInt64(n))
        #expect(c.strayExtended == UInt64(n))
        #expect(c.echoed == 3 && c.corrupted == 0 && c.lost == 0 && c.duplicated == 0)
        #expect(runs.map { "\($0.kind) \($0.length) \($0.seqBefore ?? 99) \($0.seqAfter ?? 99)" }
                == ["extended \(n) \(frame) \(frame == 2 ? 99 : frame + 1)"])
        #expect(runs.first?.headBytes == Self.foreign(min(n, 32)))
        #expect(other.isEmpty)
    }

    /// Where the repeated bytes go: right after frame 0 (its last n bytes again), inside frame 1
    /// (the n bytes before byte 40 again), before frame 1 (its first n bytes twice).
    @Test("n bytes seen just before, again: repeated, nothing lost or corrupted", arguments: sizes, ["after", "inside", "before"])
    func repeated(n: Int, place: String) {
        let (c, runs, other) = Self.run { f in
            switch place {
            case "after": return f[0] + f[0][(64 - n)...] + f[1] + f[2]
            case "inside": return f[0] + f[1][0..<40] + f[1][(40 - n)..<40] + f[1][40...] + f[2]
            default: return f[0] + f[1][0..<n] + f[1] + f[2]
            }
        }
        #expect(c.strayBytes == UInt64(n))
        #expect(c.strayRepeated == UInt64(n), "\(c)")
        #expect(c.echoed == 3 && c.corrupted == 0 && c.lost == 0 && c.duplicated == 0, "\(c)")
        #expect(runs.map(\.kind) == [.repeated])
        #expect(other.isEmpty, "\(other)")
    }

    /// Where the bytes go: before any frame, inside frame 1 at byte 20 or 50 (in its payload),
    /// inside frame 1's CRC.
    @Test("n foreign bytes: inserted; a frame with bytes inserted into it still counts as echoed", arguments: sizes, [0, 20, 50, 60])
    func inserted(n: Int, at pos: Int) {
        let (c, runs, other) = Self.run { f in
            pos == 0 ? Self.foreign(n) + f[0] + f[1] + f[2]
                : f[0] + f[1][0..<pos] + Self.foreign(n) + f[1][pos...] + f[2]
        }
        #expect(c.strayBytes == UInt64(n))
        #expect(c.strayInserted == UInt64(n), "\(c)")
        #expect(c.echoed == 3 && c.corrupted == 0 && c.lost == 0 && c.duplicated == 0, "\(c)")
        let where_ = pos == 0 ? "99 0" : "1 1"
        #expect(runs.map { "\($0.kind) \($0.length) \($0.seqBefore ?? 99) \($0.seqAfter ?? 99)" } == ["inserted \(n) \(where_)"])
        #expect(runs.first?.headBytes == Self.foreign(min(n, 32)))
        #expect(other.isEmpty)
    }

    @Test("the same damage arriving in 1-byte pieces is attributed the same way", arguments: sizes)
    func attributionSurvivesSplitting(n: Int) {
        let kinds: [(String, ([[UInt8]]) -> [UInt8], KeyPath<Counters, UInt64>)] = [
            ("inserted", { f in f[0] + f[1][0..<30] + Self.foreign(n) + f[1][30...] + f[2] }, \.strayInserted),
            ("repeated", { f in f[0] + f[1][0..<30] + f[1][(30 - n)..<30] + f[1][30...] + f[2] }, \.strayRepeated),
            ("extended", { f in f[0] + Self.foreign(n) + f[1] + f[2] }, \.strayExtended),
        ]
        for (name, stream, key) in kinds {
            let (c, _, _) = Self.run(stream, pieces: 10_000)
            #expect(c[keyPath: key] == UInt64(n) && c.strayBytes == UInt64(n) && c.echoed == 3, "\(name): \(c)")
        }
    }

    @Test("a clean stream cut in two at every byte, frames of three sizes: no stray byte")
    func cleanStreamEveryBoundary() {
        let lengths = [21, 100, 300]
        var reference = Bench()
        for l in lengths { reference.send(1, length: l, at: reference.t0) }
        let stream = Array(reference.frames.joined())
        for cut in 0...stream.count {
            var b = Bench()
            for l in lengths { b.send(1, length: l, at: b.t0) }
            b.echo(bytes: Array(stream[0..<cut]), at: b.t0 + 1 * ms)
            b.echo(bytes: Array(stream[cut...]), at: b.t0 + 2 * ms)
            b.verifier.expire(now: b.t0 + 10 * sec)
            let c = b.counters
            #expect(c.strayBytes == 0 && c.strayRuns == 0 && c.echoed == 3 && c.corrupted == 0 && c.lost == 0, "cut at \(cut): \(c)")
            if c.strayBytes != 0 { break }
        }
    }

    @Test("a damaged last frame with nothing after it is decided when no more bytes come: corrupted, not lost")
    func damagedLastFrame() {
        var b = Bench()
        b.send(2, at: b.t0)
        b.echo(0, at: b.t0 + 1 * ms)
        var damaged = b.frames[1]
        damaged[30] ^= 0x04
        b.echo(bytes: damaged, at: b.t0 + 2 * ms)
        #expect(b.counters.corrupted == 0, "waits for a few more bytes: an insertion into it?")
        b.verifier.expire(now: b.t0 + 10 * sec)
        #expect(b.counters.corrupted == 1 && b.counters.lost == 0 && b.counters.strayBytes == 0)
    }

    @Test("only the first stray runs are listed with their bytes; all are counted")
    func evidenceIsBounded() {
        var b = Bench()
        b.send(30, at: b.t0)
        for i in 0..<30 { b.echo(bytes: b.frames[i] + Self.foreign(40), at: b.t0 + 1 * ms) }
        b.verifier.expire(now: b.t0 + 10 * sec)
        let runs = b.anomalies().compactMap(\.stray)
        #expect(runs.count == EchoVerifier.strayEvidenceLimit)
        #expect(runs.allSatisfy { $0.headCount == 32 && $0.length == 40 })
        #expect(b.counters.strayRuns == 30 && b.counters.strayBytes == 1200 && b.counters.echoed == 30)
    }
}
