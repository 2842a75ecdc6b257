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

        let latency = b.verifier.latency
        #expect(latency.totalCount == UInt64(n))
        let p50 = latency.valueAtPercentile(50)
        #expect(latency.valuesAreEquivalent(p50, 2_500), "p50 \(p50) us")
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
        let drained = b.anomalies()
        #expect(drained.map { "\($0.kind) \($0.seq)" } == ["corrupted 1"])
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
        let drained = b.anomalies()
        #expect(drained.isEmpty)
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
